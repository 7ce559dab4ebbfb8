package proxy

import (
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

// upstream is the backend connection paired with a client connection, and
// the response being read from it. It belongs to the client connection's
// goroutine, except that abort may expire nc's deadlines from another.
type upstream struct {
	mu       sync.Mutex // guards nc against abort
	nc       net.Conn
	tcp      *net.TCPConn
	raw      syscall.RawConn
	gen      uint64
	addr     string
	fresh    bool          // dialed for the current request
	aborting *atomic.Int32 // the client connection's state: stateClosing means Close ran

	in      readBuf // bytes read from the backend
	resp    httpwire.ResponseHead
	headLen int // length of resp's head in in

	probeFn func(fd uintptr) // bound once: a method value allocates
	dirty   bool             // probe's result: bytes or EOF waiting on the idle connection
	peek    [1]byte
}

func (u *upstream) init(state *atomic.Int32) {
	u.aborting = state
	u.probeFn = u.probe
}

// connect makes sure u.nc is a usable connection to route's backend.
func (u *upstream) connect(route Route) error {
	if u.nc != nil {
		if u.gen == route.Generation && u.addr == route.Addr && u.clean() {
			u.fresh = false
			u.in.get()
			return nil
		}
		u.drop()
	}
	nc, err := net.DialTimeout("tcp", route.Addr, dialTimeout)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.nc, u.gen, u.addr, u.fresh = nc, route.Generation, route.Addr, true
	u.tcp, u.raw = nil, nil
	if tcp, ok := nc.(*net.TCPConn); ok {
		u.tcp = tcp
		u.raw, _ = tcp.SyscallConn()
	}
	aborted := u.aborting.Load() == stateClosing
	u.mu.Unlock()
	if aborted {
		nc.SetDeadline(aLongTimeAgo)
	}
	u.in.get()
	return nil
}

// clean reports whether the idle backend connection has nothing waiting:
// bytes sent before a request are never read as its response, and a
// keep-alive connection the backend closed is not used.
func (u *upstream) clean() bool {
	if u.in.len() > 0 {
		return false
	}
	if u.raw == nil {
		return true
	}
	u.dirty = false
	if u.raw.Control(u.probeFn) != nil {
		return false
	}
	return !u.dirty
}

func (u *upstream) probe(fd uintptr) {
	_, _, err := syscall.Recvfrom(int(fd), u.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	u.dirty = err != syscall.EAGAIN
}

// drop closes the backend connection, if any, and forgets what was read.
func (u *upstream) drop() {
	u.mu.Lock()
	if u.nc != nil {
		u.nc.Close()
		u.nc, u.tcp, u.raw = nil, nil, nil
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
