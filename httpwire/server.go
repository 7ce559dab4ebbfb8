package httpwire

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// LocalFile is a response the proxy serves itself, such as the reload
// client script.
type LocalFile struct {
	ContentType string
	Body        []byte
}

// Server accepts client connections and proxies their requests to Backend.
// Set its fields before calling Serve; they must not change afterwards.
type Server struct {
	// Backend tells where each request goes. Required unless Files serves
	// every request (static mode).
	Backend Backend

	// LocalPrefix is the path prefix of the proxy's own endpoints, such as
	// "/.reloadproxy/". Requests under it are never proxied.
	LocalPrefix string
	// LocalFiles are served for GET and HEAD at their exact path.
	LocalFiles map[string]LocalFile
	// LocalUpgrade, when set, receives upgrade requests under LocalPrefix
	// (the reload WebSocket). It owns conn after the call; pending holds
	// the bytes read from conn so far, starting at the request line, and
	// is valid only until LocalUpgrade returns.
	LocalUpgrade func(conn net.Conn, pending []byte)

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
	Files *FileServer

	// HeadTimeout bounds the time from the first byte of a request head to
	// its end; zero means DefaultHeadTimeout.
	HeadTimeout time.Duration
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

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("httpwire: server closed")

// Serve accepts connections on ln until Close. Each connection is served on
// its own goroutine.
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// Out of file descriptors: wait and accept again rather
				// than spin or give up.
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
// goroutines. Connections handed to LocalUpgrade are not waited for.
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

// Shutdown stops accepting and closes idle connections, then waits up to
// timeout for requests in flight before closing the rest.
func (s *Server) Shutdown(timeout time.Duration) {
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	s.CloseIdle()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
	s.Close()
}

func (s *Server) headTimeout() time.Duration {
	if s.HeadTimeout > 0 {
		return s.HeadTimeout
	}
	return DefaultHeadTimeout
}

func (s *Server) proto() string {
	if s.Proto != "" {
		return s.Proto
	}
	return "http"
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}
