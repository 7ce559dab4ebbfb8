package httpwire

import (
	"strconv"
	"time"
)

// appendRequestHead appends the head sent to the backend: the request line
// and fields as received, less the hop-by-hop fields (RFC 9110 §7.6.1),
// plus Forwarded (RFC 7239) and the X-Forwarded-* fields.
func (c *conn) appendRequestHead(dst []byte) []byte {
	req := &c.req
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.Target...)
	dst = append(dst, " HTTP/1."...)
	dst = append(dst, byte('0'+req.Minor))
	dst = append(dst, "\r\n"...)

	var forwarded, xff, xfHost, xfProto bool
	for _, f := range req.Fields {
		switch fieldKind(f.Name) {
		case kindConnection, kindKeepAlive, kindProxyConnection, kindTE:
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
		case kindXForwardedHost:
			xfHost = true
		case kindXForwardedProto:
			xfProto = true
		case kindAcceptEncoding:
			if c.inject {
				continue // replaced: the page must come back unencoded
			}
		case kindIfModifiedSince:
			if c.mayBeStale(f.Value) {
				continue
			}
		case kindContentLength, kindTransferEncoding, kindHost:
			// Framing fields stay even if Connection names them: dropping
			// one would let a client change how the backend frames the body.
		default:
			if namedIn(req.ConnectionOptions, f.Name) {
				continue
			}
		}
		dst = appendField(dst, f.Name, f.Value)
	}
	if req.Upgrade {
		dst = append(dst, "Connection: Upgrade\r\n"...)
	}
	if c.inject {
		dst = append(dst, "Accept-Encoding: identity\r\n"...)
	}

	dst = append(dst, "Forwarded: "...)
	if forwarded {
		dst = appendJoined(dst, req.Fields, kindForwarded)
		dst = append(dst, ", "...)
	}
	dst = append(dst, c.forwardedFor...)
	if len(req.Host) > 0 {
		// The Host grammar excludes '"' and '\', so it quotes as is.
		dst = append(dst, `;host="`...)
		dst = append(dst, req.Host...)
		dst = append(dst, '"')
	}
	dst = append(dst, ";proto="...)
	dst = append(dst, c.srv.proto()...)
	dst = append(dst, "\r\nX-Forwarded-For: "...)
	if xff {
		dst = appendJoined(dst, req.Fields, kindXForwardedFor)
		dst = append(dst, ", "...)
	}
	dst = append(dst, c.clientIP...)
	dst = append(dst, "\r\n"...)
	if !xfHost && len(req.Host) > 0 {
		dst = appendField(dst, []byte("X-Forwarded-Host"), req.Host)
	}
	if !xfProto {
		dst = append(dst, "X-Forwarded-Proto: "...)
		dst = append(dst, c.srv.proto()...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// mayBeStale reports whether a cached copy validated by the date ims may
// predate the latest file change: its second is not before the change's.
func (c *conn) mayBeStale(ims []byte) bool {
	changed := c.srv.changedAt.Load()
	if changed == 0 {
		return false
	}
	t, err := time.Parse(httpDate, string(ims))
	return err != nil || t.Unix() >= changed-1
}

// appendResponseHead appends the head sent to the client for c.resp.
// keep says whether the client connection stays open after it.
func (c *conn) appendResponseHead(dst []byte, keep bool, clientMinor int) []byte {
	resp := &c.resp
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
			if csp < len(c.cspValues) {
				dst = appendField(dst, f.Name, c.cspValues[csp])
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
			if resp.lengthDelta != 0 {
				dst = append(dst, f.Name...)
				dst = append(dst, ": "...)
				dst = strconv.AppendInt(dst, resp.ContentLength+resp.lengthDelta, 10)
				dst = append(dst, "\r\n"...)
				continue
			}
		case kindTransferEncoding:
		default:
			if namedIn(resp.ConnectionOptions, f.Name) {
				continue
			}
		}
		dst = appendField(dst, f.Name, f.Value)
	}
	switch {
	case switching:
		dst = append(dst, "Connection: Upgrade\r\n"...)
	case resp.Status < 200:
	case !keep:
		dst = append(dst, "Connection: close\r\n"...)
	case clientMinor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}

func appendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

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
		if equalFoldBytes(o, name) {
			return true
		}
	}
	return false
}

// appendSimpleResponse appends a complete plain-text response that closes
// the connection, for requests the proxy rejects.
func appendSimpleResponse(dst []byte, status int, msg string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(msg)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = append(dst, msg...)
	return append(dst, '\n')
}

func statusText(status int) string {
	switch status {
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
