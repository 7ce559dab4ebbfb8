package proxy

import (
	"io"
	"time"

	"reloadproxy/httpwire/static"
)

// maxSkipBody is the most request body (to a GET or HEAD, which has no use
// for it) read and dropped to keep the connection; past it, the connection
// closes after the response.
const maxSkipBody = 64 << 10

// serveFile answers the current request from the FileServer. It reports
// whether the client connection stays open.
func (c *conn) serveFile() bool {
	req := &c.req
	body, err := c.scanBufferedBody(c.headLen)
	valid := err == nil
	// A GET or HEAD body has no meaning (RFC 9110 §9.3.1): a small one is
	// read and dropped after the response, anything else closes the
	// connection so that its bytes are never read as a request.
	keep := req.KeepAlive && valid &&
		(body.complete || !req.Chunked && !req.Expect100 && req.ContentLength-int64(body.n) <= maxSkipBody) &&
		c.srv.epoch.Load() == c.epoch && c.state.Load() == stateActive
	bodyLeft := req.ContentLength - int64(body.n)

	var tag []byte
	if req.IsNavigation() {
		tag = c.srv.Inject
	}
	resp := c.srv.Files.Answer(c.out[:0], static.Request{Head: req, Tag: tag, Keep: keep})
	defer resp.Close()
	c.out = resp.Head
	keep = resp.Keep
	c.in.consume(c.headLen + body.n) // c.req's slices are stale from here

	ok := !resp.Abort && c.writeClient(c.out)
	if ok && resp.Body != nil {
		ok = c.sendBody(resp.Body, resp.Length)
	}
	switch {
	case !ok:
		return false
	case !keep:
		if !body.complete || c.in.len() > 0 {
			c.lingerClose()
		}
		return false
	case !body.complete:
		return c.skipRequestBody(bodyLeft)
	}
	return true
}

// sendChunk is how much of a static body goes out per write deadline: a
// client must take that much within the write timeout.
const sendChunk = 256 << 10

// sendBody sends what body holds after the head: exactly length bytes
// (length < 0: until its EOF), by sendfile(2) when the client is TCP and
// body is a file section.
func (c *conn) sendBody(body io.Reader, length int64) bool {
	var written int64
	c.limited.R = body
	for {
		c.limited.N = sendChunk
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout()))
		c.writeArmed = lazyDeadline{}
		var n int64
		var err error
		if c.tcp != nil {
			n, err = c.tcp.ReadFrom(&c.limited)
		} else {
			n, err = io.Copy(c.nc, &c.limited)
		}
		written += n
		if err != nil || n < sendChunk {
			c.limited.R = nil
			return err == nil && (length < 0 || written == length)
		}
	}
}

// skipRequestBody reads and drops the rest of a Content-Length body.
func (c *conn) skipRequestBody(left int64) bool {
	c.nc.SetReadDeadline(time.Now().Add(c.srv.bodyTimeout()))
	c.idleArmed = lazyDeadline{}
	for left > 0 {
		if c.in.len() == 0 {
			if n, err := c.in.fill(c.nc); n == 0 && err != nil {
				return false
			}
		}
		k := min(int64(c.in.len()), left)
		c.in.consume(int(k))
		left -= k
	}
	c.nc.SetReadDeadline(time.Time{})
	return true
}

// answerFilesPending answers page (see Server.FilesPending) instead of a
// file. A request with a body closes the connection after it, so that the
// body is never read as a request.
func (c *conn) answerFilesPending(page *ErrorPage) bool {
	nav := c.req.IsNavigation()
	keep := c.req.KeepAlive && !c.req.HasBody()
	c.in.consume(c.headLen)
	if !c.answerPage(page, nav, keep) {
		if c.in.len() > 0 {
			c.lingerClose()
		}
		return false
	}
	return true
}
