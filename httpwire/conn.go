package httpwire

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// maxReplayBody is the largest request body kept so that the request
	// can be sent again if the backend dies before answering.
	maxReplayBody = 64 << 10
	// maxAttempts bounds how often one request is sent or dialed.
	maxAttempts = 6
	// spliceMin is the body size from which bodies are moved by splice(2)
	// rather than through our buffer.
	spliceMin = 32 << 10
	// dialTimeout bounds a connect to the backend; on loopback a connect
	// either succeeds or is refused at once.
	dialTimeout = 5 * time.Second
)

var (
	errTooManyFiles = syscall.EMFILE
	aLongTimeAgo    = time.Unix(1, 0)
	errClientGone   = errors.New("httpwire: client went away")
	errNoResponse   = errors.New("httpwire: backend closed the connection before answering")
	errUnsolicited  = errors.New("httpwire: backend sent 101 to a request that did not ask to upgrade")
)

// Connection states, for closing idle connections from another goroutine.
const (
	stateActive int32 = iota
	stateIdle         // kept alive, waiting for the next request, holding no buffer
	stateNew          // waiting for its first request, holding no buffer
	stateClosing
)

// conn is one client connection and the backend connection paired with it.
// Everything but state, beMu and be's deadlines belongs to the goroutine
// running serve.
type conn struct {
	srv       *Server
	nc        net.Conn
	tcp       *net.TCPConn    // nc as TCP, or nil
	raw       syscall.RawConn // for waiting without a buffer; nil if not TCP
	state     atomic.Int32
	served    bool // a request was read: waiting for another is kept-alive idleness
	handedOff bool // LocalUpgrade owns nc

	readFirst func(fd uintptr) bool // bound once: a method value allocates
	peek      [1]byte

	in      readBuf
	req     RequestHead
	headLen int
	isHead  bool // the request's method is HEAD (kept: c.req's slices go stale)
	epoch   uint64

	beMu    sync.Mutex // guards be against abort from another goroutine
	be      net.Conn
	beTCP   *net.TCPConn
	beRaw   syscall.RawConn
	beGen   uint64
	beAddr  string
	beFresh bool // dialed for the current request
	bin     readBuf
	resp    ResponseHead
	respLen int // length of the head of c.resp in c.bin
	probeBe func(fd uintptr)
	beDirty bool // result of probeBe: bytes or EOF waiting on an idle backend connection

	outp *[]byte
	out  []byte

	forwardedFor []byte // for="..." element of Forwarded
	clientIP     []byte // X-Forwarded-For element
	loopback     bool

	// The request body and the response body may be framed at the same
	// time (a full-duplex upload), so each has its own scanner.
	reqChunks   ChunkedScanner // the body copier's while it runs
	respChunks  ChunkedScanner
	inject      bool // the response to this request gets the reload tag if it is HTML
	injector    Injector
	host        []byte             // copy of the request's Host, for the CSP of an injected page
	cspValues   [][]byte           // rewritten Content-Security-Policy values, in field order
	emitRaw     func([]byte) error // append to c.out (bound once)
	emitScratch func([]byte) error // append to c.scratch (bound once)
	scratch     []byte             // injector output for one chunk
	limited     io.LimitedReader
	bodyDone    chan error
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, bodyDone: make(chan error, 1)}
	if tcp, ok := nc.(*net.TCPConn); ok {
		c.tcp = tcp
		if raw, err := tcp.SyscallConn(); err == nil {
			c.raw = raw
			c.readFirst = c.readWhenReadable
		}
	}
	c.probeBe = c.probeBackend
	c.emitRaw = c.appendOut
	c.emitScratch = c.appendScratch
	c.setClientAddr(nc.RemoteAddr())
	return c
}

// setClientAddr renders the client's address once for the forwarding
// fields: for="192.0.2.1:5000" or for="[2001:db8::1]:5000" (RFC 7239 §6:
// quoted, since ':' and '[' are not token characters).
func (c *conn) setClientAddr(a net.Addr) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		c.forwardedFor = []byte(`for=unknown`)
		c.clientIP = []byte("unknown")
		c.loopback = true // a pipe or unix socket is local
		return
	}
	ip := ta.IP.String()
	if ip4 := ta.IP.To4(); ip4 != nil {
		ip = ip4.String()
	}
	c.clientIP = []byte(ip)
	host := ip
	if ta.IP.To4() == nil {
		host = "[" + ip + "]"
	}
	c.forwardedFor = []byte(`for="` + host + ":" + strconv.Itoa(ta.Port) + `"`)
	c.loopback = ta.IP.IsLoopback()
}

func (c *conn) serve() {
	defer c.srv.forget(c)
	defer c.shutdown()
	for {
		if !c.awaitRequest() {
			return
		}
		if err := c.readRequestHead(); err != nil {
			c.reject(err)
			return
		}
		if !c.handle() {
			return
		}
	}
}

// shutdown closes both connections and returns the buffers.
func (c *conn) shutdown() {
	if !c.handedOff {
		c.nc.Close()
	}
	c.dropBackend()
	c.in.r, c.in.w = 0, 0
	c.releaseBuffers()
}

func (c *conn) releaseBuffers() {
	c.in.release()
	if c.bin.len() == 0 {
		c.bin.release()
	}
	if c.outp != nil {
		if cap(c.out) <= maxReplayBody+smallBufSize {
			*c.outp = c.out[:0]
			outBufs.Put(c.outp)
		}
		c.outp, c.out = nil, nil
	}
}

func (c *conn) getOut() {
	if c.outp == nil {
		c.outp = outBufs.Get().(*[]byte)
		c.out = (*c.outp)[:0]
	}
}

// awaitRequest waits until the next request's first byte is readable. An
// idle connection gives its buffers back and parks in the runtime poller,
// so a browser's preconnect costs one goroutine and nothing else.
func (c *conn) awaitRequest() bool {
	if c.in.len() > 0 { // pipelined
		return c.state.Load() == stateActive
	}
	if c.raw != nil {
		c.releaseBuffers()
		// A connection that has not sent a request yet is not "idle" for
		// CloseIdle: its client would not retry a request on it.
		waiting := stateIdle
		if !c.served {
			waiting = stateNew
		}
		if !c.state.CompareAndSwap(stateActive, waiting) {
			return false
		}
		err := c.raw.Read(c.readFirst)
		if !c.state.CompareAndSwap(waiting, stateActive) || err != nil || c.in.len() == 0 {
			return false // closed, or the client went away
		}
		c.served = true
		c.getOut()
		return true
	}
	c.served = true
	c.in.get()
	c.getOut()
	return true
}

// readWhenReadable is the RawConn.Read callback of an idle connection: it
// takes a buffer only once bytes have arrived, and reads them into it, so
// that waiting costs no buffer and arriving costs no extra system call.
func (c *conn) readWhenReadable(fd uintptr) bool {
	c.in.get()
	for {
		n, err := syscall.Read(int(fd), c.in.b[c.in.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.in.release()
			return false // park in the poller until readable
		case n > 0:
			c.in.w += n
		}
		return true // data, or EOF or an error: c.in stays empty
	}
}

// closeIfIdle is called by Server.CloseIdle from another goroutine.
func (c *conn) closeIfIdle() {
	if c.state.CompareAndSwap(stateIdle, stateClosing) {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// abort is called by Server.Close from another goroutine.
func (c *conn) abort() {
	c.state.Store(stateClosing)
	c.nc.SetDeadline(aLongTimeAgo)
	c.beMu.Lock()
	if c.be != nil {
		c.be.SetDeadline(aLongTimeAgo)
	}
	c.beMu.Unlock()
}

// readRequestHead reads until c.req holds a complete, valid head.
func (c *conn) readRequestHead() error {
	timed := false
	for {
		if c.in.len() > 0 {
			n, err := c.req.Parse(c.in.buffered())
			if err == nil {
				c.headLen = n
				if timed {
					c.nc.SetReadDeadline(time.Time{})
				}
				return nil
			}
			if err != ErrNeedMore {
				return err
			}
		}
		if !timed {
			c.nc.SetReadDeadline(time.Now().Add(c.srv.headTimeout()))
			timed = true
		}
		n, err := c.in.fill(c.nc)
		if err != nil {
			if n > 0 {
				continue // parse what came with the error first
			}
			if c.in.len() > 0 && isTimeout(err) {
				return errHeadTimeout
			}
			if err == ErrHeadTooLarge {
				return err
			}
			return errClientGone
		}
	}
}

var errHeadTimeout = &Error{408, "request head not received in time"}

// reject answers a request that cannot be served and ends the connection:
// nothing of it reaches the backend.
func (c *conn) reject(err error) {
	var pe *Error
	if !errors.As(err, &pe) {
		return
	}
	c.getOut()
	c.out = appendSimpleResponse(c.out[:0], pe.Status, pe.Reason)
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.nc.Write(c.out)
	c.lingerClose()
}

// lingerClose half-closes the connection and drains what the client is
// still sending for a moment, so that closing with unread input does not
// send a reset that could destroy the response.
func (c *conn) lingerClose() {
	if c.tcp == nil {
		return
	}
	c.tcp.CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	c.in.r, c.in.w = 0, 0
	for i := 0; i < 16; i++ {
		if _, err := c.in.fill(c.nc); err != nil {
			break
		}
		c.in.r, c.in.w = 0, 0
	}
}

func (c *conn) handle() bool {
	c.epoch = c.srv.epoch.Load()
	c.isHead = c.req.IsHead()
	if p := c.srv.LocalPrefix; p != "" && hasPathPrefix(c.req.Target, p) {
		return c.serveLocal()
	}
	if c.srv.Files != nil {
		return c.serveFile()
	}
	return c.proxy()
}

// bodyState is what is known of the request body once the head is read.
type bodyState struct {
	buffered int  // body bytes already in c.in
	complete bool // the whole body is in c.in
}

// scanBufferedBody looks at what of the body is already in the buffer.
func (c *conn) scanBufferedBody() (bodyState, error) {
	req := &c.req
	avail := c.in.buffered()
	switch {
	case req.Chunked:
		c.reqChunks.Reset()
		n, err := c.reqChunks.Scan(avail)
		if err != nil {
			return bodyState{}, err
		}
		return bodyState{buffered: n, complete: c.reqChunks.Done()}, nil
	case req.ContentLength > 0:
		if int64(len(avail)) >= req.ContentLength {
			return bodyState{buffered: int(req.ContentLength), complete: true}, nil
		}
		return bodyState{buffered: len(avail)}, nil
	}
	return bodyState{complete: true}, nil
}

// proxy sends the request to the backend and its response to the client.
// It reports whether the client connection stays open.
func (c *conn) proxy() bool {
	req := &c.req
	isHead := c.isHead
	upgrade := req.Upgrade
	clientMinor := req.Minor
	keepAlive := req.KeepAlive && !upgrade
	idempotent := req.Idempotent()
	wantsHTML := wantsHTML(req)
	c.inject = wantsHTML && len(c.srv.Inject) > 0 && !isHead && !upgrade
	if c.inject {
		c.host = append(c.host[:0], req.Host...)
	}

	// The outgoing head is built now: the request's fields point into
	// c.in, which streaming the body reuses.
	c.out = c.appendRequestHead(c.out[:0])
	c.in.consume(c.headLen)
	body, err := c.scanBufferedBody()
	if err != nil {
		c.reject(err)
		return false
	}
	if body.complete && body.buffered <= maxReplayBody {
		// A small body travels with the head and can be sent again.
		c.out = append(c.out, c.in.buffered()[:body.buffered]...)
		c.in.consume(body.buffered)
		body.buffered = 0
	}
	inSync := body.complete && body.buffered == 0 // the next request starts at c.in
	replayable := idempotent && inSync
	streaming := false

	for attempt := 1; ; attempt++ {
		route := c.srv.Backend.Route()
		if route.Page != nil {
			return c.answerPage(route.Page, wantsHTML, inSync && !streaming)
		}
		if err := c.connectBackend(route); err != nil {
			c.srv.Backend.Failed(route.Generation)
			if attempt < maxAttempts {
				retryPause(attempt)
				continue
			}
			return c.answerPage(unreachablePage(route.Addr, err), wantsHTML, inSync && !streaming)
		}
		if _, err := c.be.Write(c.out); err != nil {
			c.dropBackend()
			if replayable && attempt < maxAttempts {
				continue
			}
			return c.answerPage(unreachablePage(route.Addr, err), wantsHTML, false)
		}
		if !body.complete || body.buffered > 0 {
			streaming = true
			go c.streamRequestBody(body, c.be, c.beTCP)
		}

		err := c.readResponseHead(clientMinor)
		if err == errNoResponse && replayable && attempt < maxAttempts {
			if c.beFresh {
				c.srv.Backend.Failed(route.Generation)
			}
			c.dropBackend()
			retryPause(attempt)
			continue
		}
		if err != nil {
			c.dropBackend()
			if streaming {
				var pe *Error
				if berr := c.finishRequestBody(false); errors.As(berr, &pe) {
					// The body was malformed: that is the client's error.
					c.reject(berr)
					return false
				}
			}
			if err == errClientGone {
				return false
			}
			return c.answerPage(c.backendFailurePage(err), wantsHTML, false)
		}
		break
	}

	if c.resp.Status == 101 {
		if !upgrade {
			c.dropBackend()
			return c.answerPage(c.backendFailurePage(errUnsolicited), wantsHTML, false)
		}
		c.tunnel()
		return false
	}

	framing := c.resp.BodyFraming(isHead)
	bodyOK := !streaming || c.requestBodyDone()
	keep := keepAlive && bodyOK && framing != CloseBody &&
		!(clientMinor == 0 && framing == ChunkedBody) &&
		c.srv.epoch.Load() == c.epoch && c.state.Load() == stateActive
	if !c.forwardResponse(framing, keep, clientMinor) {
		c.dropBackend()
		if streaming {
			c.finishRequestBody(false)
		}
		return false
	}
	if c.resp.Close || c.bin.len() > 0 {
		// Bytes beyond a complete response are never forwarded as a
		// response (RFC 9112 §6.3): that connection is not reused.
		c.dropBackend()
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

// connectBackend makes sure c.be is a usable connection to route.
func (c *conn) connectBackend(route Route) error {
	if c.be != nil {
		if c.beGen == route.Generation && c.beAddr == route.Addr && c.backendClean() {
			c.beFresh = false
			c.bin.get()
			return nil
		}
		c.dropBackend()
	}
	be, err := net.DialTimeout("tcp", route.Addr, dialTimeout)
	if err != nil {
		return err
	}
	c.beMu.Lock()
	c.be, c.beGen, c.beAddr, c.beFresh = be, route.Generation, route.Addr, true
	c.beTCP, c.beRaw = nil, nil
	if tcp, ok := be.(*net.TCPConn); ok {
		c.beTCP = tcp
		c.beRaw, _ = tcp.SyscallConn()
	}
	aborted := c.state.Load() == stateClosing
	c.beMu.Unlock()
	if aborted {
		be.SetDeadline(aLongTimeAgo)
	}
	c.bin.get()
	return nil
}

// backendClean reports whether the idle backend connection has nothing
// waiting: bytes sent before a request are never read as its response, and
// a keep-alive connection the backend closed is not used.
func (c *conn) backendClean() bool {
	if c.bin.len() > 0 {
		return false
	}
	if c.beRaw == nil {
		return true
	}
	c.beDirty = false
	if c.beRaw.Control(c.probeBe) != nil {
		return false
	}
	return !c.beDirty
}

func (c *conn) probeBackend(fd uintptr) {
	_, _, err := syscall.Recvfrom(int(fd), c.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.beDirty = err != syscall.EAGAIN
}

func (c *conn) dropBackend() {
	c.beMu.Lock()
	if c.be != nil {
		c.be.Close()
		c.be, c.beTCP, c.beRaw = nil, nil, nil
	}
	c.beMu.Unlock()
	c.bin.r, c.bin.w = 0, 0
}

// readResponseHead reads the final response head into c.resp, relaying 1xx
// interim responses to the client on the way.
func (c *conn) readResponseHead(clientMinor int) error {
	timeout := c.srv.ResponseTimeout
	if timeout > 0 {
		c.be.SetReadDeadline(time.Now().Add(timeout))
		defer c.be.SetReadDeadline(time.Time{})
	}
	got := false // any byte of a response received
	for {
		if c.bin.len() > 0 {
			got = true
			n, err := c.resp.Parse(c.bin.buffered())
			if err == nil {
				if c.resp.Status >= 200 || c.resp.Status == 101 {
					c.respLen = n
					return nil
				}
				// 1xx interim response (RFC 9110 §15.2): relay it, except
				// to HTTP/1.0 clients, which must not receive one.
				if clientMinor > 0 {
					c.out = c.appendResponseHead(c.out[:0], true, clientMinor)
					if _, err := c.nc.Write(c.out); err != nil {
						return errClientGone
					}
				}
				c.bin.consume(n)
				continue
			}
			if err != ErrNeedMore {
				return err
			}
		}
		n, err := c.bin.fill(c.be)
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
			if err == ErrHeadTooLarge {
				return err
			}
			return io.ErrUnexpectedEOF
		}
	}
}

var errResponseTimeout = errors.New("httpwire: backend did not answer in time")

// forwardResponse writes the response head and body to the client. It
// reports false when either side failed mid-response.
func (c *conn) forwardResponse(framing Framing, keep bool, clientMinor int) bool {
	if c.inject && framing != NoBody && c.resp.injectable() {
		return c.forwardInjected(framing, keep, clientMinor)
	}
	c.out = c.appendResponseHead(c.out[:0], keep, clientMinor)
	c.bin.consume(c.respLen)
	switch framing {
	case NoBody:
		return c.writeClient(c.out)
	case LengthBody:
		n := min(c.resp.ContentLength, int64(c.bin.len()))
		c.out = append(c.out, c.bin.buffered()[:n]...)
		c.bin.consume(int(n))
		if !c.writeClient(c.out) {
			return false
		}
		return c.copyBody(c.resp.ContentLength - n)
	case ChunkedBody:
		c.respChunks.Reset()
		c.bin.enlarge() // a streamed body moves in fewer, larger reads
		for {
			n, err := c.respChunks.Scan(c.bin.buffered())
			if err != nil {
				c.srv.logf("backend sent a malformed chunked body: %v", err)
				return false
			}
			c.out = append(c.out, c.bin.buffered()[:n]...)
			c.bin.consume(n)
			if !c.writeClient(c.out) {
				return false
			}
			c.out = c.out[:0]
			if c.respChunks.Done() {
				return true
			}
			if left := c.respChunks.DataLeft(); left >= spliceMin && c.bin.len() == 0 {
				if !c.copyBody(int64(left)) {
					return false
				}
				c.respChunks.SkipData(left)
				continue
			}
			if _, err := c.bin.fill(c.be); err != nil && c.bin.len() == 0 {
				return false
			}
		}
	case CloseBody:
		c.out = append(c.out, c.bin.buffered()...)
		c.bin.consume(c.bin.len())
		if !c.writeClient(c.out) {
			return false
		}
		c.copyBody(-1)
		c.resp.Close = true
		return true
	}
	return true
}

func (c *conn) writeClient(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	_, err := c.nc.Write(p)
	return err == nil
}

// copyBody moves n body bytes (n < 0: until EOF) from the backend to the
// client, by splice(2) when both are TCP and the body is large.
func (c *conn) copyBody(n int64) bool {
	if n == 0 {
		return true
	}
	if c.tcp != nil && c.beTCP != nil && (n < 0 || n >= spliceMin) {
		if n < 0 {
			_, err := c.tcp.ReadFrom(c.beTCP)
			return err == nil
		}
		c.limited = io.LimitedReader{R: c.beTCP, N: n}
		written, err := c.tcp.ReadFrom(&c.limited)
		return err == nil && written == n
	}
	for n != 0 {
		m, err := c.bin.fill(c.be)
		if m > 0 {
			k := c.bin.len()
			if n > 0 && int64(k) > n {
				k = int(n)
			}
			if !c.writeClient(c.bin.buffered()[:k]) {
				return false
			}
			c.bin.consume(k)
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

// streamRequestBody copies the rest of the request body to the backend on
// its own goroutine, so that the response (or a 100 Continue) can be read
// at the same time: neither side waits for the other.
func (c *conn) streamRequestBody(body bodyState, be net.Conn, beTCP *net.TCPConn) {
	err := c.copyRequestBody(body, be, beTCP)
	if err != nil {
		// The backend will wait for the rest of a body that is not
		// coming: wake the response read, which gives up on this backend
		// connection.
		be.SetReadDeadline(aLongTimeAgo)
	}
	c.bodyDone <- err
}

// copyRequestBody runs on the copier's goroutine. It touches only c.in,
// c.nc and c.reqChunks, which the connection's goroutine leaves alone until
// the copy ends, and be, which that goroutine may close but never replaces
// under it.
func (c *conn) copyRequestBody(body bodyState, be net.Conn, beTCP *net.TCPConn) error {
	req := &c.req
	if !req.Chunked {
		left := req.ContentLength - int64(body.buffered)
		if body.buffered > 0 {
			if _, err := be.Write(c.in.buffered()[:body.buffered]); err != nil {
				return err
			}
			c.in.consume(body.buffered)
		}
		if left >= spliceMin && c.tcp != nil && beTCP != nil {
			lr := io.LimitedReader{R: c.tcp, N: left}
			n, err := beTCP.ReadFrom(&lr)
			if err == nil && n < left {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		for left > 0 {
			if c.in.len() == 0 {
				if _, err := c.in.fill(c.nc); err != nil && c.in.len() == 0 {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return err
				}
			}
			k := min(int64(c.in.len()), left)
			if _, err := be.Write(c.in.buffered()[:k]); err != nil {
				return err
			}
			c.in.consume(int(k))
			left -= k
		}
		return nil
	}
	// Chunked: the scanner already accepted body.buffered bytes.
	if body.buffered > 0 {
		if _, err := be.Write(c.in.buffered()[:body.buffered]); err != nil {
			return err
		}
		c.in.consume(body.buffered)
	}
	for !c.reqChunks.Done() {
		if c.in.len() == 0 {
			if _, err := c.in.fill(c.nc); err != nil && c.in.len() == 0 {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		n, err := c.reqChunks.Scan(c.in.buffered())
		if n > 0 {
			if _, werr := be.Write(c.in.buffered()[:n]); werr != nil {
				return werr
			}
			c.in.consume(n)
		}
		if err != nil {
			// The backend has a truncated body; it cannot be finished.
			return err
		}
	}
	return nil
}

// requestBodyDone reports, without waiting, whether the body copy ended
// well; it leaves the result for finishRequestBody.
func (c *conn) requestBodyDone() bool {
	select {
	case err := <-c.bodyDone:
		c.bodyDone <- err
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
	err := <-c.bodyDone
	if !keep {
		c.nc.SetReadDeadline(time.Time{})
	}
	return err
}

// tunnel relays bytes both ways after a 101 response until both directions
// end, passing on each side's end of input as a half-close.
func (c *conn) tunnel() {
	c.out = c.appendResponseHead(c.out[:0], true, 1)
	c.bin.consume(c.respLen)
	c.out = append(c.out, c.bin.buffered()...)
	c.bin.consume(c.bin.len())
	if !c.writeClient(c.out) {
		return
	}
	if c.in.len() > 0 {
		if _, err := c.be.Write(c.in.buffered()); err != nil {
			return
		}
		c.in.consume(c.in.len())
	}
	c.releaseBuffers()
	done := make(chan struct{})
	go func() {
		pipe(c.be, c.nc)
		close(done)
	}()
	pipe(c.nc, c.be)
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hasPathPrefix(target []byte, prefix string) bool {
	return len(target) >= len(prefix) && string(target[:len(prefix)]) == prefix
}
