package proxy

import (
	"errors"
	"io"
	"runtime"
	"time"

	"reloadproxy/httpwire"
	"reloadproxy/httpwire/htmlinject"
)

const (
	// maxReplayBody is the largest request body kept so that the request
	// can be sent again if the backend dies before answering.
	maxReplayBody = 64 << 10
	// maxAttempts bounds how often one request is sent or dialed.
	maxAttempts = 6
	// maxInterim bounds the 1xx responses relayed before the final one: a
	// backend that sends them without end gets a 502 instead of the
	// proxy's attention forever.
	maxInterim = 100
)

var (
	errNoResponse      = errors.New("proxy: backend closed the connection before answering")
	errUnsolicited     = errors.New("proxy: backend sent 101 to a request that did not ask to upgrade")
	errResponseTimeout = errors.New("proxy: backend did not answer in time")
	errTooManyInterim  = errors.New("proxy: backend sent 1xx responses without end")
)

// proxy sends the request to the backend and its response to the client,
// watching the client meanwhile (see watchClient). It reports whether the
// client connection stays open.
func (c *conn) proxy() bool {
	c.watchClient()
	keep := c.forward()
	c.unwatchClient()
	return keep
}

// forward is proxy without the client watch.
func (c *conn) forward() bool {
	req := &c.req
	isHead := c.isHead
	upgrade := req.Upgrade
	clientMinor := req.Minor
	keepAlive := req.KeepAlive && !upgrade
	idempotent := req.Idempotent()
	nav := req.IsNavigation()
	c.inj.wanted = nav && len(c.srv.Inject) > 0 && !isHead && !upgrade
	if c.inj.wanted {
		c.inj.host = append(c.inj.host[:0], req.Host...)
	}

	// The outgoing head is built now: the request's fields point into
	// c.in, which streaming the body reuses.
	c.fwd.Identity = c.inj.wanted
	c.fwd.ChangedAt = c.srv.changedAt.Load()
	c.out = httpwire.AppendRequestHead(c.out[:0], req, &c.fwd)
	body, err := c.scanBufferedBody(c.headLen)
	if err != nil {
		c.reject(err)
		return false
	}
	c.in.consume(c.headLen)
	if body.complete && body.n <= maxReplayBody {
		// A small body travels with the head and can be sent again.
		c.out = append(c.out, c.in.buffered()[:body.n]...)
		c.in.consume(body.n)
		body.n = 0
	}
	inSync := body.complete && body.n == 0 // the next request starts at c.in
	replayable := idempotent && inSync
	streaming := false

	for attempt := 1; ; attempt++ {
		if c.state.Load() == stateClosing {
			return false // the client left, or the server is closing
		}
		route := c.srv.Backend.Route()
		if route.Page != nil {
			return c.answerPage(route.Page, nav, inSync && !streaming)
		}
		if err := c.up.connect(route); err != nil {
			c.srv.Backend.Failed(route.Generation)
			if attempt < maxAttempts {
				retryPause(attempt)
				continue
			}
			return c.answerPage(unreachablePage(route.Addr, err), nav, inSync && !streaming)
		}
		streamBody := !body.complete || body.n > 0
		if timeout := c.srv.ResponseTimeout; timeout > 0 {
			c.up.nc.SetReadDeadline(time.Now().Add(timeout))
		}
		if err := c.up.send(c.out, !streamBody); err != nil {
			c.up.drop()
			if err == errDirty || replayable && attempt < maxAttempts {
				continue // a kept connection the backend closed: a new one
			}
			return c.answerPage(unreachablePage(route.Addr, err), nav, false)
		}
		if streamBody {
			streaming = true
			c.startRequestBody(body)
		}

		err := c.readResponseHead(clientMinor)
		if err == errNoResponse && replayable && attempt < maxAttempts {
			if c.up.fresh {
				c.srv.Backend.Failed(route.Generation)
			}
			c.up.drop()
			retryPause(attempt)
			continue
		}
		if err != nil {
			c.up.drop()
			if streaming {
				var pe *httpwire.Error
				if berr := c.finishRequestBody(false); errors.As(berr, &pe) {
					// The body was malformed: that is the client's error.
					c.reject(berr)
					return false
				}
			}
			if err == errClientGone {
				return false
			}
			return c.answerPage(c.backendFailurePage(err), nav, false)
		}
		break
	}

	resp := &c.up.resp
	if resp.Status == 101 {
		if !upgrade {
			c.up.drop()
			return c.answerPage(c.backendFailurePage(errUnsolicited), nav, false)
		}
		c.tunnel()
		return false
	}

	framing := resp.BodyFraming(isHead)
	bodyOK := !streaming || c.requestBodyDone()
	keep := keepAlive && bodyOK && framing != httpwire.CloseBody &&
		!(clientMinor == 0 && framing == httpwire.ChunkedBody) &&
		c.srv.epoch.Load() == c.epoch && c.state.Load() == stateActive
	if !c.forwardResponse(framing, keep, clientMinor, nav) {
		c.up.drop()
		if streaming {
			c.finishRequestBody(false)
		}
		return false
	}
	if resp.Close || c.up.in.len() > 0 {
		// Bytes beyond a complete response are never forwarded as a
		// response (RFC 9112 §6.3): that connection is not reused.
		c.up.drop()
	}
	if streaming && c.finishRequestBody(keep) != nil {
		return false
	}
	return keep && c.srv.epoch.Load() == c.epoch
}

// retryPause waits a little before sending a request again, giving a dying
// backend time to be noticed by the supervisor.
func retryPause(attempt int) {
	time.Sleep(time.Duration(1<<(2*attempt)) * time.Millisecond) // 4, 16, 64, 256 ms…
}

// readResponseHead reads the final response head into c.up.resp, relaying
// 1xx interim responses to the client on the way. What send read (or the
// error of that read) comes first.
func (c *conn) readResponseHead(clientMinor int) error {
	u := &c.up
	timeout := c.srv.ResponseTimeout
	if timeout > 0 {
		defer u.nc.SetReadDeadline(time.Time{})
	}
	got := false // any byte of a response received
	interim := 0
	for {
		if u.in.len() > 0 {
			got = true
			n, err := u.resp.Parse(u.in.buffered())
			if err == nil {
				if u.resp.Status >= 200 || u.resp.Status == 101 {
					u.headLen = n
					return nil
				}
				if interim++; interim > maxInterim {
					return errTooManyInterim
				}
				// 1xx interim response (RFC 9110 §15.2): relay it, except
				// to HTTP/1.0 clients, which must not receive one.
				if clientMinor > 0 {
					c.out = httpwire.AppendResponseHead(c.out[:0], &u.resp, httpwire.ResponseRewrite{Keep: true, ClientMinor: clientMinor})
					if !c.writeClient(c.out) {
						return errClientGone
					}
				}
				u.in.consume(n)
				continue
			}
			if err != httpwire.ErrNeedMore {
				return err
			}
		}
		var n int
		var err error
		if u.readErr != nil {
			err, u.readErr = u.readErr, nil
		} else {
			n, err = u.fill()
		}
		if n > 0 {
			continue
		}
		if err != nil {
			if isTimeout(err) && timeout > 0 {
				return errResponseTimeout
			}
			if !got {
				return errNoResponse
			}
			if err == httpwire.ErrHeadTooLarge {
				return err
			}
			return io.ErrUnexpectedEOF
		}
	}
}

// forwardResponse writes the response head and body to the client. It
// reports false when either side failed mid-response.
func (c *conn) forwardResponse(framing httpwire.Framing, keep bool, clientMinor int, nav bool) bool {
	u := &c.up
	if clientMinor == 0 && framing == httpwire.ChunkedBody && u.resp.OtherCodings {
		// Decoding chunked would leave the other codings (gzip) with
		// nothing to say so; an HTTP/1.0 client can take neither.
		c.srv.logf("backend at %s sent Transfer-Encoding %q to an HTTP/1.0 request", u.addr, u.resp.Field("Transfer-Encoding"))
		c.answerPage(&ErrorPage{Status: 502, Title: "Your server sent a transfer coding an HTTP/1.0 client cannot take",
			Detail: "The request was HTTP/1.0, and the response came with Transfer-Encoding: " + string(u.resp.Field("Transfer-Encoding")) + "."}, nav, false)
		return false
	}
	if c.inj.wanted && framing != httpwire.NoBody && htmlinject.Injectable(&u.resp) {
		return c.forwardInjected(framing, keep, clientMinor, nav)
	}
	c.out = httpwire.AppendResponseHead(c.out[:0], &u.resp, httpwire.ResponseRewrite{Keep: keep, ClientMinor: clientMinor})
	u.in.consume(u.headLen)
	switch framing {
	case httpwire.NoBody:
		return c.writeClient(c.out)
	case httpwire.LengthBody:
		n := min(u.resp.ContentLength, int64(u.in.len()))
		c.out = append(c.out, u.in.buffered()[:n]...)
		u.in.consume(int(n))
		if !c.writeClientMore(c.out, n < u.resp.ContentLength) {
			return false
		}
		return c.copyBody(u.resp.ContentLength - n)
	case httpwire.ChunkedBody:
		u.in.enlarge() // a streamed body moves in fewer, larger reads
		if clientMinor == 0 {
			return c.forwardDechunked(nil, nav)
		}
		c.respChunks.Reset()
		for sent := false; ; sent = true {
			n, err := c.respChunks.Scan(u.in.buffered())
			if err != nil {
				return c.malformedBody(err, sent, nav)
			}
			c.out = append(c.out, u.in.buffered()[:n]...)
			u.in.consume(n)
			if !c.writeClientMore(c.out, !c.respChunks.Done()) {
				return false
			}
			c.out = c.out[:0]
			if c.respChunks.Done() {
				return true
			}
			if _, err := c.fillBody(); err != nil && u.in.len() == 0 {
				return false
			}
		}
	case httpwire.CloseBody:
		c.out = append(c.out, u.in.buffered()...)
		u.in.consume(u.in.len())
		if !c.writeClient(c.out) {
			return false
		}
		c.copyBody(-1)
		u.resp.Close = true
		return true
	}
	return true
}

// forwardDechunked forwards a chunked body to an HTTP/1.0 client, which
// must not get Transfer-Encoding (RFC 9112 §6.1): the chunk data goes out
// as a body that the closing connection ends, through html when it is set,
// and the trailer fields are dropped. c.out holds the head, which says no
// Transfer-Encoding. Backends answer an HTTP/1.0 request without chunks
// as a rule; this is for those that do not.
func (c *conn) forwardDechunked(html *htmlinject.Injector, nav bool) bool {
	u := &c.up
	c.respChunks.Reset()
	for sent := false; ; sent = true {
		for u.in.len() > 0 && !c.respChunks.Done() {
			n, kind, err := c.respChunks.ScanSegment(u.in.buffered())
			if err != nil {
				return c.malformedBody(err, sent, nav)
			}
			if kind == httpwire.SegmentData {
				if html != nil {
					c.out = html.Append(c.out, u.in.buffered()[:n])
				} else {
					c.out = append(c.out, u.in.buffered()[:n]...)
				}
			}
			u.in.consume(n)
		}
		if c.respChunks.Done() {
			if html != nil {
				c.out = html.Finish(c.out)
			}
			return c.flushOut()
		}
		if !c.flushOut() {
			return false
		}
		if _, err := u.fill(); err != nil && u.in.len() == 0 {
			return false
		}
	}
}

// malformedBody ends a response whose chunked body the backend framed
// wrongly (it reports false: the connection cannot go on). When nothing of
// the response has reached the client yet, the client gets a 502 page, as
// for a malformed head (RFC 9112 §6.3); once the head went out, closing
// the connection mid-body is the only signal left.
func (c *conn) malformedBody(err error, sent, nav bool) bool {
	if sent {
		c.srv.logf("backend sent a malformed chunked body: %v", err)
		return false
	}
	c.answerPage(c.backendFailurePage(err), nav, false) // which logs it
	return false
}

// copyBody moves n body bytes (n < 0: until EOF) from the backend to the
// client. The bytes pass through the backend connection's buffer, a large
// one once the body is long: each write to the client is then bounded by
// the write timeout on its own, so a stream that keeps moving, however
// slowly or with whatever pauses on the backend's side, is never cut.
func (c *conn) copyBody(n int64) bool {
	u := &c.up
	if n == 0 {
		return true
	}
	if n < 0 || n > int64(len(u.in.b)) {
		u.in.enlarge()
	}
	for n != 0 {
		m, err := c.fillBody()
		if m > 0 {
			k := u.in.len()
			if n > 0 && int64(k) > n {
				k = int(n)
			}
			if !c.writeClientMore(u.in.buffered()[:k], n < 0 || int64(k) < n) {
				return false
			}
			u.in.consume(k)
			if n > 0 {
				n -= int64(k)
			}
			continue
		}
		if err != nil {
			return n < 0 && err == io.EOF
		}
	}
	return true
}

// fillBody is u.fill for a body being forwarded. When the last piece went
// to the client with MSG_MORE (writeClientMore) and the backend has
// nothing more yet, it yields once, so that the other connections' work
// runs first and the backend has a moment to write its next piece, and
// reads again; if still nothing came, it pushes the held piece out before
// it waits. A piece is never held back across a wait: an event of a
// stream arrives when it would without the proxy.
func (c *conn) fillBody() (int, error) {
	u := &c.up
	if !c.held {
		return u.fill()
	}
	if u.raw == nil { // a plain read, which may wait
		c.pushHeld()
		return u.fill()
	}
	c.yielded = false
	n, err := u.fillWith(c.readOrPushFn)
	if err != nil {
		c.pushHeld()
	}
	return n, err
}

// readOrPush is fillBody's RawConn.Read callback.
func (c *conn) readOrPush(fd uintptr) bool {
	u := &c.up
	if u.in.readFrom(fd, &u.readErr) {
		return true
	}
	if !c.yielded {
		c.yielded = true
		runtime.Gosched()
		if u.in.readFrom(fd, &u.readErr) {
			return true
		}
	}
	c.pushHeld()
	return false // wait until the backend is readable
}
