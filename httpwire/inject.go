package httpwire

import (
	"io"
	"strconv"
)

// Injector inserts a tag into an HTML document as it streams past: right
// after the <head ...> start tag, else right before the first <body, else at
// the end. It never buffers the page: at most the few bytes of a tag name
// split across two writes are held back. Comments are skipped, so a
// commented-out <head> does not count.
//
// The zero value is not usable; call Reset with the tag first.
type Injector struct {
	tag   []byte
	state injectState
	match int // bytes of "<head"/"<body" matched so far (in held)
	quote byte
	held  [8]byte
	nheld int
	done  bool // the tag was emitted
}

type injectState uint8

const (
	injText        injectState = iota
	injLT                      // after '<'
	injName                    // matching "head" or "body" after '<'
	injBang                    // after "<!"
	injBangDash                // after "<!-"
	injComment                 // inside <!-- ... -->
	injCommentDash             // after "-" inside a comment
	injCommentEnd              // after "--" inside a comment
	injHeadAttrs               // inside <head ...>, up to its '>'
)

// Reset prepares the injector for a new document.
func (j *Injector) Reset(tag []byte) {
	*j = Injector{tag: tag}
}

// Injected reports whether the tag was emitted.
func (j *Injector) Injected() bool { return j.done }

// Write passes p through, calling emit with consecutive pieces of the
// output (p's bytes plus, once, the tag).
func (j *Injector) Write(p []byte, emit func([]byte) error) error {
	if j.done {
		return emitNonEmpty(emit, p)
	}
	start := 0 // p[start:i] is pending output
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch j.state {
		case injText:
			if c == '<' {
				j.state = injLT
				// Hold '<' until we know whether <body follows, since
				// the tag goes before it.
				if err := emitNonEmpty(emit, p[start:i]); err != nil {
					return err
				}
				start = i + 1
				j.held[0], j.nheld = '<', 1
				j.match = 0
			}
		case injLT:
			switch {
			case c == '!':
				j.state = injBang
				if err := j.flushHeld(emit); err != nil {
					return err
				}
			case lower(c) == 'h' || lower(c) == 'b':
				j.state = injName
				j.held[j.nheld] = c
				j.nheld++
				j.match = 1
				start = i + 1
			default:
				if err := j.flushHeld(emit); err != nil {
					return err
				}
				start = i
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
					if err := emit(j.tag); err != nil {
						return err
					}
					j.done = true
					if err := j.flushHeld(emit); err != nil {
						return err
					}
					return emit(p[i:])
				}
				if err := j.flushHeld(emit); err != nil {
					return err
				}
				start = i
				if c == '>' {
					if err := emit(p[start : i+1]); err != nil {
						return err
					}
					if err := emit(j.tag); err != nil {
						return err
					}
					j.done = true
					return emitNonEmpty(emit, p[i+1:])
				}
				j.state = injHeadAttrs
				continue
			}
			// Another tag (<header>, <html>, <br>): pass it on.
			if err := j.flushHeld(emit); err != nil {
				return err
			}
			start = i
			j.state = injText
			i--
		case injHeadAttrs:
			switch {
			case j.quote != 0:
				if c == j.quote {
					j.quote = 0
				}
			case c == '"' || c == '\'':
				j.quote = c
			case c == '>':
				if err := emit(p[start : i+1]); err != nil {
					return err
				}
				if err := emit(j.tag); err != nil {
					return err
				}
				j.done = true
				return emitNonEmpty(emit, p[i+1:])
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
				j.state = injComment
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
			case '-':
			default:
				j.state = injComment
			}
		}
	}
	return emitNonEmpty(emit, p[start:])
}

// Close ends the document: the tag goes at the end if no place was found.
func (j *Injector) Close(emit func([]byte) error) error {
	if j.done {
		return nil
	}
	if err := j.flushHeld(emit); err != nil {
		return err
	}
	j.done = true
	return emit(j.tag)
}

func (j *Injector) flushHeld(emit func([]byte) error) error {
	n := j.nheld
	j.nheld = 0
	if n == 0 {
		return nil
	}
	return emit(j.held[:n])
}

func emitNonEmpty(emit func([]byte) error, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	return emit(p)
}

// isTagEnd reports whether c ends a tag name (HTML: whitespace, '/' or '>').
func isTagEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '/', '>':
		return true
	}
	return false
}

// InjectHTML returns doc with tag inserted where an Injector would put it.
func InjectHTML(dst, doc, tag []byte) []byte {
	var j Injector
	j.Reset(tag)
	emit := func(p []byte) error { dst = append(dst, p...); return nil }
	j.Write(doc, emit)
	j.Close(emit)
	return dst
}

// segment kinds returned by scanSegment.
const (
	segFraming = iota // chunk-size lines and the CRLF after data
	segData           // chunk data
	segTrailer        // the last chunk's trailer section and final CRLF
)

// scanSegment scans the next run of p that is all of one kind, so that an
// injecting proxy can re-frame the data and pass the trailers on.
func (s *ChunkedScanner) scanSegment(p []byte) (n int, kind int, err error) {
	if s.state == chunkData {
		k := min(uint64(len(p)), s.size)
		s.SkipData(k)
		return int(k), segData, nil
	}
	kind = segFraming
	if s.state >= trailerStart {
		kind = segTrailer
	}
	for n < len(p) && s.state != chunkData && s.state != chunkDone {
		if (s.state >= trailerStart) != (kind == segTrailer) {
			break
		}
		m, err := s.Scan(p[n : n+1])
		n += m
		if err != nil {
			return n, kind, err
		}
	}
	return n, kind, nil
}

// injectable reports whether the response is an HTML document the tag can
// go into: text/html and not content-encoded (an encoded body passes through
// untouched).
func (h *ResponseHead) injectable() bool {
	ct := h.Field("Content-Type")
	if len(ct) < len("text/html") || !equalFold(ct[:len("text/html")], "text/html") {
		return false
	}
	if len(ct) > len("text/html") && ct[len("text/html")] != ';' && ct[len("text/html")] != ' ' {
		return false
	}
	if ce := h.Field("Content-Encoding"); len(ce) > 0 && !equalFold(ce, "identity") {
		return false
	}
	return true
}

// forwardInjected forwards an HTML response with the reload tag inserted:
// Content-Length grows by exactly the tag's length, a chunked body is
// re-framed chunk by chunk, a close-delimited one streams until EOF.
func (c *conn) forwardInjected(framing Framing, keep bool, clientMinor int) bool {
	tag := c.srv.Inject
	c.cspValues = c.cspValues[:0]
	if c.resp.Field("Content-Security-Policy") != nil {
		tag = c.planCSP()
	}
	c.injector.Reset(tag)
	c.resp.lengthDelta = int64(len(tag))
	c.out = c.appendResponseHead(c.out[:0], keep, clientMinor)
	c.resp.lengthDelta = 0
	c.cspValues = c.cspValues[:0]
	c.bin.consume(c.respLen)
	switch framing {
	case LengthBody:
		left := c.resp.ContentLength
		for {
			k := min(int64(c.bin.len()), left)
			if k > 0 {
				c.injector.Write(c.bin.buffered()[:k], c.emitRaw)
				c.bin.consume(int(k))
				left -= k
			}
			if left == 0 {
				c.injector.Close(c.emitRaw)
				return c.flushOut()
			}
			if !c.flushOut() {
				return false
			}
			if _, err := c.bin.fill(c.be); err != nil && c.bin.len() == 0 {
				return false
			}
		}
	case ChunkedBody:
		c.respChunks.Reset()
		lastChunk := false
		for {
			for c.bin.len() > 0 && !c.respChunks.Done() {
				n, kind, err := c.respChunks.scanSegment(c.bin.buffered())
				if err != nil {
					c.srv.logf("backend sent a malformed chunked body: %v", err)
					return false
				}
				switch kind {
				case segData:
					c.injector.Write(c.bin.buffered()[:n], c.emitScratch)
					c.flushScratchChunk()
				case segTrailer:
					c.out = append(c.out, c.bin.buffered()[:n]...)
				}
				c.bin.consume(n)
				if !lastChunk && c.respChunks.state >= trailerStart {
					// The last chunk: the tag goes at the end if nowhere
					// else, then our own last-chunk line; the trailers
					// that follow pass through as they are.
					lastChunk = true
					c.injector.Close(c.emitScratch)
					c.flushScratchChunk()
					c.out = append(c.out, "0\r\n"...)
				}
			}
			if !c.flushOut() {
				return false
			}
			if c.respChunks.Done() {
				return true
			}
			if _, err := c.bin.fill(c.be); err != nil && c.bin.len() == 0 {
				return false
			}
		}
	case CloseBody:
		for {
			if c.bin.len() > 0 {
				c.injector.Write(c.bin.buffered(), c.emitRaw)
				c.bin.consume(c.bin.len())
			}
			if !c.flushOut() {
				return false
			}
			if _, err := c.bin.fill(c.be); err != nil && c.bin.len() == 0 {
				c.injector.Close(c.emitRaw)
				c.resp.Close = true
				return c.flushOut() && err == io.EOF
			}
		}
	}
	return false
}

func (c *conn) appendOut(p []byte) error {
	c.out = append(c.out, p...)
	return nil
}

// appendScratch collects the injector's output for one input segment, so
// that it goes out as one chunk rather than one per piece.
func (c *conn) appendScratch(p []byte) error {
	c.scratch = append(c.scratch, p...)
	return nil
}

// flushScratchChunk appends the collected output to c.out as one chunk.
func (c *conn) flushScratchChunk() {
	if len(c.scratch) == 0 {
		return // an empty chunk would end the body
	}
	c.out = strconv.AppendUint(c.out, uint64(len(c.scratch)), 16)
	c.out = append(c.out, "\r\n"...)
	c.out = append(c.out, c.scratch...)
	c.out = append(c.out, "\r\n"...)
	c.scratch = c.scratch[:0]
}

// flushOut writes c.out to the client and empties it.
func (c *conn) flushOut() bool {
	ok := c.writeClient(c.out)
	c.out = c.out[:0]
	return ok
}
