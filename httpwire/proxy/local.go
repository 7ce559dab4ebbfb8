package proxy

import (
	"crypto/sha1"
	"encoding/base64"
	"html"
	"net"
	"strconv"
	"strings"

	"reloadproxy/httpwire"
)

// Endpoint is one of the proxy's own resources, at an exact path under
// Server.LocalPrefix: a file served for GET and HEAD, or a WebSocket.
type Endpoint struct {
	// ContentType and Body are the file's.
	ContentType string
	Body        []byte

	// WebSocket, when set, makes the endpoint a WebSocket (RFC 6455). The
	// proxy checks the opening handshake (§4.2.1), answers a bad one with
	// its status (400, 405, 426, 505), writes the 101 for a good one and
	// hands the connection over: WebSocket owns conn from then on and
	// must close it. buffered holds what the client sent after the head
	// (early frames); it is valid until WebSocket returns, and the
	// connection's goroutine runs WebSocket, so it may block for the
	// whole session.
	WebSocket func(conn net.Conn, buffered []byte)
	// ExtensionOrigins lets browser extensions (chrome-extension://,
	// moz-extension://, safari-web-extension://) open the WebSocket, as
	// the LiveReload extension does. Pages must always come from an
	// allowed host (Server.Hosts), or send no Origin (not a browser).
	ExtensionOrigins bool
}

// Bodies of the proxy's own error answers.
var (
	notFound         = []byte("404 page not found\n")
	methodNotAllowed = []byte("405 method not allowed\n")
	rootPath         = []byte("/")
)

// serveLocal answers a request for the proxy's own endpoints.
func (c *conn) serveLocal() bool {
	req := &c.req
	keep := req.KeepAlive && !req.HasBody() // a body is not read: close after
	ep, ok := c.srv.Local[string(originPath(req.Target))]
	switch {
	case !ok:
		return c.answerLocal(404, notFound, keep)
	case ep.WebSocket != nil:
		return c.acceptWebSocket(ep)
	case !c.isHead && string(req.Method) != "GET":
		return c.answerLocalWith(405, "Allow: GET, HEAD\r\n", "text/plain; charset=utf-8", methodNotAllowed, keep)
	}
	return c.answerLocalWith(200, "", ep.ContentType, ep.Body, keep)
}

// answerLocal answers with a plain-text body.
func (c *conn) answerLocal(status int, body []byte, keep bool) bool {
	return c.answerLocalWith(status, "", "text/plain; charset=utf-8", body, keep)
}

// answerLocalWith answers the current request with status, the extra
// field lines, and a body of contentType; keep says whether the
// connection stays open after it.
func (c *conn) answerLocalWith(status int, extra, contentType string, body []byte, keep bool) bool {
	minor := c.req.Minor
	c.in.consume(c.headLen)
	c.out = httpwire.AppendStatusLine(c.out[:0], status)
	c.out = append(c.out, extra...)
	c.out = append(c.out, "Content-Type: "...)
	c.out = append(c.out, contentType...)
	c.out = append(c.out, "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nContent-Length: "...)
	c.out = strconv.AppendInt(c.out, int64(len(body)), 10)
	c.out = append(c.out, "\r\n"...)
	c.out = httpwire.AppendHeadEnd(c.out, keep, minor)
	if !c.isHead {
		c.out = append(c.out, body...)
	}
	if !c.writeClient(c.out) {
		return false
	}
	if !keep && c.in.len() > 0 {
		c.lingerClose()
	}
	return keep
}

// webSocketGUID is the key suffix of RFC 6455 §1.3.
const webSocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptWebSocket checks the opening handshake of the current request
// (RFC 6455 §4.2.1), answers 101 and hands the connection to serve. It
// reports whether the connection stays with this goroutine (never: it is
// handed over, or closed after an error).
func (c *conn) acceptWebSocket(ep Endpoint) bool {
	req := &c.req
	fail := func(status int, extra, msg string) bool {
		c.answerLocalWith(status, extra, "text/plain; charset=utf-8", []byte(msg+"\n"), false)
		return false
	}
	// A page on another site may open a WebSocket to any address: its
	// Origin says whose it is (RFC 6455 §10.2). No Origin: not a browser.
	if origin, n := originField(req); n > 1 {
		return fail(403, "", "this socket is for reloadproxy's own pages; a request with more than one Origin is not allowed")
	} else if n == 1 && !c.srv.Hosts.originAllowed(origin, req.EffectiveHost(), ep.ExtensionOrigins) {
		return fail(403, "", "this socket is for reloadproxy's own pages; Origin "+string(origin)+" is not allowed")
	}
	switch {
	case string(req.Method) != "GET":
		return fail(405, "Allow: GET\r\n", "a WebSocket handshake is a GET request")
	case req.Minor != 1:
		return fail(505, "", "a WebSocket handshake needs HTTP/1.1")
	case !req.Upgrade || !hasToken(req.Field("Upgrade"), "websocket"):
		return fail(400, "", "not a WebSocket handshake: missing Upgrade: websocket and Connection: upgrade")
	case req.HasBody():
		return fail(400, "", "a WebSocket handshake has no body")
	}
	version := req.Field("Sec-WebSocket-Version")
	switch {
	case version == nil:
		return fail(400, "", "missing Sec-WebSocket-Version")
	case string(version) != "13":
		// §4.4: say which versions we speak.
		return fail(426, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n", "unsupported WebSocket version")
	}
	key := req.Field("Sec-WebSocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(string(key)); err != nil || len(raw) != 16 {
		return fail(400, "", "Sec-WebSocket-Key is not 16 bytes in base64")
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(webSocketGUID))
	var sum [sha1.Size]byte
	c.out = append(c.out[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	c.out = base64.StdEncoding.AppendEncode(c.out, h.Sum(sum[:0]))
	c.out = append(c.out, "\r\n\r\n"...)
	c.in.consume(c.headLen)
	if !c.writeClient(c.out) {
		return false
	}
	c.handedOff = true
	ep.WebSocket(c.nc, c.in.buffered())
	return false
}

// hasToken reports whether the comma-separated list v holds tok
// (case-insensitive).
func hasToken(v []byte, tok string) bool {
	found := false
	httpwire.ForEachToken(v, func(t []byte) {
		if httpwire.EqualFold(t, tok) {
			found = true
		}
	})
	return found
}

// refuseHost answers 403 to a request for a host the allow-list refuses,
// naming the flag that would allow it, and closes the connection.
func (c *conn) refuseHost(host []byte) bool {
	// Host names are case-insensitive: one log line per name, however
	// it is spelled.
	name := strings.ToLower(string(hostName(host)))
	flag, what := "--allowed-host "+name, "this request was for "+strconv.Quote(name)
	if !IsHostName(name) {
		// --allowed-host takes DNS names only: for no name, or another
		// kind (a reg-name may hold '%' and sub-delims), the check must
		// be turned off.
		flag = "--allowed-host " + AllowAll
		if name == "" {
			what = "this request had no host name"
		}
	}
	if c.srv.Hosts.firstRefusal(name) {
		if name == "" {
			c.srv.logf("refused requests without a host name; to allow them: %s", flag)
		} else {
			c.srv.logf("refused requests for host %q (a name other than localhost or an IP address could be DNS rebinding); to allow it: %s", name, flag)
		}
	}
	msg := "reloadproxy answers only requests for localhost, IP addresses and the names it is given; " +
		what + ". To allow it, start reloadproxy with " + flag + "."
	if !c.req.IsNavigation() {
		return c.answerLocalWith(403, "", "text/plain; charset=utf-8", []byte("403 forbidden: "+msg+"\n"), false)
	}
	page := "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>403 · host not allowed</title></head>\n" +
		"<body style=\"font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:3rem auto;padding:0 1.5rem\">" +
		"<h1 style=\"font-size:1.4rem\">403 Forbidden: host not allowed</h1>\n<p>" + html.EscapeString(msg) + "</p>\n" +
		"<p>This protects your app from other web sites that point a name of theirs at your machine (DNS rebinding).</p></body></html>\n"
	return c.answerLocalWith(403, "", "text/html; charset=utf-8", []byte(page), false)
}

// originField returns the request's Origin and how many Origin fields it
// has: a browser sends one (RFC 6454 §7), and with two, which one a check
// saw would decide who gets in.
func originField(req *httpwire.RequestHead) (origin []byte, n int) {
	for _, f := range req.Fields {
		if httpwire.EqualFold(f.Name, "Origin") {
			if n == 0 {
				origin = f.Value
			}
			n++
		}
	}
	return origin, n
}
