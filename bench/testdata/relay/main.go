// Command relay is a bare TCP relay: every client connection gets a
// backend connection of its own, and bytes are copied both ways without
// being looked at. It is the floor of BenchmarkSideBySide's
// -sidebyside.floor targets: no HTTP proxy built the same way can cost less
// than the relay does, so the gap between a relay and reloadproxy is what
// HTTP costs, and the gap between two relays is what the way of waiting
// costs.
//
// Three ways of waiting:
//
//	-wait goroutine  two goroutines per connection pair, io.Copy each way:
//	                 Go's netpoller, as reloadproxy uses it
//	-wait epoll      -loops event loops, each a locked thread with its own
//	                 epoll set, waiting in epoll_pwait through the runtime
//	                 (entersyscall: the scheduler hands the processor on)
//	-wait epoll-raw  the same loops waiting in a raw epoll_pwait, which the
//	                 scheduler does not see, as a C event loop (HAProxy,
//	                 nginx) waits
//
// It is a measuring tool, not a proxy: a write that would block waits on
// that one socket, and either side's EOF or error closes both.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9003", "listen `address` (IPv4)")
	backend := flag.String("backend", "127.0.0.1:9001", "backend `address` (IPv4)")
	wait := flag.String("wait", "goroutine", "how to wait: goroutine, epoll or epoll-raw")
	loops := flag.Int("loops", 1, "processors (GOMAXPROCS); for epoll and epoll-raw, one event loop on each")
	flag.Parse()
	if *loops < 1 {
		fmt.Fprintln(os.Stderr, "relay: -loops: want at least 1")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*loops)
	switch *wait {
	case "goroutine":
		log.Fatal(relayGoroutines(*listen, *backend))
	case "epoll", "epoll-raw":
		la, err := sockaddr(*listen)
		if err != nil {
			log.Fatal(err)
		}
		ba, err := sockaddr(*backend)
		if err != nil {
			log.Fatal(err)
		}
		errc := make(chan error)
		for range *loops {
			lfd, err := listenReusePort(la)
			if err != nil {
				log.Fatal(err)
			}
			l := &loop{listener: lfd, backend: ba, raw: *wait == "epoll-raw", peer: map[int32]int32{}}
			go func() { errc <- l.run() }()
		}
		log.Fatal(<-errc)
	default:
		fmt.Fprintf(os.Stderr, "relay: -wait %q: want goroutine, epoll or epoll-raw\n", *wait)
		os.Exit(2)
	}
}

func relayGoroutines(listen, backend string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			b, err := net.Dial("tcp", backend)
			if err != nil {
				return
			}
			defer b.Close()
			go func() { io.Copy(b, c); b.Close() }()
			io.Copy(c, b)
		}()
	}
}

func sockaddr(s string) (*unix.SockaddrInet4, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("%q: want an IPv4 address and port", s)
	}
	return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}, nil
}

// listenReusePort opens one of the loops' listening sockets: with
// SO_REUSEPORT the kernel spreads new connections over them.
func listenReusePort(sa *unix.SockaddrInet4) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return -1, err
	}
	return fd, unix.Listen(fd, 1024)
}

// loop is one event loop: its listener, and the connection pairs it
// accepted, each descriptor mapped to the other of its pair.
type loop struct {
	listener int
	backend  *unix.SockaddrInet4
	raw      bool
	epfd     int
	peer     map[int32]int32
	buf      [64 << 10]byte
}

func (l *loop) run() error {
	runtime.LockOSThread()
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return err
	}
	if err := l.watch(l.listener); err != nil {
		return err
	}
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := l.wait(events)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == l.listener {
				l.accept()
			} else {
				l.relay(ev.Fd)
			}
		}
	}
}

// wait is epoll_pwait with no timeout, seen by the scheduler or not.
func (l *loop) wait(events []unix.EpollEvent) (int, error) {
	if !l.raw {
		return unix.EpollWait(l.epfd, events, -1)
	}
	// A raw system call keeps the processor: the thread sleeps in the
	// kernel as a C event loop's does, without the scheduler handing the
	// processor to another thread meanwhile. The runtime still preempts
	// the loop (its signal interrupts the wait with EINTR).
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func (l *loop) watch(fd int) error {
	return unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

func (l *loop) accept() {
	for {
		cfd, _, err := unix.Accept4(l.listener, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: accepted all that waited
		}
		bfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			unix.Close(cfd)
			continue
		}
		// A blocking connect: the backend is on loopback, so it is
		// answered at once.
		if err := unix.Connect(bfd, l.backend); err != nil {
			unix.Close(cfd)
			unix.Close(bfd)
			continue
		}
		unix.SetNonblock(bfd, true)
		unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		unix.SetsockoptInt(bfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		l.peer[int32(cfd)], l.peer[int32(bfd)] = int32(bfd), int32(cfd)
		if l.watch(cfd) != nil || l.watch(bfd) != nil {
			l.close(int32(cfd))
		}
	}
}

// relay reads once from fd and writes what came to its peer.
func (l *loop) relay(fd int32) {
	to, ok := l.peer[fd]
	if !ok {
		return
	}
	n, err := unix.Read(int(fd), l.buf[:])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if err != nil || n == 0 {
		l.close(fd)
		return
	}
	for b := l.buf[:n]; len(b) > 0; {
		w, err := unix.Write(int(to), b)
		switch {
		case err == unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: to, Events: unix.POLLOUT}}, -1)
		case err == unix.EINTR:
		case err != nil:
			l.close(fd)
			return
		default:
			b = b[w:]
		}
	}
}

// close closes a pair (closing a descriptor removes it from the set).
func (l *loop) close(fd int32) {
	to := l.peer[fd]
	delete(l.peer, fd)
	delete(l.peer, to)
	unix.Close(int(fd))
	unix.Close(int(to))
}
