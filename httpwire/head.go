// Package httpwire is HTTP/1.x as bytes for reloadproxy: it parses request
// and response heads in place, decides how bodies are framed, validates
// chunked bodies as they stream past, and writes heads (status lines, and
// request and response heads rewritten for forwarding) from explicit
// inputs. It knows nothing of connections: the proxy loop lives in
// httpwire/proxy, the HTML injector in httpwire/htmlinject and static files
// in httpwire/static.
//
// Parsing is strict (RFC 9112): anything a downstream parser could read
// differently from us — bare CR or LF, obs-fold, whitespace before a colon,
// conflicting framing — is rejected rather than repaired, so the proxy can
// never be used to smuggle a second request past the backend.
package httpwire

import (
	"bytes"
	"errors"
)

// Limits on what a peer may send before the head is complete.
const (
	MaxRequestLine = 8 << 10  // longer → 414
	MaxHeadBytes   = 64 << 10 // longer → 431
	MaxFields      = 100      // more → 431
)

// Field is one header field. Name and Value are slices into the buffer the
// head was parsed from: they stay valid until that buffer is reused. Value
// has its leading and trailing whitespace removed (RFC 9112 §5.1).
type Field struct {
	Name, Value []byte
}

// Error is a protocol error. Status is the HTTP status the proxy answers with
// when the error is in a request; a backend's malformed response is always
// answered with 502.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "httpwire: " + e.Reason }

// ErrNeedMore means the buffer holds a valid prefix of a head but not its
// end: read more and parse again from the start.
var ErrNeedMore = errors.New("httpwire: incomplete head")

// Errors returned by the parsers. They are preallocated so that rejecting a
// request allocates nothing; compare them with errors.Is or read Status
// through errors.As.
var (
	ErrBareCR             = &Error{400, "bare CR in head"}
	ErrBareLF             = &Error{400, "bare LF in head"}
	ErrObsFold            = &Error{400, "obsolete line folding"}
	ErrSpaceBeforeColon   = &Error{400, "whitespace between field name and colon"}
	ErrFieldName          = &Error{400, "invalid field name"}
	ErrFieldValue         = &Error{400, "invalid character in field value"}
	ErrMethod             = &Error{400, "invalid method"}
	ErrTarget             = &Error{400, "invalid request target"}
	ErrRequestLine        = &Error{400, "malformed request line"}
	ErrVersion            = &Error{400, "malformed HTTP version"}
	ErrStatusLine         = &Error{400, "malformed status line"}
	ErrContentLength      = &Error{400, "invalid Content-Length"}
	ErrDuplicateLength    = &Error{400, "more than one Content-Length"}
	ErrLengthAndEncoding  = &Error{400, "both Content-Length and Transfer-Encoding"}
	ErrChunkedNotFinal    = &Error{400, "Transfer-Encoding does not end in chunked"}
	ErrEncodingHTTP10     = &Error{400, "Transfer-Encoding in an HTTP/1.0 message"}
	ErrBadEncoding        = &Error{400, "malformed Transfer-Encoding"}
	ErrMissingHost        = &Error{400, "missing Host"}
	ErrDuplicateHost      = &Error{400, "more than one Host"}
	ErrHost               = &Error{400, "invalid Host"}
	ErrURITooLong         = &Error{414, "request line too long"}
	ErrHeadTooLarge       = &Error{431, "head too large"}
	ErrTooManyFields      = &Error{431, "too many header fields"}
	ErrUnknownEncoding    = &Error{501, "unknown transfer coding"}
	ErrCodingNotForwarded = &Error{501, "transfer coding other than chunked"}
	ErrConnect            = &Error{501, "CONNECT is not supported by a reverse proxy"}
	ErrHTTPVersion        = &Error{505, "HTTP version not supported"}
)

// RequestHead is a parsed request head. Its zero value is ready to use;
// reusing one across requests reuses its Fields storage. Every []byte points
// into the parsed buffer.
type RequestHead struct {
	Method []byte
	Target []byte
	Minor  int // the x of HTTP/1.x: 0 or 1
	Fields []Field

	// Framing, derived from the fields (RFC 9112 §6).
	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding ends in chunked
	Host          []byte
	KeepAlive     bool // the client allows another request on this connection
	Upgrade       bool // Connection: upgrade with an Upgrade field
	Expect100     bool // Expect: 100-continue, in HTTP/1.1 only (RFC 9110 §10.1.1)

	// ConnectionOptions are the tokens of Connection other than close,
	// keep-alive and upgrade: fields with those names are hop-by-hop.
	ConnectionOptions [][]byte
}

// HasBody reports whether a body follows the head.
func (h *RequestHead) HasBody() bool { return h.Chunked || h.ContentLength > 0 }

// IsHead reports whether the method is HEAD, whose response has no body.
func (h *RequestHead) IsHead() bool { return string(h.Method) == "HEAD" }

// Idempotent reports whether the method may be sent again after the
// connection died (RFC 9110 §9.2.2).
func (h *RequestHead) Idempotent() bool {
	switch string(h.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// Field returns the value of the first field named name (compared
// case-insensitively), or nil.
func (h *RequestHead) Field(name string) []byte { return lookup(h.Fields, name) }

// splitTarget splits an absolute-form target (RFC 9112 §3.2.2) into its
// authority and the rest (path and query, possibly empty). For any other
// form authority is nil and rest is the target.
func splitTarget(t []byte) (authority, rest []byte) {
	var i int
	switch {
	case HasPrefixFold(t, "http://"):
		i = len("http://")
	case HasPrefixFold(t, "https://"):
		i = len("https://")
	default:
		return nil, t
	}
	j := i
	for j < len(t) && t[j] != '/' && t[j] != '?' {
		j++
	}
	return t[i:j], t[j:]
}

// EffectiveHost returns the host the request is for, with its port: the
// authority of an absolute-form target, which wins over Host (RFC 9112
// §3.2.2), else Host.
func (h *RequestHead) EffectiveHost() []byte {
	if a, _ := splitTarget(h.Target); a != nil {
		return a
	}
	return h.Host
}

// IsNavigation reports whether the request comes from a browser loading a
// page: it asks for a document or an iframe (Sec-Fetch-Dest), or, without
// that field, accepts text/html. Such requests get HTML error pages and
// the reload client.
func (h *RequestHead) IsNavigation() bool {
	if dest := h.Field("Sec-Fetch-Dest"); dest != nil {
		return EqualFold(dest, "document") || EqualFold(dest, "iframe")
	}
	accept := h.Field("Accept")
	for i := 0; i+len("text/html") <= len(accept); i++ {
		if EqualFold(accept[i:i+len("text/html")], "text/html") {
			return true
		}
	}
	return false
}

func (h *RequestHead) reset() {
	*h = RequestHead{Fields: h.Fields[:0], ConnectionOptions: h.ConnectionOptions[:0], ContentLength: -1}
}

// Parse parses the request head at the start of buf and returns its length
// including the final empty line. It returns ErrNeedMore if buf holds a
// valid but incomplete head, or an *Error.
func (h *RequestHead) Parse(buf []byte) (n int, err error) {
	h.reset()
	i, err := h.parseRequestLine(buf)
	if err != nil {
		return 0, err
	}
	h.Fields, n, err = parseFields(buf, i, h.Fields)
	if err == ErrNeedMore && len(buf) >= MaxHeadBytes {
		return 0, ErrHeadTooLarge
	}
	if err != nil {
		return 0, err
	}
	if n > MaxHeadBytes {
		return 0, ErrHeadTooLarge
	}
	if err := h.interpret(); err != nil {
		return 0, err
	}
	return n, nil
}

// parseRequestLine parses method SP request-target SP HTTP-version CRLF
// (RFC 9112 §3) and returns the offset of the first field line.
func (h *RequestHead) parseRequestLine(b []byte) (int, error) {
	// A server SHOULD ignore at least one empty line before the
	// request-line (RFC 9112 §2.2); one CRLF is what clients send after a
	// POST body, so skip exactly that much.
	i := 0
	if len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
		i = 2
	} else if len(b) == 1 && b[0] == '\r' {
		return 0, ErrNeedMore
	}
	end := bytes.IndexByte(b[i:], '\n')
	if end < 0 {
		if len(b)-i > MaxRequestLine {
			return 0, ErrURITooLong
		}
		end = len(b) - i // validate what is there, to reject early
	} else if end > MaxRequestLine {
		return 0, ErrURITooLong
	}
	line := b[i : i+end]
	complete := i+end < len(b)
	if complete {
		// Every line ends in CRLF (RFC 9112 §2.2); a CR left in line
		// after this is a bare CR.
		if end == 0 || line[end-1] != '\r' {
			return 0, ErrBareLF
		}
		line = line[:end-1]
	}

	j := 0
	for j < len(line) && tokenTable[line[j]] {
		j++
	}
	if j == len(line) {
		if complete {
			return 0, ErrRequestLine
		}
		return 0, ErrNeedMore
	}
	if j == 0 || line[j] != ' ' {
		return 0, lineError(line, j, complete, ErrMethod)
	}
	h.Method = line[:j]
	j++
	t := j
	for j < len(line) && targetTable[line[j]] {
		j++
	}
	if j == len(line) {
		if complete {
			// No version: an HTTP/0.9 simple-request, or a target with
			// no SP after it.
			return 0, ErrRequestLine
		}
		return 0, ErrNeedMore
	}
	if j == t {
		return 0, lineError(line, j, complete, ErrRequestLine) // one SP only
	}
	if line[j] != ' ' {
		return 0, lineError(line, j, complete, ErrTarget)
	}
	h.Target = line[t:j]
	j++
	v := line[j:]
	if !complete {
		if !versionPrefix(v) {
			return 0, lineError(v, bytes.IndexByte(v, '\r'), complete, ErrVersion)
		}
		return 0, ErrNeedMore
	}
	minor, err := parseVersion(v)
	if err == ErrVersion {
		return 0, lineError(v, bytes.IndexByte(v, '\r'), complete, ErrVersion)
	}
	if err != nil {
		return 0, err
	}
	h.Minor = minor
	if string(h.Method) == "CONNECT" {
		return 0, ErrConnect
	}
	if k := bytes.IndexByte(h.Target, '#'); k >= 0 {
		// A fragment is the client's own business, no part of a
		// request-target (RFC 9112 §3.2, RFC 3986 §4.3), yet some clients
		// send one: it is dropped, as nginx does, so that it reaches the
		// backend neither in the path nor in the Host an absolute-form
		// target's authority becomes.
		h.Target = h.Target[:k]
		if k == 0 {
			return 0, ErrTarget
		}
	}
	if err := checkTarget(h.Target, h.Method); err != nil {
		return 0, err
	}
	return i + end + 1, nil
}

// lineError classifies the unexpected byte line[k] of a start line: a CR
// not followed by LF is ErrBareCR (RFC 9112 §2.2), anything else def. A CR
// at the end of an incomplete line may yet be followed by LF, so it is def.
// k < 0 (the caller found no CR) means def.
func lineError(line []byte, k int, complete bool, def *Error) error {
	if k >= 0 && k < len(line) && line[k] == '\r' && (complete || k+1 < len(line)) {
		return ErrBareCR
	}
	return def
}

// parseVersion parses HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3)
// and returns the minor version. Only HTTP/1.0 and HTTP/1.1 are served.
func parseVersion(v []byte) (int, error) {
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, ErrVersion
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, ErrHTTPVersion
	}
	return int(v[7] - '0'), nil
}

// versionPrefix reports whether v can still become "HTTP/d.d" CR.
func versionPrefix(v []byte) bool {
	const pattern = "HTTP/0.0\r"
	if len(v) > len(pattern) {
		return false
	}
	for k, c := range v {
		switch p := pattern[k]; p {
		case '0':
			if !isDigit(c) {
				return false
			}
		default:
			if c != p {
				return false
			}
		}
	}
	return true
}

// checkTarget accepts the request-target forms a reverse proxy serves
// (RFC 9112 §3.2): origin-form, absolute-form with an http(s) scheme, and
// asterisk-form for OPTIONS.
func checkTarget(t, method []byte) error {
	switch {
	case t[0] == '/':
		return nil
	case len(t) == 1 && t[0] == '*':
		if string(method) == "OPTIONS" {
			return nil
		}
	case HasPrefixFold(t, "http://"):
		return checkAuthority(t[len("http://"):])
	case HasPrefixFold(t, "https://"):
		return checkAuthority(t[len("https://"):])
	}
	return ErrTarget
}

// checkAuthority checks the authority at the start of an absolute-form
// target's hier-part: an http(s) URI with an empty host is invalid and
// MUST be rejected (RFC 9110 §4.2.1); userinfo is treated as an error, as
// §4.2.4 advises, since it only serves to disguise the host.
func checkAuthority(rest []byte) error {
	end := len(rest)
	for k, c := range rest {
		if c == '/' || c == '?' {
			end = k
			break
		}
	}
	auth := rest[:end]
	// The authority is sent to the backend as Host (AppendRequestHead), so
	// it is held to the rule a Host field is.
	if len(auth) == 0 || auth[0] == ':' || bytes.IndexByte(auth, '@') >= 0 || !validHost(auth) {
		return ErrTarget
	}
	return nil
}

// parseFields parses field lines from b[i:] up to and including the empty
// line that ends the head (RFC 9112 §5), appending to fields. It returns the
// offset just past the empty line.
func parseFields(b []byte, i int, fields []Field) ([]Field, int, error) {
	for {
		if i >= len(b) {
			return fields, 0, ErrNeedMore
		}
		switch b[i] {
		case '\r':
			if i+1 >= len(b) {
				return fields, 0, ErrNeedMore
			}
			if b[i+1] != '\n' {
				return fields, 0, ErrBareCR
			}
			return fields, i + 2, nil
		case '\n':
			return fields, 0, ErrBareLF
		case ' ', '\t':
			// A line starting with whitespace continues the previous one
			// (obs-fold, RFC 9112 §5.2), or, before the first field, is
			// the whitespace §2.2 says to reject.
			return fields, 0, ErrObsFold
		}
		start := i
		for i < len(b) && tokenTable[b[i]] {
			i++
		}
		if i >= len(b) {
			return fields, 0, ErrNeedMore
		}
		if b[i] != ':' {
			switch b[i] {
			case ' ', '\t':
				return fields, 0, ErrSpaceBeforeColon // RFC 9112 §5.1
			case '\n':
				return fields, 0, ErrBareLF
			case '\r':
				if i+1 < len(b) && b[i+1] != '\n' {
					return fields, 0, ErrBareCR
				}
			}
			return fields, 0, ErrFieldName // or a line without a colon
		}
		if i == start {
			return fields, 0, ErrFieldName
		}
		name := b[start:i]
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		vstart, vend := i, i
		for ; i < len(b); i++ {
			c := b[i]
			if !valueTable[c] {
				break
			}
			if c != ' ' && c != '\t' {
				vend = i + 1
			}
		}
		if i >= len(b) {
			return fields, 0, ErrNeedMore
		}
		switch b[i] {
		case '\r':
		case '\n':
			return fields, 0, ErrBareLF
		default:
			return fields, 0, ErrFieldValue
		}
		if i+1 >= len(b) {
			return fields, 0, ErrNeedMore
		}
		if b[i+1] != '\n' {
			return fields, 0, ErrBareCR
		}
		i += 2
		if len(fields) == MaxFields {
			return fields, 0, ErrTooManyFields
		}
		fields = append(fields, Field{Name: name, Value: b[vstart:vend]})
	}
}

// interpret derives the framing and connection semantics from the fields.
func (h *RequestHead) interpret() error {
	var hosts, lengths int
	var enc codings
	var sawUpgradeField bool
	var connUpgrade bool
	connClose, connKeepAlive := false, false
	for _, f := range h.Fields {
		switch fieldKind(f.Name) {
		case kindContentLength:
			lengths++
			if lengths > 1 {
				return ErrDuplicateLength // RFC 9112 §6.3 item 5
			}
			n, ok := parseLength(f.Value)
			if !ok {
				return ErrContentLength
			}
			h.ContentLength = n
		case kindTransferEncoding:
			enc.add(f.Value)
		case kindHost:
			hosts++
			if hosts > 1 {
				return ErrDuplicateHost // RFC 9112 §3.2
			}
			if !validHost(f.Value) {
				return ErrHost
			}
			h.Host = f.Value
		case kindConnection:
			var bad bool
			ForEachToken(f.Value, func(tok []byte) {
				switch {
				case EqualFold(tok, "close"):
					connClose = true
				case EqualFold(tok, "keep-alive"):
					connKeepAlive = true
				case EqualFold(tok, "upgrade"):
					connUpgrade = true
				default:
					if !isToken(tok) {
						bad = true
					}
					h.ConnectionOptions = append(h.ConnectionOptions, tok)
				}
			})
			if bad {
				return ErrFieldValue
			}
		case kindUpgrade:
			sawUpgradeField = true
		case kindExpect:
			// An HTTP/1.0 server MUST ignore 100-continue (RFC 9110
			// §10.1.1).
			if EqualFold(f.Value, "100-continue") && h.Minor == 1 {
				h.Expect100 = true
			}
		}
	}
	if enc.present {
		switch {
		case h.Minor == 0:
			return ErrEncodingHTTP10 // RFC 9112 §6.1
		case lengths > 0:
			return ErrLengthAndEncoding // RFC 9112 §6.1, §6.3 item 3
		case enc.err != nil:
			return enc.err
		case enc.unknown:
			// 501 (§6.1), even when chunked is not final either: the
			// connection is closed after the answer all the same.
			return ErrUnknownEncoding
		case !enc.chunked:
			return ErrChunkedNotFinal // RFC 9112 §6.3 item 4
		case enc.other:
			// A coding we know but do not forward (gzip, chunked): the
			// backend gets exactly "chunked" or nothing, so that no
			// parser downstream can read the framing differently.
			return ErrCodingNotForwarded
		}
		h.Chunked = true
	}
	if h.Minor == 1 && hosts == 0 {
		return ErrMissingHost // RFC 9112 §3.2
	}
	if h.Minor == 1 {
		h.KeepAlive = !connClose
	} else {
		h.KeepAlive = connKeepAlive && !connClose
	}
	// RFC 9110 §7.8: a server must ignore Upgrade in an HTTP/1.0 request
	// (a 1.0 proxy on the way may have forwarded it without knowing it).
	h.Upgrade = h.Minor == 1 && connUpgrade && sawUpgradeField
	return nil
}

// codings accumulates the Transfer-Encoding field lines of a head, each a
// list of transfer codings (RFC 9112 §6.1). The zero value has seen none.
type codings struct {
	present    bool  // a Transfer-Encoding field was seen
	chunked    bool  // the last coding so far is chunked
	sawChunked bool  // chunked appeared at all
	other      bool  // a registered coding other than chunked appeared
	unknown    bool  // a coding we do not implement appeared
	err        error // ErrBadEncoding when a list is malformed
}

// add reads one field value. It looks at every coding even after an
// unknown one, so that whether chunked is final is always known. Empty
// list elements are ignored (RFC 9110 §5.6.1).
func (c *codings) add(v []byte) {
	c.present = true
	seen := false
	ForEachToken(v, func(tok []byte) {
		seen = true
		// A coding may carry parameters; chunked never does.
		name := tok
		if k := bytes.IndexByte(tok, ';'); k >= 0 {
			name = trimOWS(tok[:k])
		}
		switch {
		case !isToken(name):
			c.err = ErrBadEncoding
		case EqualFold(name, "chunked"):
			// A sender MUST NOT apply chunked more than once (§6.1).
			if c.sawChunked || len(name) != len(tok) {
				c.err = ErrBadEncoding
			}
			c.chunked, c.sawChunked = true, true
			return
		case knownCoding(name):
			c.other = true
		default:
			c.unknown = true
		}
		c.chunked = false
	})
	if !seen {
		c.err = ErrBadEncoding
	}
}

// knownCoding reports whether name is a registered content coding that a
// response may carry as a transfer coding before chunked (RFC 9112 §7,
// RFC 9110 §8.4.1): the proxy forwards such a response untouched.
// "identity" is not one: it was removed from the registry (RFC 9112 §7).
func knownCoding(name []byte) bool {
	return EqualFold(name, "gzip") || EqualFold(name, "x-gzip") || EqualFold(name, "deflate") ||
		EqualFold(name, "compress") || EqualFold(name, "x-compress")
}

// ResponseHead is a parsed response head; like RequestHead, its slices
// point into the parsed buffer and its zero value is ready to use.
type ResponseHead struct {
	Minor  int
	Status int
	Reason []byte
	Fields []Field

	ContentLength int64 // -1 when absent
	Chunked       bool
	OtherCodings  bool // with Chunked: a coding such as gzip applies under the chunks
	Close         bool // the backend will close the connection after this response
	Upgrade       bool // Upgrade field present (meaningful with 101)

	ConnectionOptions [][]byte
}

// Field returns the value of the first field named name, or nil.
func (h *ResponseHead) Field(name string) []byte { return lookup(h.Fields, name) }

// Framing says how a response body is delimited (RFC 9112 §6.3).
type Framing uint8

const (
	NoBody Framing = iota
	LengthBody
	ChunkedBody
	CloseBody // read until the backend closes
)

// BodyFraming returns the framing of the response to a request whose method
// was HEAD (isHead) or not.
func (h *ResponseHead) BodyFraming(isHead bool) Framing {
	switch {
	case isHead, h.Status < 200, h.Status == 204, h.Status == 304:
		return NoBody
	case h.Chunked:
		return ChunkedBody
	case h.ContentLength == 0:
		return NoBody
	case h.ContentLength > 0:
		return LengthBody
	}
	return CloseBody
}

// Parse parses the response head at the start of buf, like
// RequestHead.Parse. Errors carry status 400; the proxy answers a client
// with 502 for any of them.
func (h *ResponseHead) Parse(buf []byte) (n int, err error) {
	*h = ResponseHead{Fields: h.Fields[:0], ConnectionOptions: h.ConnectionOptions[:0], ContentLength: -1}
	i, err := h.parseStatusLine(buf)
	if err != nil {
		if err == ErrNeedMore && len(buf) >= MaxHeadBytes {
			return 0, ErrHeadTooLarge
		}
		return 0, err
	}
	h.Fields, n, err = parseFields(buf, i, h.Fields)
	if err == ErrNeedMore && len(buf) >= MaxHeadBytes {
		return 0, ErrHeadTooLarge
	}
	if err != nil {
		return 0, err
	}
	if n > MaxHeadBytes {
		return 0, ErrHeadTooLarge
	}
	if err := h.interpret(); err != nil {
		return 0, err
	}
	return n, nil
}

// parseStatusLine parses HTTP-version SP status-code SP [reason-phrase] CRLF
// (RFC 9112 §4). A missing SP after the code is accepted: servers omit it
// and it cannot change framing.
func (h *ResponseHead) parseStatusLine(b []byte) (int, error) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		if len(b) > MaxRequestLine {
			return 0, ErrStatusLine
		}
		if len(b) > 0 && !bytes.HasPrefix(b, []byte("HTTP/")) && !bytes.HasPrefix([]byte("HTTP/"), b) {
			return 0, ErrStatusLine
		}
		return 0, ErrNeedMore
	}
	if end > MaxRequestLine {
		// The bound the incomplete line is held to: a status line that
		// was accepted whole must not be rejected when it arrives in parts.
		return 0, ErrStatusLine
	}
	if end == 0 || b[end-1] != '\r' {
		return 0, ErrBareLF
	}
	line := b[:end-1]
	if len(line) < len("HTTP/1.1 200") || line[8] != ' ' {
		return 0, statusLineError(line)
	}
	minor, err := parseVersion(line[:8])
	if err != nil {
		return 0, statusLineError(line)
	}
	h.Minor = minor
	// A status code is 100 to 599 (RFC 9110 §15): a client cannot tell
	// what class another would be.
	if line[9] < '1' || line[9] > '5' || !isDigit(line[10]) || !isDigit(line[11]) {
		return 0, statusLineError(line)
	}
	h.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, statusLineError(line)
		}
		for _, c := range line[13:] {
			if !valueTable[c] {
				return 0, statusLineError(line)
			}
		}
		h.Reason = line[13:]
	}
	return end + 1, nil
}

// statusLineError is the error for a malformed status line: ErrBareCR when
// it holds a CR (RFC 9112 §2.2), else ErrStatusLine.
func statusLineError(line []byte) error {
	if bytes.IndexByte(line, '\r') >= 0 {
		return ErrBareCR
	}
	return ErrStatusLine
}

func (h *ResponseHead) interpret() error {
	var lengths int
	var enc codings
	connClose, connKeepAlive := false, false
	for _, f := range h.Fields {
		switch fieldKind(f.Name) {
		case kindContentLength:
			lengths++
			n, ok := parseLength(f.Value)
			if !ok || (lengths > 1 && n != h.ContentLength) {
				return ErrContentLength
			}
			h.ContentLength = n
		case kindTransferEncoding:
			enc.add(f.Value)
		case kindConnection:
			ForEachToken(f.Value, func(tok []byte) {
				switch {
				case EqualFold(tok, "close"):
					connClose = true
				case EqualFold(tok, "keep-alive"):
					connKeepAlive = true
				case EqualFold(tok, "upgrade"):
				default:
					h.ConnectionOptions = append(h.ConnectionOptions, tok)
				}
			})
		case kindUpgrade:
			h.Upgrade = true
		}
	}
	if enc.present {
		switch {
		case enc.err != nil:
			return enc.err
		case lengths > 0:
			// §6.3 item 3: "ought to be handled as an error".
			return ErrLengthAndEncoding
		case enc.unknown:
			// A coding neither we nor a browser may understand: the
			// body's end could only be guessed.
			return ErrUnknownEncoding
		case !enc.chunked:
			// §6.3 item 4 would delimit the body by the close; a proxy
			// that guessed so while another reader saw chunks could be
			// desynchronised, so only chunked-final framing passes.
			return ErrChunkedNotFinal
		}
		h.Chunked, h.OtherCodings = true, enc.other
		if h.Minor == 0 {
			// §6.1: an HTTP/1.0 message with Transfer-Encoding has
			// faulty framing; close the connection after it.
			connClose = true
		}
	}
	if h.Minor == 1 {
		h.Close = connClose
	} else {
		h.Close = connClose || !connKeepAlive
	}
	return nil
}

// parseLength parses Content-Length = 1*DIGIT (RFC 9110 §8.6). Leading
// zeros are valid and do not count towards the limit of 18 significant
// digits, which keeps n well inside int64.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	digits := 0
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		if n > 0 || c != '0' {
			digits++
		}
		if digits > 18 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// validHost checks a Host value: uri-host [ ":" port ] (RFC 9110 §7.2),
// where uri-host is an IP-literal in brackets or a reg-name (which holds no
// ':') and port is digits (RFC 3986 §3.2.2, §3.2.3), without deciding which
// host it names.
func validHost(v []byte) bool {
	i := 0
	if len(v) > 0 && v[0] == '[' {
		i = bytes.IndexByte(v, ']')
		if i < 0 {
			return false
		}
		for _, c := range v[1:i] {
			if !hostTable[c] || c == '[' {
				return false
			}
		}
		i++
	} else {
		for ; i < len(v) && v[i] != ':'; i++ {
			if !hostTable[v[i]] || v[i] == '[' || v[i] == ']' {
				return false
			}
		}
	}
	if i == len(v) {
		return true
	}
	if v[i] != ':' {
		return false
	}
	for _, c := range v[i+1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

type kind uint8

const (
	kindOther kind = iota
	kindContentLength
	kindTransferEncoding
	kindHost
	kindConnection
	kindUpgrade
	kindExpect
	kindKeepAlive
	kindProxyConnection
	kindTE
	kindForwarded
	kindXForwardedFor
	kindXForwardedHost
	kindXForwardedProto
	kindAcceptEncoding
	kindCSP
	kindIfModifiedSince
	// kindClaim: a field a client could use to claim a scheme, host, port
	// or path prefix that frameworks read as the proxy's word (Rack reads
	// X-Forwarded-Ssl, Spring X-Forwarded-Prefix, ...), or an underscore
	// spelling of a forwarding field, which CGI-style servers read as the
	// field itself (X_Forwarded_Host is HTTP_X_FORWARDED_HOST).
	kindClaim
)

// fieldKind classifies the field names the proxy acts on; a switch on the
// length first keeps the common case (a name we do not care about) cheap.
func fieldKind(name []byte) kind {
	switch len(name) {
	case 2:
		if EqualFold(name, "te") {
			return kindTE
		}
	case 4:
		if EqualFold(name, "host") {
			return kindHost
		}
	case 6:
		if EqualFold(name, "expect") {
			return kindExpect
		}
	case 7:
		if EqualFold(name, "upgrade") {
			return kindUpgrade
		}
	case 9:
		if EqualFold(name, "forwarded") {
			return kindForwarded
		}
	case 10:
		if EqualFold(name, "connection") {
			return kindConnection
		}
		if EqualFold(name, "keep-alive") {
			return kindKeepAlive
		}
	case 14:
		if EqualFold(name, "content-length") {
			return kindContentLength
		}
	case 12:
		if equalFoldClaim(name, "x-url-scheme") {
			return kindClaim
		}
	case 15:
		if EqualFold(name, "x-forwarded-for") {
			return kindXForwardedFor
		}
		if EqualFold(name, "accept-encoding") {
			return kindAcceptEncoding
		}
		if equalFoldClaim(name, "x-forwarded-for") || equalFoldClaim(name, "x-forwarded-ssl") ||
			equalFoldClaim(name, "front-end-https") {
			return kindClaim
		}
	case 16:
		if EqualFold(name, "proxy-connection") {
			return kindProxyConnection
		}
		if EqualFold(name, "x-forwarded-host") {
			return kindXForwardedHost
		}
		if equalFoldClaim(name, "x-forwarded-host") || equalFoldClaim(name, "x-forwarded-port") {
			return kindClaim
		}
	case 17:
		if EqualFold(name, "transfer-encoding") {
			return kindTransferEncoding
		}
		if EqualFold(name, "x-forwarded-proto") {
			return kindXForwardedProto
		}
		if EqualFold(name, "if-modified-since") {
			return kindIfModifiedSince
		}
		if equalFoldClaim(name, "x-forwarded-proto") {
			return kindClaim
		}
	case 18:
		if equalFoldClaim(name, "x-forwarded-scheme") || equalFoldClaim(name, "x-forwarded-prefix") ||
			equalFoldClaim(name, "x-forwarded-server") {
			return kindClaim
		}
	case 23:
		if EqualFold(name, "content-security-policy") {
			return kindCSP
		}
	}
	return kindOther
}

// ForEachToken calls fn for each non-empty element of a comma-separated
// list (RFC 9110 §5.6.1), trimmed of optional whitespace.
func ForEachToken(v []byte, fn func([]byte)) {
	for len(v) > 0 {
		k := bytes.IndexByte(v, ',')
		var el []byte
		if k < 0 {
			el, v = v, nil
		} else {
			el, v = v[:k], v[k+1:]
		}
		if el = trimOWS(el); len(el) > 0 {
			fn(el)
		}
	}
}

func lookup(fields []Field, name string) []byte {
	for _, f := range fields {
		if EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return nil
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// EqualFold compares b with an ASCII string s, ignoring case.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// equalFoldClaim is EqualFold with '_' in b read as '-' (claim is lower
// case, with dashes): the name as CGI-style servers read it.
func equalFoldClaim(b []byte, claim string) bool {
	if len(b) != len(claim) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := lower(b[i])
		if c == '_' {
			c = '-'
		}
		if c != claim[i] {
			return false
		}
	}
	return true
}

// EqualFoldBytes compares two ASCII byte strings, ignoring case.
func EqualFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// HasPrefixFold reports whether b starts with the ASCII string prefix,
// ignoring case.
func HasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && EqualFold(b[:len(prefix)], prefix)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

var (
	// tokenTable: tchar (RFC 9110 §5.6.2).
	tokenTable [256]bool
	// valueTable: field-vchar, SP and HTAB (RFC 9110 §5.5), obs-text included.
	valueTable [256]bool
	// targetTable: the visible ASCII a request-target may hold (RFC 3986
	// characters; anything else must be percent-encoded).
	targetTable [256]bool
	// hostTable: characters of uri-host and port (RFC 3986 §3.2.2).
	hostTable [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || isDigit(b)
		tokenTable[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		valueTable[c] = b == '\t' || b >= 0x20 && b != 0x7f
		targetTable[c] = b > 0x20 && b < 0x7f
		hostTable[c] = alnum || bytes.IndexByte([]byte("-._~!$&'()*+,;=:[]%"), b) >= 0
	}
}
