package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"reloadproxy/httpwire"
)

// tunnel relays bytes both ways after a 101 response until both directions
// end, passing on each side's end of input as a half-close.
func (c *conn) tunnel() {
	u := &c.up
	// A tunnel has no time bounds (a WebSocket may be quiet for hours),
	// and its half-closes are not a client leaving.
	c.unwatchClient()
	c.nc.SetDeadline(time.Time{})
	c.out = httpwire.AppendResponseHead(c.out[:0], &u.resp, httpwire.ResponseRewrite{Keep: true, ClientMinor: 1})
	u.in.consume(u.headLen)
	c.out = append(c.out, u.in.buffered()...)
	u.in.consume(u.in.len())
	if !c.writeClient(c.out) {
		return
	}
	if c.in.len() > 0 {
		if _, err := u.nc.Write(c.in.buffered()); err != nil {
			return
		}
		c.in.consume(c.in.len())
	}
	c.releaseBuffers()
	done := make(chan struct{})
	go func() {
		pipe(u.nc, c.nc)
		close(done)
	}()
	pipe(c.nc, u.nc)
	<-done
}

// pipe copies src to dst until src ends, then half-closes dst. An error
// other than the end of input tears both down.
func pipe(dst, src net.Conn) {
	var err error
	if d, ok := dst.(*net.TCPConn); ok {
		_, err = d.ReadFrom(src) // splice(2) when src is TCP too
	} else {
		_, err = io.Copy(dst, src)
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		dst.Close()
	}
}
