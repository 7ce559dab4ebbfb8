package proxy

import (
	"io"
	"net"
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
	in     *readBuf // the client connection's buffer
	src    net.Conn // the client
	srcTCP *net.TCPConn
	dst    net.Conn // the backend: the connection's goroutine may close it, never replace it
	dstTCP *net.TCPConn

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
	b.in, b.src, b.srcTCP = &c.in, c.nc, c.tcp
	b.dst, b.dstTCP = c.up.nc, c.up.tcp
	b.chunked, b.length, b.buffered = c.req.Chunked, c.req.ContentLength, body.n
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
		if left >= spliceMin && b.in.len() == 0 && b.srcTCP != nil && b.dstTCP != nil {
			lr := io.LimitedReader{R: b.srcTCP, N: left}
			n, err := b.dstTCP.ReadFrom(&lr)
			if err == nil && n < left {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
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

// fill reads from the client when the buffer is empty.
func (b *requestBody) fill() error {
	if b.in.len() > 0 {
		return nil
	}
	if _, err := b.in.fill(b.src); err != nil && b.in.len() == 0 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
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
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	err := <-c.body.done
	if !keep {
		c.nc.SetReadDeadline(time.Time{})
	}
	c.body.dst, c.body.dstTCP = nil, nil
	return err
}
