package proxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire"
)

// dialTimeout bounds a connect to the backend; on loopback a connect
// either succeeds or is refused at once.
const dialTimeout = 5 * time.Second

// errDirty means a kept backend connection had bytes or EOF waiting before
// the request: it must not be used (the caller drops it, as after any
// error of send).
var errDirty = errors.New("proxy: kept backend connection not clean")

// upstream is the backend connection paired with a client connection, and
// the response being read from it. It belongs to the client connection's
// goroutine, except that abort and close may act on nc from another.
type upstream struct {
	mu       sync.Mutex // guards nc against abort and close
	nc       net.Conn
	raw      syscall.RawConn
	gen      uint64
	addr     string
	fresh    bool          // dialed for the current request
	aborting *atomic.Int32 // the client connection's state: stateClosing means Close ran

	in      readBuf // bytes read from the backend
	resp    httpwire.ResponseHead
	headLen int // length of resp's head in in

	// send's RawConn.Read callback, bound once (a method value
	// allocates), and its state.
	exchangeFn func(fd uintptr) bool
	fillFn     func(fd uintptr) bool
	step       exchangeStep
	unsent     []byte // what send has still to write
	await      bool   // send waits for the response and reads it
	dirty      bool   // the kept connection had bytes or EOF waiting
	readErr    error  // the first read's EOF or error
}

// exchangeStep is where send's callback is.
type exchangeStep uint8

const (
	stepCheck exchangeStep = iota // a kept connection must be empty
	stepWrite                     // write the request
	stepRead                      // wait for the response, then read it
	stepDone
)

func (u *upstream) init(state *atomic.Int32) {
	u.aborting = state
	u.exchangeFn = u.exchange
	u.fillFn = u.fillOnce
}

// connect makes sure u.nc is a connection to route's backend: the one kept
// from the previous request if it is of the same generation, else a new
// one. Whether a kept one is still usable is for send to check.
func (u *upstream) connect(route Route) error {
	if u.nc != nil {
		if u.gen == route.Generation && u.addr == route.Addr && u.in.len() == 0 {
			u.fresh = false
			u.in.getLarge()
			return nil
		}
		u.drop()
	}
	nc, err := net.DialTimeout("tcp", route.Addr, dialTimeout)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.nc, u.gen, u.addr, u.fresh, u.raw = nc, route.Generation, route.Addr, true, nil
	if tcp, ok := nc.(*net.TCPConn); ok {
		u.raw, _ = tcp.SyscallConn()
	}
	aborted := u.aborting.Load() == stateClosing
	u.mu.Unlock()
	if aborted {
		nc.SetDeadline(aLongTimeAgo)
	}
	// A large buffer from the start: a response of up to 64 KiB, head and
	// body, then comes in one read and goes out in one write.
	u.in.getLarge()
	return nil
}

// send writes req (a head, maybe with a small body) and, with await, waits
// for the response's first bytes and reads them into u.in (u.readErr then
// holds that read's EOF or error). It does so inside one RawConn.Read, to
// spend no system call on reads that find nothing:
//
//   - A kept connection is read once first, and must have nothing
//     (EAGAIN): bytes a backend sent before a request are never read as
//     its response, and a connection the backend closed is not used
//     (errDirty: the caller drops the connection).
//   - The request is written from inside the Read, which has just reset
//     the runtime poller's readiness for the socket, and the socket is
//     known empty: the next readiness edge is the response's. So it waits
//     for that edge and then reads, instead of reading once for nothing
//     first.
//
// If the request does not fit in the socket buffer at once, the rest goes
// out by an ordinary write, and the response is read as usual.
func (u *upstream) send(req []byte, await bool) error {
	if u.raw == nil {
		_, err := u.nc.Write(req)
		return err
	}
	u.step = stepWrite
	if !u.fresh {
		u.step = stepCheck
	}
	u.unsent, u.await, u.dirty, u.readErr = req, await, false, nil
	err := u.raw.Read(u.exchangeFn)
	unsent := u.unsent
	u.unsent = nil
	switch {
	case u.dirty:
		return errDirty
	case u.step == stepRead:
		// The request is out; a failure to read the response (a deadline,
		// a close) is the response's, for readResponseHead to judge.
		if err != nil && u.readErr == nil {
			u.readErr = err
		}
		return nil
	case err != nil:
		return err
	case u.readErr != nil:
		return u.readErr // the write failed
	case len(unsent) > 0:
		_, err = u.nc.Write(unsent)
		return err
	}
	return nil
}

// exchange is send's RawConn.Read callback: it reports true when send is
// done with the socket, false to wait until it is readable.
func (u *upstream) exchange(fd uintptr) bool {
	switch u.step {
	case stepCheck:
		// Into the buffer's free space: if anything comes, the
		// connection is dropped with it.
		if _, err := sysRead(fd, u.in.b[u.in.w:]); err != syscall.EAGAIN {
			u.dirty = true // bytes, EOF, or a reset
			return true
		}
		u.step = stepWrite
		fallthrough
	case stepWrite:
		var err syscall.Errno
		u.unsent, err = sysWriteAll(fd, u.unsent)
		switch err {
		case 0:
		case syscall.EAGAIN:
			return true // send writes the rest as usual
		default:
			u.readErr = err
			return true
		}
		if !u.await {
			u.step = stepDone
			return true
		}
		u.step = stepRead
		return false
	case stepRead:
		return u.in.readFrom(fd, &u.readErr)
	}
	return true
}

// fill reads once from the backend into u.in: through the RawConn, with
// the raw read of sysio.go, when the connection is TCP.
func (u *upstream) fill() (int, error) { return u.fillWith(u.fillFn) }

// fillWith is fill with read, a RawConn.Read callback that reads into
// u.in's free space as fillOnce does, and may do more before a wait.
func (u *upstream) fillWith(read func(fd uintptr) bool) (int, error) {
	if u.raw == nil {
		return u.in.fill(u.nc)
	}
	if !u.in.makeRoom() {
		return 0, httpwire.ErrHeadTooLarge
	}
	w := u.in.w
	u.readErr = nil
	if err := u.raw.Read(read); err != nil {
		return 0, err
	}
	err := u.readErr
	u.readErr = nil
	return u.in.w - w, err
}

func (u *upstream) fillOnce(fd uintptr) bool { return u.in.readFrom(fd, &u.readErr) }

// drop closes the backend connection, if any, and forgets what was read.
func (u *upstream) drop() {
	u.mu.Lock()
	if u.nc != nil {
		u.nc.Close()
		u.nc, u.raw = nil, nil
	}
	u.mu.Unlock()
	u.in.r, u.in.w = 0, 0
}

// close closes the backend connection from another goroutine (the client
// left); the owner drops it when it notices.
func (u *upstream) close() {
	u.mu.Lock()
	if u.nc != nil {
		u.nc.Close()
	}
	u.mu.Unlock()
}

// abort is called by Server.Close from another goroutine.
func (u *upstream) abort() {
	u.mu.Lock()
	if u.nc != nil {
		u.nc.SetDeadline(aLongTimeAgo)
	}
	u.mu.Unlock()
}

// releaseBuffer gives the read buffer back when it holds nothing.
func (u *upstream) releaseBuffer() {
	if u.in.len() == 0 {
		u.in.release()
	}
}
