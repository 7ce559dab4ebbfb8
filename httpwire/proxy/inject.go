package proxy

import (
	"io"

	"reloadproxy/httpwire"
	"reloadproxy/httpwire/htmlinject"
)

// forwardInjected forwards an HTML response with the reload tag inserted:
// Content-Length grows by exactly the tag's length, a chunked body is
// re-framed chunk by chunk, a close-delimited one streams until EOF.
func (c *conn) forwardInjected(framing httpwire.Framing, keep bool, clientMinor int, nav bool) bool {
	u := &c.up
	inj := &c.inj
	inj.tag, inj.csp = c.srv.Inject, inj.csp[:0]
	if u.resp.Field("Content-Security-Policy") != nil {
		inj.csp, inj.tag = htmlinject.AmendCSP(inj.csp, &u.resp, inj.tag, inj.host, c.srv.ScriptPath, c.srv.SocketPath)
	}
	c.out = httpwire.AppendResponseHead(c.out[:0], &u.resp, httpwire.ResponseRewrite{
		Keep: keep, ClientMinor: clientMinor, LengthDelta: int64(len(inj.tag)), CSP: inj.csp, Altered: true,
	})
	clear(inj.csp) // drop the references to this page's policies
	u.in.consume(u.headLen)
	switch framing {
	case httpwire.LengthBody:
		inj.html.Reset(inj.tag)
		left := u.resp.ContentLength
		for {
			k := min(int64(u.in.len()), left)
			if k > 0 {
				c.out = inj.html.Append(c.out, u.in.buffered()[:k])
				u.in.consume(int(k))
				left -= k
			}
			if left == 0 {
				c.out = inj.html.Finish(c.out)
				return c.flushOut()
			}
			if !c.flushOut() {
				return false
			}
			if _, err := u.fill(); err != nil && u.in.len() == 0 {
				return false
			}
		}
	case httpwire.ChunkedBody:
		if clientMinor == 0 {
			inj.html.Reset(inj.tag)
			return c.forwardDechunked(&inj.html, nav)
		}
		inj.chunked.Reset(inj.tag)
		for sent := false; ; sent = true {
			var n int
			var err error
			c.out, n, err = inj.chunked.Append(c.out, u.in.buffered())
			u.in.consume(n)
			if err != nil {
				return c.malformedBody(err, sent, nav)
			}
			if !c.flushOut() {
				return false
			}
			if inj.chunked.Done() {
				return true
			}
			if _, err := u.fill(); err != nil && u.in.len() == 0 {
				return false
			}
		}
	case httpwire.CloseBody:
		inj.html.Reset(inj.tag)
		for {
			if u.in.len() > 0 {
				c.out = inj.html.Append(c.out, u.in.buffered())
				u.in.consume(u.in.len())
			}
			if !c.flushOut() {
				return false
			}
			if _, err := u.fill(); err != nil && u.in.len() == 0 {
				c.out = inj.html.Finish(c.out)
				u.resp.Close = true
				return c.flushOut() && err == io.EOF
			}
		}
	}
	return false
}

// flushOut writes c.out to the client and empties it.
func (c *conn) flushOut() bool {
	ok := c.writeClient(c.out)
	c.out = c.out[:0]
	return ok
}
