package proxy

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire"
	"reloadproxy/httpwire/htmlinject"
)

var (
	aLongTimeAgo  = time.Unix(1, 0)
	errClientGone = errors.New("proxy: client went away")
)

// Connection states, for closing idle connections from another goroutine.
const (
	stateActive int32 = iota
	stateIdle         // kept alive, waiting for the next request, holding no buffer
	stateNew          // waiting for its first request, holding no buffer
	stateClosing
)

// conn is one client connection and the backend connection paired with it.
// The goroutine running serve owns everything in it except state (read and
// swapped by CloseIdle and Close), up's connection under up.mu (closed by
// Close), and body while a request-body copy runs (owned by the copier's
// goroutine until finishRequestBody returns).
type conn struct {
	srv       *Server
	nc        net.Conn
	tcp       *net.TCPConn    // nc as TCP, or nil
	raw       syscall.RawConn // for waiting without a buffer; nil if not TCP
	state     atomic.Int32
	served    bool // a request was read: waiting for another is kept-alive idleness
	stalled   bool // dropped for accepting no byte within the write timeout
	handedOff bool // a WebSocket endpoint owns nc

	readFirst func(fd uintptr) bool // bound once: a method value allocates
	writeFn   func(fd uintptr) bool // bound once
	unsent    []byte                // writeSome's
	writeErr  syscall.Errno         // writeSome's
	more      bool                  // writeSome's: send with MSG_MORE
	// held: the last write to the client was a body piece sent with
	// MSG_MORE, which the kernel may still hold back (see writeClientMore).
	held         bool
	yielded      bool                  // readOrPush's, per fillBody
	readOrPushFn func(fd uintptr) bool // bound once
	idleArmed    lazyDeadline          // the read deadline armIdle set
	// writeArmed is the write deadline writeClient set: it is moved only
	// when older than rearmEvery, so a stalled client is dropped within a
	// second before writeTimeout after its last progress.
	writeArmed lazyDeadline

	in      readBuf // the client's bytes; the body copier's while it runs
	req     httpwire.RequestHead
	headLen int
	isHead  bool // the request's method is HEAD (kept: c.req's slices go stale)
	epoch   uint64

	up upstream // the backend connection

	outp *[]byte
	out  []byte

	fwd      httpwire.RequestRewrite // the client's forwarding fields, set once
	loopback bool                    // the client is on this machine

	// The client watch: while a request waits on the backend, a timer
	// checks every clientCheckInterval whether the client left, so that
	// the backend connection is closed as it would be without the proxy.
	watch    *time.Timer
	watching atomic.Bool
	peek     [1]byte // for the timer's goroutine only
	probeFn  func(fd uintptr)
	left     bool // probeFn's result

	body       requestBody // the request-body copy, when it runs on its own goroutine
	respChunks httpwire.ChunkedScanner
	inj        injection
	limited    io.LimitedReader // for splice and sendfile: a field, so that it does not escape per call
}

// injection is the state of a response that gets the reload tag.
type injection struct {
	wanted  bool   // the request is a page navigation and injection is on
	host    []byte // copy of the request's Host, for the CSP of the page
	csp     [][]byte
	tag     []byte
	html    htmlinject.Injector
	chunked htmlinject.ChunkedInjector
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc}
	c.body.done = make(chan error, 1)
	if tcp, ok := nc.(*net.TCPConn); ok {
		c.tcp = tcp
		if raw, err := tcp.SyscallConn(); err == nil {
			c.raw = raw
			c.readFirst = c.readWhenReadable
			c.writeFn = c.writeSome
			c.readOrPushFn = c.readOrPush
		}
	}
	c.up.init(&c.state)
	c.probeFn = c.probeClient
	if c.raw != nil {
		// Made here, stopped, so that the timer's goroutine never sees
		// the field written.
		c.watch = time.AfterFunc(time.Hour, c.checkClient)
		c.watch.Stop()
	}
	c.fwd.Proto = s.Proto
	c.setClientAddr(nc.RemoteAddr())
	return c
}

// setClientAddr renders the client's address once for the forwarding
// fields: for="192.0.2.1:5000" or for="[2001:db8::1]:5000" (RFC 7239 §6:
// quoted, since ':' and '[' are not token characters).
func (c *conn) setClientAddr(a net.Addr) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		c.loopback = true // a pipe or unix socket is local
		return
	}
	ip := ta.IP.String()
	if ip4 := ta.IP.To4(); ip4 != nil {
		ip = ip4.String()
	}
	c.fwd.ClientIP = []byte(ip)
	host := ip
	if ta.IP.To4() == nil {
		host = "[" + ip + "]"
	}
	c.fwd.ForwardedFor = []byte(`for="` + host + ":" + strconv.Itoa(ta.Port) + `"`)
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

// handle answers the request in c.req and reports whether the connection
// stays open for another.
func (c *conn) handle() bool {
	c.epoch = c.srv.epoch.Load()
	c.isHead = c.req.IsHead()
	// An HTTP/1.0 request may have no Host; a browser always sends one,
	// so it cannot be a rebinding page's.
	if host := c.req.EffectiveHost(); (len(host) > 0 || c.req.Minor == 1) && !c.srv.Hosts.Allows(host) {
		return c.refuseHost(host)
	}
	if p := c.srv.LocalPrefix; p != "" && hasPathPrefix(originPath(c.req.Target), p) {
		return c.serveLocal()
	}
	if c.srv.Files != nil {
		if pending := c.srv.FilesPending; pending != nil {
			if page := pending(); page != nil {
				return c.answerFilesPending(page)
			}
		}
		return c.serveFile()
	}
	if c.srv.Backend == nil {
		return c.answerLocal(404, notFound, c.req.KeepAlive && !c.req.HasBody())
	}
	return c.proxy()
}

// shutdown closes both connections and returns the buffers.
func (c *conn) shutdown() {
	if c.stalled && c.tcp != nil {
		// A client dropped for taking nothing: without this the kernel
		// would keep trying to send it what its buffer holds, for
		// minutes, after the descriptor is gone.
		c.tcp.SetLinger(0)
	}
	if !c.handedOff {
		c.nc.Close()
	}
	c.up.drop()
	c.in.r, c.in.w = 0, 0
	c.releaseBuffers()
}

func (c *conn) releaseBuffers() {
	c.in.release()
	c.up.releaseBuffer()
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
		c.armIdle()
		// The first read cannot be skipped, though it mostly finds
		// nothing: RawConn.Read first forgets any readiness the poller
		// saw, so a pipelined request that arrived after the last read
		// would otherwise wait for bytes that never come.
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
	c.armIdle()
	return true
}

// armIdle bounds the wait for the next request by the idle timeout. The
// deadline is moved only when the one set is older than rearmEvery: under
// load that spares a timer update per request, and the bound stays within
// a sixtieth (at most a second) of the timeout.
func (c *conn) armIdle() {
	if at, ok := c.idleArmed.next(c.srv.idleTimeout()); ok {
		c.nc.SetReadDeadline(at)
	}
}

// lazyDeadline remembers when a deadline was last set, so that it is moved
// only when older than rearmEvery. Whoever sets that deadline otherwise
// forgets it (the zero value), so that the next call of next moves it.
type lazyDeadline struct{ set time.Time }

// next returns the deadline timeout from now, and whether it is time to
// set it.
func (d *lazyDeadline) next(timeout time.Duration) (time.Time, bool) {
	now := time.Now()
	if now.Sub(d.set) < rearmEvery(timeout) {
		return time.Time{}, false
	}
	d.set = now
	return now.Add(timeout), true
}

// rearmEvery is how stale a deadline for timeout may be before it is moved.
func rearmEvery(timeout time.Duration) time.Duration {
	return min(timeout/60, time.Second)
}

// readWhenReadable is the RawConn.Read callback of an idle connection: it
// takes a buffer only once bytes have arrived, and reads them into it, so
// that waiting costs no buffer and arriving costs no extra system call.
func (c *conn) readWhenReadable(fd uintptr) bool {
	c.in.get()
	n, err := sysRead(fd, c.in.b[c.in.w:])
	switch {
	case err == syscall.EAGAIN:
		c.in.release()
		return false // park in the poller until readable
	case err == 0 && n > 0:
		c.in.w += n
	}
	return true // data, or EOF or an error: c.in stays empty
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
	c.up.abort()
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
					c.idleArmed = lazyDeadline{}
				}
				return nil
			}
			if err != httpwire.ErrNeedMore {
				return err
			}
		}
		if !timed {
			c.nc.SetReadDeadline(time.Now().Add(c.srv.headTimeout()))
			c.idleArmed = lazyDeadline{}
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
			if err == httpwire.ErrHeadTooLarge {
				return err
			}
			return errClientGone
		}
	}
}

var errHeadTimeout = &httpwire.Error{Status: 408, Reason: "request head not received in time"}

// reject answers a request that cannot be served and ends the connection:
// nothing of it reaches the backend.
func (c *conn) reject(err error) {
	var pe *httpwire.Error
	if !errors.As(err, &pe) {
		return
	}
	c.getOut()
	c.out = httpwire.AppendSimpleResponse(c.out[:0], pe.Status, pe.Reason)
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

// writeClient writes p to the client; a client that accepts none of it
// within the write timeout is dropped.
func (c *conn) writeClient(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if at, ok := c.writeArmed.next(c.srv.writeTimeout()); ok {
		c.nc.SetWriteDeadline(at)
	}
	if c.raw == nil {
		_, err := c.nc.Write(p)
		return err == nil
	}
	c.unsent, c.writeErr = p, 0
	err := c.raw.Write(c.writeFn)
	c.unsent = nil
	if err != nil && isTimeout(err) {
		c.stalled = true
	}
	return err == nil && c.writeErr == 0
}

// writeClientMore writes a piece of a response body to the client; more
// says that the body does not end with it. Such a piece is sent with
// MSG_MORE: the kernel may then hold its last partial segment back until
// the next piece joins it, so that a body the backend writes in several
// pieces in quick succession reaches the client in fewer, fuller segments,
// and the client (a browser, a load generator) is woken fewer times.
// Nothing is held for long: a piece with more unset pushes out what is
// held, and fillBody pushes it before it waits for the backend. (HAProxy
// sends with MSG_MORE too, but leaves the push to the kernel, which holds
// a stream's event until the next one or for about 200 ms.)
func (c *conn) writeClientMore(p []byte, more bool) bool {
	if c.raw == nil || len(p) == 0 {
		return c.writeClient(p)
	}
	c.more = more
	ok := c.writeClient(p)
	c.more = false
	c.held = more
	return ok
}

// pushHeld sends what the client socket holds back, if anything.
func (c *conn) pushHeld() {
	if c.held {
		c.held = false
		c.raw.Control(sysPush) // a function, not a method value: no allocation
	}
}

// writeSome is writeClient's RawConn.Write callback: false means the
// socket buffer is full, wait until it drains.
func (c *conn) writeSome(fd uintptr) bool {
	var err syscall.Errno
	c.unsent, err = sysSendAll(fd, c.unsent, c.more)
	if err == syscall.EAGAIN {
		return false
	}
	c.writeErr = err
	return true
}

// watchClient starts checking, every clientCheckInterval, whether the client
// has gone (EOF or reset) while its request waits on the backend or its
// response stream is idle. A fast request never sees the timer fire.
func (c *conn) watchClient() {
	if c.raw == nil {
		return
	}
	c.watching.Store(true)
	c.watch.Reset(clientCheckInterval)
}

// unwatchClient stops the client watch.
func (c *conn) unwatchClient() {
	if c.watch != nil && c.watching.Load() {
		c.watching.Store(false)
		c.watch.Stop()
	}
}

// checkClient runs on the watch timer's goroutine. A client that left gets
// both connections closed: the backend sees the disconnect, and the
// descriptors are freed even while the connection's goroutine is still
// blocked (waiting for a starting backend, say).
func (c *conn) checkClient() {
	if !c.watching.Load() {
		return
	}
	c.left = false
	if c.raw.Control(c.probeFn) != nil || c.left {
		c.state.Store(stateClosing)
		c.up.close()
		c.nc.Close()
		return
	}
	if c.watching.Load() {
		c.watch.Reset(clientCheckInterval)
	}
}

// probeClient peeks at the client socket: EOF or an error other than "no
// data yet" means the client is gone. Bytes (a pipelined request) mean it
// is still there.
func (c *conn) probeClient(fd uintptr) {
	n, _, err := syscall.Recvfrom(int(fd), c.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.left = err == nil && n == 0 || err != nil && err != syscall.EAGAIN && err != syscall.EINTR
}

// bufferedBody is what is known of the request body once the head is read.
type bufferedBody struct {
	n        int  // body bytes already in c.in, after the head
	complete bool // the whole body is in c.in
}

// scanBufferedBody looks at the body bytes that came with the head (they
// start at c.in.buffered()[from:]): how many there are, whether they are
// the whole body, and, for a chunked body, whether they are well-formed.
// A chunked body's scanner is left positioned for the rest.
func (c *conn) scanBufferedBody(from int) (bufferedBody, error) {
	req := &c.req
	avail := c.in.buffered()[from:]
	switch {
	case req.Chunked:
		c.body.chunks.Reset()
		n, err := c.body.chunks.Scan(avail)
		if err != nil {
			return bufferedBody{}, err
		}
		return bufferedBody{n: n, complete: c.body.chunks.Done()}, nil
	case req.ContentLength > 0:
		if int64(len(avail)) >= req.ContentLength {
			return bufferedBody{n: int(req.ContentLength), complete: true}, nil
		}
		return bufferedBody{n: len(avail)}, nil
	}
	return bufferedBody{complete: true}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hasPathPrefix(path []byte, prefix string) bool {
	return len(path) >= len(prefix) && string(path[:len(prefix)]) == prefix
}

// originPath returns the path of a request target: the target itself in
// origin-form, the part after the authority in absolute-form (RFC 9112
// §3.2.2), without the query.
func originPath(target []byte) []byte {
	if len(target) > 0 && target[0] != '/' {
		i := 0
		switch {
		case httpwire.HasPrefixFold(target, "http://"):
			i = len("http://")
		case httpwire.HasPrefixFold(target, "https://"):
			i = len("https://")
		default:
			return target // asterisk-form, authority-form: no path
		}
		for i < len(target) && target[i] != '/' && target[i] != '?' {
			i++
		}
		target = target[i:]
		if len(target) == 0 || target[0] == '?' {
			return rootPath
		}
	}
	for i, b := range target {
		if b == '?' {
			return target[:i]
		}
	}
	return target
}
