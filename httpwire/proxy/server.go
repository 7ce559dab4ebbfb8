// Package proxy is reloadproxy's HTTP/1.x server: the accept loops, the
// per-connection loop that forwards requests to a backend and responses
// back (bodies streamed, spliced where the kernel allows), upgrade tunnels,
// the proxy's own endpoints under a prefix (the reload client and its
// WebSocket), static files through httpwire/static, and the error pages.
// Every port reloadproxy listens on is served by a Server: one strict
// parser (httpwire), one accept loop, one set of error statuses.
package proxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire/static"
)

// Server accepts client connections and answers their requests: from its
// own endpoints, from Files, or by proxying them to Backend. Set its fields
// before calling Serve; they must not change afterwards.
type Server struct {
	// Backend tells where each request goes. Nil when Files or the local
	// endpoints answer every request.
	Backend Backend

	// Hosts is the Host allow-list, checked for every request before
	// anything else: a refused request gets 403 and reaches neither the
	// backend, nor the disk, nor an endpoint. Nil allows every host.
	Hosts *HostPolicy

	// LocalPrefix is the path prefix of the proxy's own endpoints, such as
	// "/.reloadproxy/" ("/" for a port that serves nothing else). Requests
	// under it are never proxied: they get Local's endpoint, else 404.
	LocalPrefix string
	// Local are the proxy's own endpoints, by exact path (without query).
	Local map[string]Endpoint

	// Inject is the tag inserted into HTML page navigations and into the
	// proxy's own HTML error pages. Empty: no injection. It must be a
	// <script> element, so that a CSP nonce can be added to it.
	Inject []byte
	// ScriptPath and SocketPath are the paths of the injected client's
	// script and WebSocket, which a page's Content-Security-Policy is
	// amended to allow.
	ScriptPath, SocketPath string

	// Files, when set, answers every request not under LocalPrefix from a
	// directory instead of a backend (static mode).
	Files *static.FileServer
	// FilesPending, when set with Files, is asked before a file is
	// served: a page it returns is answered instead (static mode: a 503
	// while a build has yet to make the directory, or after it failed).
	FilesPending func() *ErrorPage

	// HeadTimeout bounds the time from the first byte of a request head to
	// its end; zero means DefaultHeadTimeout. Past it: 408.
	HeadTimeout time.Duration
	// IdleTimeout closes a connection with no request in progress, fresh
	// or kept alive; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// BodyTimeout bounds the wait for the next bytes of a request body;
	// zero means DefaultBodyTimeout. Past it: 408, and the connection
	// closes.
	BodyTimeout time.Duration
	// WriteTimeout drops a client (and its backend connection) that
	// accepts no response byte for that long; zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ResponseTimeout bounds the wait for a backend's response head; zero
	// means no limit. Past it the client gets a 504 page.
	ResponseTimeout time.Duration
	// Proto is what Forwarded and X-Forwarded-Proto say: "http" when empty.
	Proto string

	// Logf, when set, receives one line for unexpected failures (a
	// backend's malformed response); client misbehaviour is not logged.
	Logf func(format string, args ...any)

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup

	// changedAt is the Unix second of the latest file change (0: none).
	changedAt atomic.Int64

	// epoch changes when responses may change (the backend leaves
	// Running): a connection that started a request in an older epoch
	// closes once its response is complete.
	epoch atomic.Uint64
}

// Default time bounds (DESIGN.md, "Time and memory bounds"). The time to a
// backend's response head has none unless ResponseTimeout is set: a
// developer stopped at a breakpoint must not get a timeout.
const (
	DefaultHeadTimeout  = 10 * time.Second
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultBodyTimeout  = 60 * time.Second
	DefaultWriteTimeout = 60 * time.Second
)

// clientCheckInterval is how often a client whose request waits on the
// backend is checked for having left.
const clientCheckInterval = time.Second

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("proxy: server closed")

// Serve accepts connections on ln until Close, each served on its own
// goroutine. When the process runs out of file descriptors (EMFILE,
// ENFILE) it waits, up to a second at a time, and accepts again: the
// connections it already has free theirs as they end.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			if isTemporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.ServeConn(nc) {
			return ErrServerClosed
		}
	}
}

// isTemporaryAccept reports whether an accept error passes by itself: out
// of descriptors or memory, or a connection that was reset while queued.
func isTemporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ServeConn serves one client connection on a new goroutine. It reports
// false (and closes nc) when the server is closed.
func (s *Server) ServeConn(nc net.Conn) bool {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// CloseIdle closes the client connections waiting for a request and makes
// those with a request in flight close after its response. The supervisor
// calls it when the backend leaves Running, since responses may change.
// It is safe from any goroutine.
func (s *Server) CloseIdle() {
	s.epoch.Add(1)
	s.mu.Lock()
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()
}

// NoteChange records that files changed at t. HTTP dates have a resolution
// of one second, so a file saved twice within a second keeps its
// Last-Modified; from then on, a request whose If-Modified-Since is not
// older than the change's second is forwarded without it, so that the
// backend cannot answer 304 with the stale copy. Safe from any goroutine.
func (s *Server) NoteChange(t time.Time) { s.changedAt.Store(t.Unix()) }

// Close stops accepting, closes every connection and waits for their
// goroutines. Connections handed to a WebSocket endpoint are not waited
// for: they belong to it.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (s *Server) headTimeout() time.Duration  { return orDefault(s.HeadTimeout, DefaultHeadTimeout) }
func (s *Server) idleTimeout() time.Duration  { return orDefault(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Server) bodyTimeout() time.Duration  { return orDefault(s.BodyTimeout, DefaultBodyTimeout) }
func (s *Server) writeTimeout() time.Duration { return orDefault(s.WriteTimeout, DefaultWriteTimeout) }

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}
