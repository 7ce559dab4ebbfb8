package httpwire

import (
	"bytes"
	"strconv"
	"time"
)

// HTTPDate is the IMF-fixdate layout of RFC 9110 §5.6.7, for UTC times.
const HTTPDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// ParseHTTPDate parses the three HTTP-date forms a recipient must accept
// (RFC 9110 §5.6.7).
func ParseHTTPDate(v []byte) (time.Time, bool) {
	s := string(v)
	for _, layout := range [...]string{HTTPDate, "Monday, 02-Jan-06 15:04:05 GMT", time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// StatusText returns the reason phrase the proxy writes for status.
func StatusText(status int) string {
	switch status {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 412:
		return "Precondition Failed"
	case 414:
		return "URI Too Long"
	case 416:
		return "Range Not Satisfiable"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status"
}

// AppendStatusLine appends "HTTP/1.1 status reason\r\n" with the reason
// phrase of StatusText.
func AppendStatusLine(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	return append(dst, "\r\n"...)
}

// AppendField appends one field line.
func AppendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendHeadEnd ends a head whose fields are written: it says whether the
// connection stays open where the default of the client's version (minor)
// would mislead, and appends the empty line.
func AppendHeadEnd(dst []byte, keep bool, minor int) []byte {
	switch {
	case !keep:
		dst = append(dst, "Connection: close\r\n"...)
	case minor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// AppendSimpleResponse appends a complete plain-text response that closes
// the connection: status, then msg and a newline as the body. The proxy
// answers requests it rejects with it.
func AppendSimpleResponse(dst []byte, status int, msg string) []byte {
	dst = AppendStatusLine(dst, status)
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(msg)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = append(dst, msg...)
	return append(dst, '\n')
}

// RequestRewrite is what changes in a request head forwarded to a backend.
// The zero value forwards the head less its hop-by-hop fields, with
// forwarding fields naming an unknown client over plain HTTP.
type RequestRewrite struct {
	// ForwardedFor is the element of Forwarded naming the client, such as
	// for="192.0.2.1:5000" (RFC 7239 §6: quoted, since ':' and '[' are not
	// token characters). Empty: for=unknown.
	ForwardedFor []byte
	// ClientIP is the element of X-Forwarded-For. Empty: unknown.
	ClientIP []byte
	// Proto is what Forwarded and X-Forwarded-Proto say; empty: "http".
	Proto string
	// Identity replaces Accept-Encoding with "identity": the response is
	// to be injected, so it must come back unencoded.
	Identity bool
	// ChangedAt is the Unix second of the latest file change (0: none).
	// An If-Modified-Since whose second is not before it may validate a
	// copy older than the change (HTTP dates have a one-second
	// resolution), so it is dropped.
	ChangedAt int64
}

// AppendRequestHead appends the head sent to the backend for req: the
// request line and fields as received, less the hop-by-hop fields (RFC 9110
// §7.6.1), plus Forwarded (RFC 7239) and X-Forwarded-For, both appended to
// the client's, and X-Forwarded-Host and X-Forwarded-Proto, which replace
// the client's (they say what the proxy saw, not what a client claims).
// Other fields through which a client could claim a scheme, host, port or
// prefix, and underscore spellings of the forwarding fields, are dropped
// (kindClaim).
//
// Framing is normalised: a chunked body is announced by exactly one
// "Transfer-Encoding: chunked" line. An absolute-form target goes out in
// origin-form (path and query) with Host set to its authority (RFC 9112
// §3.2.2: the target's authority wins over Host).
func AppendRequestHead(dst []byte, req *RequestHead, rw *RequestRewrite) []byte {
	authority, target := splitTarget(req.Target)
	host := req.Host
	if authority != nil {
		host = authority
		if len(target) == 0 || target[0] == '?' {
			dst = append(dst, req.Method...)
			dst = append(dst, " /"...)
		} else {
			dst = append(dst, req.Method...)
			dst = append(dst, ' ')
		}
	} else {
		dst = append(dst, req.Method...)
		dst = append(dst, ' ')
	}
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1."...)
	dst = append(dst, byte('0'+req.Minor))
	dst = append(dst, "\r\n"...)

	var forwarded, xff bool
	for _, f := range req.Fields {
		switch fieldKind(f.Name) {
		case kindConnection, kindKeepAlive, kindProxyConnection, kindTE, kindXForwardedHost, kindXForwardedProto, kindClaim:
			continue
		case kindUpgrade:
			if !req.Upgrade {
				continue
			}
		case kindForwarded:
			forwarded = true
			continue // joined with ours below
		case kindXForwardedFor:
			xff = true
			continue
		case kindAcceptEncoding:
			if rw.Identity {
				continue
			}
		case kindIfModifiedSince:
			if rw.ChangedAt != 0 && mayPredate(f.Value, rw.ChangedAt) {
				continue
			}
		case kindTransferEncoding:
			continue // written once below, as exactly "chunked"
		case kindHost:
			if authority != nil {
				dst = AppendField(dst, f.Name, authority)
				continue
			}
		case kindContentLength:
			// Framing fields stay even if Connection names them: dropping
			// one would let a client change how the backend frames the body.
		default:
			if namedIn(req.ConnectionOptions, f.Name) {
				continue
			}
		}
		dst = AppendField(dst, f.Name, f.Value)
	}
	if req.Chunked {
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	if req.Upgrade {
		dst = append(dst, "Connection: Upgrade\r\n"...)
	}
	if rw.Identity {
		dst = append(dst, "Accept-Encoding: identity\r\n"...)
	}
	proto := rw.Proto
	if proto == "" {
		proto = "http"
	}

	dst = append(dst, "Forwarded: "...)
	if forwarded {
		n := len(dst)
		dst = appendForwardedChain(dst, req.Fields)
		if len(dst) > n {
			dst = append(dst, ", "...)
		}
	}
	if len(rw.ForwardedFor) > 0 {
		dst = append(dst, rw.ForwardedFor...)
	} else {
		dst = append(dst, "for=unknown"...)
	}
	if len(host) > 0 {
		// The Host grammar excludes '"' and '\', so it quotes as is.
		dst = append(dst, `;host="`...)
		dst = append(dst, host...)
		dst = append(dst, '"')
	}
	dst = append(dst, ";proto="...)
	dst = append(dst, proto...)
	dst = append(dst, "\r\nX-Forwarded-For: "...)
	if xff {
		dst = appendJoined(dst, req.Fields, kindXForwardedFor)
		dst = append(dst, ", "...)
	}
	if len(rw.ClientIP) > 0 {
		dst = append(dst, rw.ClientIP...)
	} else {
		dst = append(dst, "unknown"...)
	}
	dst = append(dst, "\r\n"...)
	if len(host) > 0 {
		dst = append(dst, "X-Forwarded-Host: "...)
		dst = append(dst, host...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "X-Forwarded-Proto: "...)
	dst = append(dst, proto...)
	dst = append(dst, "\r\n"...)
	return append(dst, "\r\n"...)
}

// mayPredate reports whether a copy validated by the date ims may predate
// a change in the Unix second changed: its second is not before the change's.
func mayPredate(ims []byte, changed int64) bool {
	t, err := time.Parse(HTTPDate, string(ims))
	return err != nil || t.Unix() >= changed-1
}

// ResponseRewrite is what changes in a response head forwarded to a client.
type ResponseRewrite struct {
	// Keep says whether the client connection stays open after the
	// response; ClientMinor is the client's HTTP/1.x version.
	Keep        bool
	ClientMinor int
	// LengthDelta is added to Content-Length (the injected tag's length).
	LengthDelta int64
	// CSP holds the values that replace the Content-Security-Policy
	// fields, in field order; nil leaves them as they are.
	CSP [][]byte
	// Altered says the body is not the backend's bytes (a tag was
	// injected): a strong ETag, which vouches for those bytes, becomes
	// weak (RFC 9110 §8.8.3: If-None-Match still matches it, If-Range
	// no longer does), and Accept-Ranges goes, since ranges of this body
	// are not what the backend would send.
	Altered bool
}

// AppendResponseHead appends the head sent to the client for resp: the
// backend's status line and fields, less the hop-by-hop ones, with the
// changes rw describes.
func AppendResponseHead(dst []byte, resp *ResponseHead, rw ResponseRewrite) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(resp.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, resp.Reason...)
	dst = append(dst, "\r\n"...)
	switching := resp.Status == 101
	csp := 0
	for _, f := range resp.Fields {
		switch fieldKind(f.Name) {
		case kindCSP:
			if csp < len(rw.CSP) {
				dst = AppendField(dst, f.Name, rw.CSP[csp])
				csp++
				continue
			}
		case kindConnection, kindKeepAlive, kindProxyConnection, kindTE:
			continue
		case kindUpgrade:
			if !switching {
				continue
			}
		case kindContentLength:
			if rw.LengthDelta != 0 {
				dst = append(dst, f.Name...)
				dst = append(dst, ": "...)
				dst = strconv.AppendInt(dst, resp.ContentLength+rw.LengthDelta, 10)
				dst = append(dst, "\r\n"...)
				continue
			}
		case kindTransferEncoding:
			if rw.ClientMinor == 0 {
				// An HTTP/1.0 client gets the chunked body decoded and
				// delimited by the close (RFC 9112 §6.1).
				continue
			}
		default:
			if namedIn(resp.ConnectionOptions, f.Name) {
				continue
			}
			if rw.Altered {
				if EqualFold(f.Name, "Accept-Ranges") {
					continue
				}
				if EqualFold(f.Name, "ETag") && len(f.Value) > 0 && f.Value[0] == '"' {
					dst = append(dst, f.Name...)
					dst = append(dst, ": W/"...)
					dst = append(dst, f.Value...)
					dst = append(dst, "\r\n"...)
					continue
				}
			}
		}
		dst = AppendField(dst, f.Name, f.Value)
	}
	switch {
	case switching:
		dst = append(dst, "Connection: Upgrade\r\n\r\n"...)
	case resp.Status < 200:
		dst = append(dst, "\r\n"...)
	default:
		dst = AppendHeadEnd(dst, rw.Keep, rw.ClientMinor)
	}
	return dst
}

// appendForwardedChain appends the elements of the client's Forwarded
// fields (RFC 7239 §4), comma-separated, keeping only their for= and by=
// pairs: the proxy's own element, which follows, says the host and the
// scheme, and a client must not claim others through an element of its
// own (Spring reads the first element's host= and proto=). A pair that
// does not parse goes too, and so does an element left empty.
func appendForwardedChain(dst []byte, fields []Field) []byte {
	written := 0 // elements appended
	for _, f := range fields {
		if fieldKind(f.Name) != kindForwarded {
			continue
		}
		v := f.Value
		pairs := 0     // pairs appended in the current element
		var seen uint8 // of forFor and forBy, in the current element
		for i := 0; i <= len(v); i++ {
			start := i
			quoted, escaped := false, false
			for ; i < len(v); i++ {
				c := v[i]
				if escaped {
					escaped = false
					continue
				}
				if quoted {
					switch c {
					case '\\':
						escaped = true
					case '"':
						quoted = false
					}
					continue
				}
				if c == '"' {
					quoted = true
					continue
				}
				if c == ';' || c == ',' {
					break
				}
			}
			pair := trimOWS(v[start:i])
			if k := keptForwardedPair(pair); !quoted && k != 0 && seen&k == 0 {
				seen |= k // a parameter appears once per element (RFC 7239 §4)
				switch {
				case pairs > 0:
					dst = append(dst, ';')
				case written > 0:
					dst = append(dst, ", "...)
				}
				dst = append(dst, pair...)
				if pairs++; pairs == 1 {
					written++
				}
			}
			if i == len(v) || v[i] == ',' {
				pairs, seen = 0, 0
			}
		}
	}
	return dst
}

// The forwarded-pairs a client's Forwarded element keeps.
const (
	forFor uint8 = 1 << iota
	forBy
)

// keptForwardedPair reports which of forFor and forBy a forwarded-pair is,
// or 0 for any other pair, or one whose value is not a node (RFC 7239 §6:
// an IP address, "unknown" or an obfuscated "_name", with a port or not),
// as a token or a quoted-string without escapes. A value that may hold
// anything would let a client slip "host=evil.example" past the filter to
// a parser that searches the field for it, as Spring's and Vert.x's do.
func keptForwardedPair(pair []byte) uint8 {
	eq := bytes.IndexByte(pair, '=')
	if eq < 0 {
		return 0
	}
	var k uint8
	switch name := pair[:eq]; {
	case EqualFold(name, "for"):
		k = forFor
	case EqualFold(name, "by"):
		k = forBy
	default:
		return 0
	}
	value := pair[eq+1:]
	quoted := len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"'
	if quoted {
		value = value[1 : len(value)-1]
	}
	if len(value) == 0 {
		return 0
	}
	for _, c := range value {
		if !nodeTable[c] || !quoted && !tokenTable[c] {
			return 0
		}
	}
	return k
}

// nodeTable: the characters of an RFC 7239 §6 node (nodename, IPv6
// brackets, the port, obfuscated names).
var nodeTable = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || bytes.IndexByte([]byte("._-:[]"), b) >= 0
	}
	return t
}()

// appendJoined appends the values of every field of kind k, comma-separated
// (RFC 9110 §5.3: several field lines are one list).
func appendJoined(dst []byte, fields []Field, k kind) []byte {
	first := true
	for _, f := range fields {
		if fieldKind(f.Name) != k {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		dst = append(dst, f.Value...)
		first = false
	}
	return dst
}

func namedIn(options [][]byte, name []byte) bool {
	for _, o := range options {
		if EqualFoldBytes(o, name) {
			return true
		}
	}
	return false
}
