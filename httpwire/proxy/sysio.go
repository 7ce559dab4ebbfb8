package proxy

import (
	"syscall"
	"unsafe"
)

// The proxy's sockets are non-blocking (the runtime's poller makes them
// so), so a read or write on one returns at once: with data, with EAGAIN,
// or with an error. Such calls go through syscall.RawSyscall rather than
// syscall.Read and syscall.Write, which tell the runtime that the thread
// may block. That bookkeeping costs a little per call, and, worse, a
// processor seen in a system call across two ticks of the runtime's
// monitor thread is handed to another thread, which keeps the monitor
// waking every 20 µs on a busy proxy (it showed as a tenth of the proxy's
// CPU in profiles). Only callbacks of RawConn.Read and RawConn.Write use
// these, on descriptors those methods hold.

// sysRead is read(2) on a non-blocking descriptor. It never returns
// EINTR: an interrupted call is made again, here rather than at each caller.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}

// sysWriteAll writes p with write(2) on a non-blocking descriptor until it
// is all written, the socket buffer is full (EAGAIN) or an error occurs,
// and returns what is left unwritten with that errno (0 when none is left).
func sysWriteAll(fd uintptr, p []byte) ([]byte, syscall.Errno) {
	return sysSendAll(fd, p, false)
}

// sysSendAll is sysWriteAll, with send(2)'s MSG_MORE when more is set:
// more of the message follows at once, so the kernel may keep a last
// partial segment back to fill it (see conn.writeClientMore).
func sysSendAll(fd uintptr, p []byte, more bool) ([]byte, syscall.Errno) {
	for len(p) > 0 {
		var n uintptr
		var errno syscall.Errno
		if more {
			n, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_MORE, 0, 0)
		} else {
			n, _, errno = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		}
		switch errno {
		case 0:
			p = p[n:]
		case syscall.EINTR:
		default:
			return p, errno
		}
	}
	return p, 0
}

// tcpNoDelayOn is the value sysPush sets; a variable, so that its address
// can be passed.
var tcpNoDelayOn int32 = 1

// sysPush sends what a TCP socket holds back after writes with MSG_MORE:
// setting TCP_NODELAY, even when it is already set, pushes pending output
// (tcp(7)).
func sysPush(fd uintptr) {
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY,
		uintptr(unsafe.Pointer(&tcpNoDelayOn)), unsafe.Sizeof(tcpNoDelayOn), 0)
}
