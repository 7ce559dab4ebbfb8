package proxy

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"reloadproxy/httpwire"
)

// requestBody copies the rest of a request body to the backend on its own
// goroutine, so that the response (or a 100 Continue) can be read at the
// same time: neither side waits for the other. While the copy runs, the
// copier owns the fields of this struct and the client's read side (c.in
// and reads from c.nc); the connection's goroutine takes them back in
// finishRequestBody.
type requestBody struct {
	in      *readBuf // the client connection's buffer
	src     net.Conn // the client
	dst     net.Conn // the backend: the connection's goroutine may close it, never replace it
	timeout time.Duration
	// cancelled is set by the connection's goroutine when it no longer
	// wants the rest of the body; the copier then stops at its next read.
	cancelled atomic.Bool

	chunked  bool
	length   int64                   // Content-Length of a body that is not chunked
	buffered int                     // body bytes at the start of in, already validated
	chunks   httpwire.ChunkedScanner // a chunked body's scanner, positioned after them

	done chan error // the copy's result, once
}

// startRequestBody starts copying the request body to the backend; body
// says what of it is already in c.in.
func (c *conn) startRequestBody(body bufferedBody) {
	b := &c.body
	b.in, b.src, b.dst, b.timeout = &c.in, c.nc, c.up.nc, c.srv.bodyTimeout()
	b.chunked, b.length, b.buffered = c.req.Chunked, c.req.ContentLength, body.n
	b.cancelled.Store(false)
	go b.run()
}

func (b *requestBody) run() {
	err := b.copy()
	if err != nil {
		// The backend will wait for the rest of a body that is not
		// coming: wake the response read, which gives up on this backend
		// connection.
		b.dst.SetReadDeadline(aLongTimeAgo)
	}
	b.done <- err
}

func (b *requestBody) copy() error {
	if b.buffered > 0 {
		if _, err := b.dst.Write(b.in.buffered()[:b.buffered]); err != nil {
			return err
		}
		b.in.consume(b.buffered)
	}
	if !b.chunked {
		left := b.length - int64(b.buffered)
		for left > 0 {
			if err := b.fill(); err != nil {
				return err
			}
			k := min(int64(b.in.len()), left)
			if _, err := b.dst.Write(b.in.buffered()[:k]); err != nil {
				return err
			}
			b.in.consume(int(k))
			left -= k
		}
		return nil
	}
	for !b.chunks.Done() {
		if err := b.fill(); err != nil {
			return err
		}
		n, err := b.chunks.Scan(b.in.buffered())
		if n > 0 {
			if _, werr := b.dst.Write(b.in.buffered()[:n]); werr != nil {
				return werr
			}
			b.in.consume(n)
		}
		if err != nil {
			// The backend has a truncated body; it cannot be finished.
			return err
		}
	}
	return nil
}

// errBodyTimeout answers a request body that stopped coming.
var errBodyTimeout = &httpwire.Error{Status: 408, Reason: "request body not received in time"}

// errBodyCancelled ends a copy the connection no longer wants.
var errBodyCancelled = errors.New("proxy: request body no longer wanted")

// fill reads from the client when the buffer is empty: each read must
// bring bytes within the body timeout.
func (b *requestBody) fill() error {
	if b.in.len() > 0 {
		return nil
	}
	// Arm, then look at cancelled: finishRequestBody sets cancelled before
	// it expires the deadline, so either this sees it, or that expiry
	// comes after this arming and wakes the read.
	b.src.SetReadDeadline(time.Now().Add(b.timeout))
	if b.cancelled.Load() {
		return errBodyCancelled
	}
	if _, err := b.in.fill(b.src); err != nil && b.in.len() == 0 {
		switch {
		case b.cancelled.Load():
			return errBodyCancelled
		case isTimeout(err):
			return errBodyTimeout
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// requestBodyDone reports, without waiting, whether the body copy ended
// well; it leaves the result for finishRequestBody.
func (c *conn) requestBodyDone() bool {
	select {
	case err := <-c.body.done:
		c.body.done <- err
		return err == nil
	default:
		return false
	}
}

// finishRequestBody waits for the body copy and returns its error. If the
// connection is not kept, it first unblocks a copy still waiting for the
// client by expiring the client's read deadline.
func (c *conn) finishRequestBody(keep bool) error {
	if !keep {
		c.body.cancelled.Store(true)
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	err := <-c.body.done
	c.body.dst = nil
	c.idleArmed = lazyDeadline{} // the copy moved the read deadline
	return err
}
