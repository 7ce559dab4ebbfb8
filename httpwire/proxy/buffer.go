package proxy

import (
	"io"
	"sync"
	"syscall"

	"reloadproxy/httpwire"
)

// Buffer sizes. Most heads fit the small size; a head that does not is moved
// to a large buffer, which holds the longest head allowed.
const (
	smallBufSize = 8 << 10
	largeBufSize = httpwire.MaxHeadBytes + 4<<10
)

var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	largeBufs = sync.Pool{New: func() any { b := make([]byte, largeBufSize); return &b }}
	// outBufs hold heads being built (with small bodies appended): empty
	// slices with at least smallBufSize of capacity.
	outBufs = sync.Pool{New: func() any { b := make([]byte, 0, smallBufSize); return &b }}
)

// readBuf is a read buffer: bytes b[r:w] are read and not yet consumed. Its
// storage comes from a pool and goes back when the connection is idle, so an
// idle connection holds no buffer.
type readBuf struct {
	p    *[]byte
	b    []byte
	r, w int
}

func (rb *readBuf) get() {
	if rb.p == nil {
		rb.p = smallBufs.Get().(*[]byte)
		rb.b = *rb.p
		rb.r, rb.w = 0, 0
	}
}

// getLarge makes sure the buffer is a large one.
func (rb *readBuf) getLarge() {
	if rb.p == nil {
		rb.p = largeBufs.Get().(*[]byte)
		rb.b = *rb.p
		rb.r, rb.w = 0, 0
		return
	}
	rb.enlarge()
}

// release returns the storage to its pool; the buffer must be empty.
func (rb *readBuf) release() {
	if rb.p == nil {
		return
	}
	if len(*rb.p) == largeBufSize {
		largeBufs.Put(rb.p)
	} else {
		smallBufs.Put(rb.p)
	}
	*rb = readBuf{}
}

func (rb *readBuf) buffered() []byte { return rb.b[rb.r:rb.w] }
func (rb *readBuf) len() int         { return rb.w - rb.r }
func (rb *readBuf) consume(n int) {
	rb.r += n
	if rb.r == rb.w {
		rb.r, rb.w = 0, 0
	}
}

// makeRoom makes free space after w, moving the unread bytes to the front
// and, when the buffer is full of them, switching to a large buffer. It
// reports false when no more room can be made.
func (rb *readBuf) makeRoom() bool {
	rb.get()
	if rb.w < len(rb.b) {
		return true
	}
	if rb.r > 0 {
		n := copy(rb.b, rb.b[rb.r:rb.w])
		rb.r, rb.w = 0, n
		return true
	}
	if len(rb.b) == largeBufSize {
		return false
	}
	rb.enlarge()
	return true
}

// enlarge moves the buffer's contents to a large buffer.
func (rb *readBuf) enlarge() {
	rb.get()
	if len(rb.b) == largeBufSize {
		return
	}
	lp := largeBufs.Get().(*[]byte)
	n := copy(*lp, rb.b[rb.r:rb.w])
	smallBufs.Put(rb.p)
	rb.p, rb.b, rb.r, rb.w = lp, *lp, 0, n
}

// fill reads once from src into the free space.
func (rb *readBuf) fill(src io.Reader) (int, error) {
	if !rb.makeRoom() {
		return 0, httpwire.ErrHeadTooLarge
	}
	n, err := src.Read(rb.b[rb.w:])
	rb.w += n
	return n, err
}

// readFrom is the read of a RawConn.Read callback: it reads once from fd
// into the free space, and reports false when fd has nothing yet (the
// caller's RawConn.Read then waits for readiness). On EOF or an error it
// records err and reports true.
func (rb *readBuf) readFrom(fd uintptr, err *error) bool {
	n, e := sysRead(fd, rb.b[rb.w:])
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != 0:
		*err = e
	case n == 0:
		*err = io.EOF
	default:
		rb.w += n
	}
	return true
}
