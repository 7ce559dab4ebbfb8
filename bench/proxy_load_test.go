package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// proxyMaxConns is the most connections a scenario opens (wrk's -c).
	proxyMaxConns = 32
	// loadBufSize is each connection's read buffer: a response head must
	// fit; bodies stream through it.
	loadBufSize = 64 << 10
	// loadStallTimeout fails a run when a connection makes no progress
	// for this long (a proxy that hangs rather than answers).
	loadStallTimeout = 30 * time.Second
	// loadDeadlineEvery is how many requests a connection sends between
	// pushing its deadline forward: often enough to catch a stall,
	// rarely enough to cost nothing.
	loadDeadlineEvery = 1024
)

var (
	proxyCRLFCRLF      = []byte("\r\n\r\n")
	loadStatusOK       = []byte("HTTP/1.1 200 ")
	loadContentLength  = []byte("content-length")
	loadTransferCoding = []byte("transfer-encoding")
	loadChunked        = []byte("chunked")

	errLoadLineTooLong = errors.New("load: response line or head longer than the read buffer")
	errLoadBadLength   = errors.New("load: malformed Content-Length")
	errLoadBadChunk    = errors.New("load: malformed chunk")
	errLoadNoFraming   = errors.New("load: response has neither Content-Length nor chunked framing")
)

// loadConn is one keep-alive client connection that sends the same GET
// again and again and reads each response with an allocation-free parser:
// status line, Content-Length or chunked framing, body length. Like wrk,
// it does not pipeline.
type loadConn struct {
	nc      net.Conn
	req     []byte
	wantLen int // expected body length

	buf  []byte
	r, w int // buf[r:w] is read and not yet parsed
}

// loadGen is a wrk-like load generator: conns keep-alive connections to one
// target, each on its own goroutine, sharing the requests to send.
type loadGen struct {
	conns []*loadConn
}

// dialLoad opens conns connections to addr that will GET path and expect
// a 200 with a body of wantLen bytes.
func dialLoad(addr, path string, conns, wantLen int) (*loadGen, error) {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	g := &loadGen{}
	for range conns {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			g.close()
			return nil, err
		}
		g.conns = append(g.conns, &loadConn{nc: nc, req: req, wantLen: wantLen, buf: make([]byte, loadBufSize)})
	}
	return g, nil
}

func (g *loadGen) close() {
	for _, lc := range g.conns {
		lc.nc.Close()
	}
}

// run sends requests on every connection until next says to stop, and
// returns the number of completed requests and the first error.
func (g *loadGen) run(next func() bool) (int64, error) {
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
	)
	for _, lc := range g.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			defer func() { done.Add(n) }()
			for i := 0; !failed.Load() && next(); i++ {
				if i%loadDeadlineEvery == 0 {
					lc.nc.SetDeadline(time.Now().Add(loadStallTimeout))
				}
				if err := lc.roundTrip(); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
				n++
			}
		}()
	}
	wg.Wait()
	return done.Load(), firstErr
}

// runN sends n requests in all, shared by the connections.
func (g *loadGen) runN(n int64) error {
	var issued atomic.Int64
	_, err := g.run(func() bool { return issued.Add(1) <= n })
	return err
}

// runFor sends requests for about d and returns the throughput in
// requests per second.
func (g *loadGen) runFor(d time.Duration) (float64, error) {
	var stop atomic.Bool
	t := time.AfterFunc(d, func() { stop.Store(true) })
	defer t.Stop()
	start := time.Now()
	n, err := g.run(func() bool { return !stop.Load() })
	return float64(n) / time.Since(start).Seconds(), err
}

// roundTrip sends the request and reads one complete response.
func (lc *loadConn) roundTrip() error {
	if _, err := lc.nc.Write(lc.req); err != nil {
		return err
	}
	return lc.readResponse()
}

// fill reads once into the free space after w, first moving unparsed
// bytes to the front when the buffer is full.
func (lc *loadConn) fill() error {
	if lc.r == lc.w {
		lc.r, lc.w = 0, 0
	} else if lc.w == len(lc.buf) {
		if lc.r == 0 {
			return errLoadLineTooLong
		}
		lc.w = copy(lc.buf, lc.buf[lc.r:lc.w])
		lc.r = 0
	}
	n, err := lc.nc.Read(lc.buf[lc.w:])
	lc.w += n
	if n > 0 {
		return nil
	}
	return err
}

// readResponse parses one response and checks its status and body length.
func (lc *loadConn) readResponse() error {
	// Head: everything up to the empty line.
	var end int
	for {
		if i := bytes.Index(lc.buf[lc.r:lc.w], proxyCRLFCRLF); i >= 0 {
			end = lc.r + i + 4
			break
		}
		if err := lc.fill(); err != nil {
			return err
		}
	}
	head := lc.buf[lc.r:end]
	if !bytes.HasPrefix(head, loadStatusOK) {
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return fmt.Errorf("load: status line %q, want 200", line)
	}
	length, chunked := -1, false
	rest := head[bytes.IndexByte(head, '\n')+1:]
	for len(rest) > 2 { // the last line is the empty one
		i := bytes.IndexByte(rest, '\n')
		if i < 1 || rest[i-1] != '\r' {
			return fmt.Errorf("load: head %q has a bare LF", head)
		}
		line := rest[:i-1] // without CRLF
		rest = rest[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return fmt.Errorf("load: header line %q without a colon", line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, loadContentLength):
			n, ok := loadParseDecimal(value)
			if !ok || length >= 0 {
				return errLoadBadLength
			}
			length = n
		case bytes.EqualFold(name, loadTransferCoding):
			chunked = bytes.EqualFold(value, loadChunked)
		}
	}
	lc.r = end

	var got int
	switch {
	case chunked && length < 0:
		n, err := lc.readChunked()
		if err != nil {
			return err
		}
		got = n
	case length >= 0 && !chunked:
		if err := lc.skip(length); err != nil {
			return err
		}
		got = length
	default:
		return errLoadNoFraming
	}
	if got != lc.wantLen {
		return fmt.Errorf("load: body of %d bytes, want %d", got, lc.wantLen)
	}
	return nil
}

// skip consumes n body bytes.
func (lc *loadConn) skip(n int) error {
	for n > 0 {
		if lc.r == lc.w {
			if err := lc.fill(); err != nil {
				return err
			}
		}
		k := min(n, lc.w-lc.r)
		lc.r += k
		n -= k
	}
	return nil
}

// line returns the next line without its CRLF and consumes it. The slice
// is valid until the next read.
func (lc *loadConn) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lc.buf[lc.r:lc.w], '\n'); i >= 0 {
			line := lc.buf[lc.r : lc.r+i]
			lc.r += i + 1
			if len(line) == 0 || line[len(line)-1] != '\r' {
				return nil, errLoadBadChunk
			}
			return line[:len(line)-1], nil
		}
		if err := lc.fill(); err != nil {
			return nil, err
		}
	}
}

// readChunked consumes a chunked body and its trailer section and returns
// the length of the data it carried.
func (lc *loadConn) readChunked() (int, error) {
	total := 0
	for {
		line, err := lc.line()
		if err != nil {
			return 0, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extension
		}
		size, ok := loadParseHex(bytes.TrimSpace(line))
		if !ok {
			return 0, errLoadBadChunk
		}
		if size == 0 {
			break
		}
		if err := lc.skip(size); err != nil {
			return 0, err
		}
		if line, err := lc.line(); err != nil || len(line) != 0 {
			return 0, errLoadBadChunk
		}
		total += size
	}
	for { // trailer section
		line, err := lc.line()
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			return total, nil
		}
	}
}

func loadParseDecimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func loadParseHex(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(d)
	}
	return n, true
}
