// Package htmlinject inserts the reload client's script tag into HTML as it
// streams past, and amends a page's Content-Security-Policy so that the tag
// and its WebSocket are allowed. Both are byte transforms: they know nothing
// of connections (DESIGN.md, "Live reload").
package htmlinject

import (
	"bytes"
	"strconv"

	"reloadproxy/httpwire"
)

// Injector inserts a tag into an HTML document as it streams past: right
// after the <head ...> start tag, else right before the first <body, else at
// the end. It never buffers the page: at most the few bytes of a tag name
// split across two writes are held back. Comments are skipped, so a
// commented-out <head> does not count, and so is the content of the
// elements the tokenizer reads as raw text (rawTextElements): a tag there
// would be text, or would end the page's <script> early.
//
// The zero value is not usable; call Reset with the tag first.
type Injector struct {
	tag   []byte
	state injectState
	match int // bytes matched so far of "<head"/"<body" (in held), of raw, or of "script"
	quote byte
	// valueNext: in a tag, after '=' and before the value's first
	// non-space byte, where a quote opens a quoted value (and nowhere
	// else: <head x'> has no quoted run).
	valueNext bool
	held      [8]byte
	nheld     int
	done      bool // the tag was emitted

	raw    string       // the raw text element being read, from rawTextElements
	escape scriptEscape // where a script's content stands with respect to "<!--"
	dashes int          // '-' in a row in an escaped script, up to 2
}

type injectState uint8

const (
	injText             injectState = iota
	injLT                           // after '<'
	injName                         // matching "head" or "body" after '<'
	injBang                         // after "<!"
	injBangDash                     // after "<!-"
	injComment                      // inside <!-- ... -->
	injCommentDash                  // after "-" inside a comment
	injCommentEnd                   // after "--" inside a comment
	injCommentStart                 // right after "<!--"
	injCommentStartDash             // right after "<!---"
	injCommentEndBang               // after "--!" inside a comment
	injHeadAttrs                    // inside <head ...>, up to its '>'
	injRawName                      // matching a raw text element's name after '<'
	injRawStartTag                  // inside <script ...>, up to its '>'
	injRawText                      // in a raw text element's content
	injRawLT                        // after '<' in raw text
	injRawEndName                   // matching the element's name after "</"
	injRawEndTag                    // inside </script ...>, up to its '>'
	injScriptBang                   // after "<!" or "<!-" in a script
	injScriptStart                  // matching "script" after '<' in an escaped script
	injPlaintext                    // after <plaintext>: the rest is text
)

// rawTextElements are the elements whose content the tokenizer reads as
// RCDATA, raw text or script data, up to their end tag, or as PLAINTEXT,
// to the end (WHATWG HTML §13.2.5.2-5; <noscript> as with scripting on, as
// in browsers). No name is a prefix of another.
var rawTextElements = [...]string{"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}

// rawTextInitials has bit c-'a' set for the first letter c of each of
// rawTextElements.
var rawTextInitials = func() (bits uint32) {
	for _, name := range rawTextElements {
		bits |= 1 << (name[0] - 'a')
	}
	return bits
}()

// scriptEscape is where a script's content stands with respect to "<!--"
// (WHATWG HTML, the script data escaped and double escaped states): old
// pages wrap document.write("<script>...</script>") that way, and there
// that "</script>" does not end the element.
type scriptEscape uint8

const (
	notEscaped    scriptEscape = iota
	escaped                    // after "<!--": "-->" ends it, "<script" double-escapes
	doubleEscaped              // after "<!--" and "<script": "</script" only ends the double escape
)

// Reset prepares the injector for a new document.
func (j *Injector) Reset(tag []byte) {
	*j = Injector{tag: tag}
}

// Append appends p to dst, with the tag inserted if its place is in p,
// and returns the extended buffer. At most a few bytes of a possible tag
// name are held back until the next call or Finish.
func (j *Injector) Append(dst, p []byte) []byte {
	if j.done {
		return append(dst, p...)
	}
	start := 0 // p[start:i] is pending output
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch j.state {
		case injText:
			// Only a '<' can start a tag: skip to one.
			k := bytes.IndexByte(p[i:], '<')
			if k < 0 {
				return append(dst, p[start:]...)
			}
			i += k
			j.state = injLT
			// Hold '<' until we know whether <body follows, since the tag
			// goes before it.
			dst = append(dst, p[start:i]...)
			start = i + 1
			j.held[0], j.nheld = '<', 1
			j.match = 0
		case injLT:
			switch {
			case c == '!':
				j.state = injBang
				dst = j.appendHeld(dst)
			case lower(c) == 'h' || lower(c) == 'b':
				j.state = injName
				j.held[j.nheld] = c
				j.nheld++
				j.match = 1
				start = i + 1
			default:
				dst = j.appendHeld(dst)
				start = i
				if name := nextRawName("", c); name != "" {
					j.state, j.raw, j.match = injRawName, name, 1
					continue
				}
				j.state = injText
				i-- // look at c again as text ('<' may start a tag)
			}
		case injName:
			name := "head"
			if lower(j.held[1]) == 'b' {
				name = "body"
			}
			if j.match < 4 {
				if lower(c) == name[j.match] {
					j.held[j.nheld] = c
					j.nheld++
					j.match++
					start = i + 1
					continue
				}
			} else if isTagEnd(c) {
				if name == "body" {
					// Insert before "<body".
					dst = append(dst, j.tag...)
					j.done = true
					dst = j.appendHeld(dst)
					return append(dst, p[i:]...)
				}
				dst = j.appendHeld(dst)
				start = i
				if c == '>' {
					dst = append(dst, p[start:i+1]...)
					dst = append(dst, j.tag...)
					j.done = true
					return append(dst, p[i+1:]...)
				}
				j.state = injHeadAttrs
				continue
			}
			// Another tag (<header>, <html>, <br>): pass it on.
			dst = j.appendHeld(dst)
			start = i
			j.state = injText
			i--
		case injHeadAttrs:
			if j.tagEnds(c) {
				dst = append(dst, p[start:i+1]...)
				dst = append(dst, j.tag...)
				j.done = true
				return append(dst, p[i+1:]...)
			}
		case injBang:
			if c == '-' {
				j.state = injBangDash
			} else {
				j.state = injText // <!DOCTYPE ...>
				i--
			}
		case injBangDash:
			if c == '-' {
				j.state = injCommentStart
			} else {
				j.state = injText
				i--
			}
		case injComment:
			if c == '-' {
				j.state = injCommentDash
			}
		case injCommentDash:
			if c == '-' {
				j.state = injCommentEnd
			} else {
				j.state = injComment
			}
		case injCommentEnd:
			switch c {
			case '>':
				j.state = injText
			case '!':
				j.state = injCommentEndBang
			case '-':
			default:
				j.state = injComment
			}
		// The comment's other ends in a browser (WHATWG HTML, the comment
		// states): "<!-->" and "<!--->" are whole comments, and "--!>"
		// ends one too.
		case injCommentStart:
			switch c {
			case '-':
				j.state = injCommentStartDash
			case '>':
				j.state = injText
			default:
				j.state = injComment
			}
		case injCommentStartDash:
			switch c {
			case '-':
				j.state = injCommentEnd
			case '>':
				j.state = injText
			default:
				j.state = injComment
			}
		case injCommentEndBang:
			switch c {
			case '-':
				j.state = injCommentDash
			case '>':
				j.state = injText
			default:
				j.state = injComment
			}
		default: // the raw text states
			n := j.readRawText(p[i:])
			i += n - 1 // p[i+n:] is text
		}
	}
	return append(dst, p[start:]...)
}

// readRawText reads p in the raw text states (a raw text element's start
// tag, content and end tag), where nothing is held or inserted, and
// returns how many bytes it read: all of p, or fewer if the element ended
// or its name turned out to be another tag's; the rest of p is then text.
func (j *Injector) readRawText(p []byte) int {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch j.state {
		case injRawName:
			if j.match < len(j.raw) && lower(c) == j.raw[j.match] {
				j.match++
				continue
			}
			if j.match == len(j.raw) && isTagEnd(c) {
				// A self-closing <script/> has content all the same.
				if c == '>' {
					j.enterRawText()
				} else {
					j.state = injRawStartTag
				}
				continue
			}
			if name := nextRawName(j.raw[:j.match], c); name != "" {
				j.raw = name // <title> after <t, guessed <textarea>
				j.match++
				continue
			}
			j.state = injText // another tag (<p>, <span>, <scripts>)
			return i
		case injRawStartTag:
			if j.tagEnds(c) {
				j.enterRawText()
			}
		case injRawText:
			if j.escape == notEscaped {
				// Only a '<' can end it: skip to one.
				k := bytes.IndexByte(p[i:], '<')
				if k < 0 {
					return len(p)
				}
				i += k
				j.state, j.dashes = injRawLT, 0
				continue
			}
			switch c {
			case '<':
				j.state, j.dashes = injRawLT, 0
			case '-':
				j.dashes = min(j.dashes+1, 2)
			case '>':
				if j.dashes == 2 {
					j.escape = notEscaped // "-->"
				}
				j.dashes = 0
			default:
				j.dashes = 0
			}
		case injRawLT:
			switch {
			case c == '/':
				j.state, j.match = injRawEndName, 0
			case c == '!' && j.raw == "script" && j.escape == notEscaped:
				j.state = injScriptBang
			case lower(c) == 's' && j.escape == escaped:
				j.state, j.match = injScriptStart, 1
			default:
				j.state = injRawText
				i--
			}
		case injRawEndName:
			if j.match == len(j.raw) && isTagEnd(c) {
				switch {
				case j.escape == doubleEscaped:
					j.state, j.escape = injRawText, escaped
				case c == '>':
					j.state = injText
					return i + 1
				default:
					j.state = injRawEndTag // attributes, which an end tag may have
				}
				continue
			}
			if j.match < len(j.raw) && lower(c) == j.raw[j.match] {
				j.match++
				continue
			}
			j.state = injRawText
			i--
		case injRawEndTag:
			if j.tagEnds(c) {
				j.state = injText
				return i + 1
			}
		case injScriptBang:
			if c == '-' {
				if j.dashes++; j.dashes == 2 {
					// "<!--": the dashes also count towards "-->", so
					// "<!-->" is an empty escape.
					j.state, j.escape = injRawText, escaped
				}
				continue
			}
			j.state = injRawText
			i--
		case injScriptStart:
			if j.match == len("script") && isTagEnd(c) {
				j.state, j.escape = injRawText, doubleEscaped
				continue
			}
			if j.match < len("script") && lower(c) == "script"[j.match] {
				j.match++
				continue
			}
			j.state = injRawText
			i--
		case injPlaintext:
			return len(p)
		}
	}
	return len(p)
}

// tagEnds reports whether c is the '>' that ends the tag being read, in
// which a quote starts a quoted run that may hold a '>'.
func (j *Injector) tagEnds(c byte) bool {
	switch {
	case j.quote != 0:
		if c == j.quote {
			j.quote = 0
		}
	case c == '>':
		j.valueNext = false
		return true
	case j.valueNext && isSpace(c):
	case j.valueNext && (c == '"' || c == '\''):
		j.quote, j.valueNext = c, false
	case c == '=':
		j.valueNext = true
	default:
		j.valueNext = false
	}
	return false
}

// isSpace reports whether c is HTML's ASCII white space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// Finish ends the document, appending what was held back and, if no place
// was found, the tag at the end.
func (j *Injector) Finish(dst []byte) []byte {
	if j.done {
		return dst
	}
	dst = j.appendHeld(dst)
	j.done = true
	return append(dst, j.tag...)
}

// enterRawText starts the content of the raw text element j.raw, after its
// start tag.
func (j *Injector) enterRawText() {
	j.state, j.escape, j.dashes = injRawText, notEscaped, 0
	if j.raw == "plaintext" {
		j.state = injPlaintext
	}
}

// nextRawName returns the element of rawTextElements whose name starts with
// prefix (lower case) and then c, ASCII case-insensitively, or "" if none
// does.
func nextRawName(prefix string, c byte) string {
	c = lower(c)
	if c < 'a' || c > 'z' || prefix == "" && rawTextInitials&(1<<(c-'a')) == 0 {
		return "" // most tags, at one look
	}
	for _, name := range rawTextElements {
		if len(name) > len(prefix) && name[len(prefix)] == c && name[:len(prefix)] == prefix {
			return name
		}
	}
	return ""
}

func (j *Injector) appendHeld(dst []byte) []byte {
	n := j.nheld
	j.nheld = 0
	return append(dst, j.held[:n]...)
}

// isTagEnd reports whether c ends a tag name (HTML: whitespace, '/' or '>').
func isTagEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '/', '>':
		return true
	}
	return false
}

// InjectHTML appends doc to dst with tag inserted where an Injector would
// put it.
func InjectHTML(dst, doc, tag []byte) []byte {
	var j Injector
	j.Reset(tag)
	return j.Finish(j.Append(dst, doc))
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Injectable reports whether a response is an HTML document the tag can go
// into: its content is the whole page (error pages included), text/html,
// and not content-encoded (an encoded body passes through untouched).
func Injectable(resp *httpwire.ResponseHead) bool {
	switch {
	case resp.Status < 200, resp.Status == 204, resp.Status == 304:
		// No content (RFC 9112 §6.3); after a 101 the bytes are another
		// protocol's.
		return false
	case resp.Status == 205:
		// A 205 must not have content (RFC 9110 §15.3.6).
		return false
	case resp.Status == 206, resp.Field("Content-Range") != nil:
		// A part of the page (RFC 9110 §14.4, §15.3.7): the tag would
		// shift the bytes the range names and make the parts disagree.
		// A 416's Content-Range comes with an error message, not the page.
		return false
	}
	ct := resp.Field("Content-Type")
	if len(ct) < len("text/html") || !httpwire.EqualFold(ct[:len("text/html")], "text/html") {
		return false
	}
	// After the subtype: nothing, or parameters after optional white
	// space (RFC 9110 §8.3.1: OWS is spaces and tabs).
	if len(ct) > len("text/html") {
		if c := ct[len("text/html")]; c != ';' && c != ' ' && c != '\t' {
			return false
		}
	}
	if ce := resp.Field("Content-Encoding"); len(ce) > 0 && !httpwire.EqualFold(ce, "identity") {
		return false
	}
	return true
}

// ChunkedInjector injects the tag into a chunked body (RFC 9112 §7.1) as it
// streams past: it validates the body, re-frames the data with the tag
// inserted (one chunk out per run of data in), puts the tag at the end if
// the document had no place for it, and passes the trailers on as they are.
//
// The zero value is not usable; call Reset first.
type ChunkedInjector struct {
	scan      httpwire.ChunkedScanner
	inj       Injector
	scratch   []byte // injector output for one run of data
	lastChunk bool   // the last chunk was seen and re-written
}

// Reset prepares for a new body; tag is what to insert.
func (ci *ChunkedInjector) Reset(tag []byte) {
	ci.scan.Reset()
	ci.inj.Reset(tag)
	ci.scratch = ci.scratch[:0]
	ci.lastChunk = false
}

// Done reports whether the whole body, trailers included, has been read.
func (ci *ChunkedInjector) Done() bool { return ci.scan.Done() }

// Append reads p, a piece of the backend's chunked body, and appends the
// re-framed output to dst. It consumes all of p unless the body ends
// within it (n is then the body's end) or p is malformed (err is the
// scanner's error, dst holds the output for the valid part).
func (ci *ChunkedInjector) Append(dst, p []byte) (out []byte, n int, err error) {
	for n < len(p) && !ci.scan.Done() {
		k, kind, err := ci.scan.ScanSegment(p[n:])
		switch kind {
		case httpwire.SegmentData:
			ci.scratch = ci.inj.Append(ci.scratch, p[n:n+k])
			dst = ci.appendChunk(dst)
		case httpwire.SegmentTrailer:
			dst = append(dst, p[n:n+k]...)
		}
		n += k
		if err != nil {
			return dst, n, err
		}
		if !ci.lastChunk && ci.scan.InTrailer() {
			// The last chunk: the tag goes at the end if nowhere else,
			// then our own last-chunk line; the trailers that follow
			// pass through as they are.
			ci.lastChunk = true
			ci.scratch = ci.inj.Finish(ci.scratch)
			dst = ci.appendChunk(dst)
			dst = append(dst, "0\r\n"...)
		}
	}
	return dst, n, nil
}

// appendChunk appends the collected output as one chunk.
func (ci *ChunkedInjector) appendChunk(dst []byte) []byte {
	if len(ci.scratch) == 0 {
		return dst // an empty chunk would end the body
	}
	dst = strconv.AppendUint(dst, uint64(len(ci.scratch)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, ci.scratch...)
	dst = append(dst, "\r\n"...)
	ci.scratch = ci.scratch[:0]
	return dst
}
