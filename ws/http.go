package ws

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/gobwas/ws"
)

// LiveReload endpoints on the LiveReload port (protocol v7).
const (
	liveReloadSocketPath = "/livereload"
	liveReloadScriptPath = "/livereload.js"
)

// Errors of the request head, before any WebSocket handling.
var (
	errHeadTooLarge = errors.New("ws: request head too large")
)

// ServeConn serves one connection the proxy hands over for a request whose
// path starts with Prefix: the WebSocket on SocketPath (the tab's session),
// the client script on ScriptPath, 404 for anything else. pending holds the
// bytes already read from conn, from the request line on; it must hold the
// request head or its beginning (the rest is read from conn), and may hold
// more (the first WebSocket frames). ServeConn owns pending until it
// returns and does not retain it after.
//
// ServeConn blocks until the session ends and always closes conn. A request
// that is not a valid WebSocket handshake gets an HTTP error response (400,
// 405, 426 with Sec-WebSocket-Version: 13, 505) and the connection is
// closed. After Close it answers 503.
func (h *Hub) ServeConn(conn net.Conn, pending []byte) {
	h.serve(conn, pending, kindReload)
}

// ServeLiveReload serves one connection on the LiveReload port (protocol
// v7, http://livereload.com/protocols/official-7): the WebSocket on
// /livereload, LiveReloadScript on /livereload.js, 404 for anything else.
// pending and the closing of conn are as for ServeConn.
//
// A LiveReload client must send hello offering official-7 first; the
// server answers hello and from then on sends {"command":"reload"} with
// liveCSS for Reload (path "/") and ReloadCSS (the stylesheet's path).
func (h *Hub) ServeLiveReload(conn net.Conn, pending []byte) {
	h.serve(conn, pending, kindLiveReload)
}

func (h *Hub) serve(conn net.Conn, pending []byte, kind tabKind) {
	if !h.beginHandshake(conn) {
		h.respond(conn, 503, "", textPlain, []byte("reloadproxy is shutting down\n"))
		return
	}
	tabbed := false
	defer func() {
		if !tabbed {
			h.endHandshake(conn)
		}
	}()

	head, rest, err := readHead(conn, pending, h.cfg.headTimeout)
	switch {
	case errors.Is(err, errHeadTooLarge):
		h.respond(conn, 431, "", textPlain, []byte("request head too large\n"))
		return
	case err != nil:
		conn.Close() // EOF or timeout: nobody to answer
		return
	}
	method, path, ok := parseRequestLine(head)
	if !ok {
		h.respond(conn, 400, "", textPlain, []byte("malformed request line\n"))
		return
	}

	socket, script, body := SocketPath, ScriptPath, clientScript
	if kind == kindLiveReload {
		socket, script, body = liveReloadSocketPath, liveReloadScriptPath, liveReloadScript
	}
	switch path {
	case script:
		switch method {
		case "GET":
			h.respond(conn, 200, "", textJavaScript, body)
		case "HEAD":
			h.respond(conn, 200, "", textJavaScript, body[:0:len(body)])
		default:
			h.respond(conn, 405, "Allow: GET, HEAD\r\n", textPlain, []byte("method not allowed\n"))
		}
		return
	case socket:
	default:
		h.respond(conn, 404, "", textPlain, []byte("404 page not found\n"))
		return
	}

	// The handshake sees exactly the head, so that bytes after it (frames
	// a client sent early) stay for the session.
	var resp bytes.Buffer
	_, err = ws.Upgrader{}.Upgrade(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(head), &resp})
	if err != nil {
		h.reject(conn, err)
		return
	}
	t := newTab(conn, kind, &h.cfg)
	tabbed = true
	hello, ok := h.addTab(t)
	if !ok {
		conn.Close()
		h.wg.Done()
		return
	}
	// The response and hello go out before the writer starts (broadcasts
	// since addTab wait in the queue) and before any pong, in one write.
	if err := t.write(append(resp.Bytes(), hello...)); err != nil {
		t.kill()
	}
	go t.writeLoop(&h.wg)

	var r io.Reader = conn
	if len(rest) > 0 {
		r = io.MultiReader(bytes.NewReader(rest), conn)
	}
	h.readLoop(t, r)

	h.removeTab(t)
	t.stop(0)
	<-t.writerDone
	conn.Close()
	h.wg.Done()
}

// reject answers a failed WebSocket handshake with the status gobwas/ws
// chose (RFC 6455 §4.2.1: 400; §4.4: 426 with the versions we speak).
func (h *Hub) reject(conn net.Conn, err error) {
	status := 400
	var rej *ws.ConnectionRejectedError
	if errors.As(err, &rej) && rej.StatusCode() != 0 {
		status = rej.StatusCode()
	}
	extra := ""
	switch status {
	case 426:
		extra = "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"
	case 405:
		extra = "Allow: GET\r\n"
	}
	h.respond(conn, status, extra, textPlain, []byte(err.Error()+"\n"))
}

const (
	textPlain      = "text/plain; charset=utf-8"
	textJavaScript = "text/javascript; charset=utf-8"
)

// respond writes a complete response and closes conn gracefully.
func (h *Hub) respond(conn net.Conn, status int, extra, contentType string, body []byte) {
	conn.SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout))
	writeResponse(conn, status, extra, contentType, body)
	lingerClose(conn, h.cfg.closeTimeout)
}

// writeResponse writes a response with Connection: close. The body written
// is body; Content-Length is cap(body), so a HEAD response passes body[:0].
func writeResponse(w io.Writer, status int, extra, contentType string, body []byte) error {
	b := make([]byte, 0, 256+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, statusText(status)...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(cap(body)), 10)
	b = append(b, "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"...)
	b = append(b, extra...)
	b = append(b, "\r\n"...)
	b = append(b, body...)
	_, err := w.Write(b)
	return err
}

func statusText(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

// lingerClose half-closes conn after a response and discards what the
// client still sends (a body we did not read) until it closes or timeout
// passes, so that the close does not reset the connection before the
// client has read the response.
func lingerClose(conn net.Conn, timeout time.Duration) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		conn.SetReadDeadline(time.Now().Add(timeout))
		io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
	}
	conn.Close()
}

var crlfcrlf = []byte("\r\n\r\n")

// readHead returns the request head (through its blank line) and the bytes
// read after it. It reads from conn, within timeout, what pending lacks.
// The head must end within maxHead bytes.
func readHead(conn net.Conn, pending []byte, timeout time.Duration) (head, rest []byte, err error) {
	if i := bytes.Index(pending, crlfcrlf); i >= 0 {
		if i+4 > maxHead {
			return nil, nil, errHeadTooLarge
		}
		return pending[:i+4], pending[i+4:], nil
	}
	if len(pending) >= maxHead {
		return nil, nil, errHeadTooLarge
	}
	buf := make([]byte, len(pending), max(2*len(pending), 4<<10))
	copy(buf, pending)
	conn.SetReadDeadline(time.Now().Add(timeout))
	defer conn.SetReadDeadline(time.Time{})
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxHead {
				return nil, nil, errHeadTooLarge
			}
			buf = slices.Grow(buf, min(cap(buf), maxHead))
		}
		from := max(len(buf)-3, 0)
		n, rerr := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
			end := from + i + 4
			if end > maxHead {
				return nil, nil, errHeadTooLarge
			}
			return buf[:end], buf[end:], nil
		}
		if rerr != nil {
			return nil, nil, rerr
		}
	}
}

// parseRequestLine returns the method and the path (without query) of the
// request line that starts head. The checks are loose: the WebSocket
// handshake validates the rest, and the proxy already parsed the head
// strictly.
func parseRequestLine(head []byte) (method, path string, ok bool) {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	m, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, version, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(m) == 0 || len(target) == 0 || !bytes.HasPrefix(version, []byte("HTTP/")) {
		return "", "", false
	}
	// Absolute form (RFC 9112 §3.2.2): drop scheme and authority.
	for _, scheme := range []string{"http://", "https://", "ws://", "wss://"} {
		if len(target) > len(scheme) && string(bytes.ToLower(target[:len(scheme)])) == scheme {
			target = target[len(scheme):]
			if i := bytes.IndexByte(target, '/'); i >= 0 {
				target = target[i:]
			} else {
				target = []byte("/")
			}
			break
		}
	}
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return string(m), string(target), true
}
