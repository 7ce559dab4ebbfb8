// Package ws is the reload channel: the browser client script, the WebSocket
// it connects to, the Hub that tells every connected tab to reload, and a
// LiveReload protocol v7 server for the browser extension (DESIGN.md, "Live
// reload").
//
// The proxy parses HTTP itself and hands connections to this package raw:
// Hub.ServeConn for requests under Prefix on the proxy's port, and
// Hub.ServeLiveReload for every connection on the LiveReload port. Both
// answer plain HTTP requests (the scripts, 404s) themselves and run the
// WebSocket protocol (RFC 6455) on github.com/gobwas/ws.
//
// Messages are JSON text frames sent by the server only:
//
//	{"type":"hello","generation":7}       on connect
//	{"type":"reload","generation":8}      Hub.Reload
//	{"type":"restarting","generation":8}  Hub.Restarting
//	{"type":"css","path":"static/app.css"} Hub.ReloadCSS
//
// A tab remembers the last generation it saw; when it reconnects and hello
// carries another one, it reloads, so a tab that missed a restart still
// reloads.
package ws

import (
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// Prefix is the path under which everything this package serves on the
// proxy's port lives; the proxy hands requests under it to Hub.ServeConn.
const Prefix = "/.reloadproxy/"

// ScriptPath is where the browser client (ClientScript) is served.
const ScriptPath = Prefix + "client.js"

// SocketPath is the WebSocket endpoint the browser client connects to.
const SocketPath = Prefix + "ws"

// Default timings of a Hub.
const (
	// DefaultPingInterval is how often every tab is pinged, so that idle
	// proxies and tunnels (SSH, containers) keep the socket open.
	DefaultPingInterval = 20 * time.Second
	// DefaultWriteTimeout bounds one frame write to a tab; a tab that does
	// not take a frame in that time is dropped.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultCloseTimeout bounds the wait for the peer's close frame after
	// ours (RFC 6455 §7.1.1), and the draining of a failed connection.
	DefaultCloseTimeout = time.Second
	// DefaultHeadTimeout bounds the time to receive the rest of a request
	// head that is not all in pending.
	DefaultHeadTimeout = 10 * time.Second
)

const (
	// queueLen is how many frames may wait for one tab. Broadcasts are
	// rare (one per file save), so a full queue means a stuck tab.
	queueLen = 16
	// maxMessage is the largest message (all fragments together) a client
	// may send; bigger ones are closed with 1009. Our clients send at most
	// a LiveReload hello.
	maxMessage = 4 << 10
	// maxHead bounds a request head, as httpwire does (431 beyond).
	maxHead = 64 << 10
)

// config holds a Hub's timings; tests shorten them.
type config struct {
	pingInterval time.Duration
	readTimeout  time.Duration // no frame from a tab for this long drops it
	writeTimeout time.Duration
	closeTimeout time.Duration
	headTimeout  time.Duration
	queueLen     int
}

func defaultConfig() config {
	return config{
		pingInterval: DefaultPingInterval,
		readTimeout:  2*DefaultPingInterval + 5*time.Second,
		writeTimeout: DefaultWriteTimeout,
		closeTimeout: DefaultCloseTimeout,
		headTimeout:  DefaultHeadTimeout,
		queueLen:     queueLen,
	}
}

// Hub is the set of connected tabs and the broadcasts to them.
//
// The zero value is not usable; use NewHub. All methods are safe for
// concurrent use. Broadcasts (Reload, ReloadCSS, Restarting) never block on
// a tab: each message is encoded once and the same bytes are queued to every
// tab, whose own goroutine writes them; a tab whose queue is full or whose
// write times out is dropped (its client reconnects and catches up through
// the generation in hello).
type Hub struct {
	cfg config

	mu         sync.Mutex
	closed     bool
	generation uint64
	hello      []byte // compiled hello frame for generation
	tabs       map[*tab]struct{}
	handshakes map[net.Conn]struct{} // connections not upgraded yet

	wg       sync.WaitGroup // sessions, writers, the ping loop
	stopPing chan struct{}
}

// NewHub returns a Hub with generation 0 and its ping loop running. Call
// Close to stop it.
func NewHub() *Hub { return newHub(defaultConfig()) }

func newHub(cfg config) *Hub {
	h := &Hub{
		cfg:        cfg,
		tabs:       make(map[*tab]struct{}),
		handshakes: make(map[net.Conn]struct{}),
		stopPing:   make(chan struct{}),
	}
	h.hello = appendGenerationFrame(nil, "hello", 0)
	h.wg.Add(1)
	go h.pingLoop()
	return h
}

// Generation returns the generation of the last Reload (0 before any).
func (h *Hub) Generation() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.generation
}

// Tabs returns the number of open WebSocket sessions: reload-channel tabs
// and LiveReload clients.
func (h *Hub) Tabs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tabs)
}

// Reload tells every tab to reload, and makes generation the one announced
// in hello to tabs that connect later. The supervisor calls it when the
// backend is ready after a restart and when it enters Error; generation
// should differ from the previous one so that tabs that were away notice.
// LiveReload clients get a full-page reload.
func (h *Hub) Reload(generation uint64) {
	// One allocation holds both frames: the broadcast and the new hello.
	buf := make([]byte, 0, 2*(maxFrameHeader+len(`{"type":"reload","generation":}`)+20))
	buf = appendGenerationFrame(buf, "reload", generation)
	n := len(buf)
	buf = appendGenerationFrame(buf, "hello", generation)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.generation = generation
	h.hello = buf[n:len(buf):len(buf)]
	h.broadcastLocked(buf[:n:n], liveReloadFull)
}

// ReloadCSS tells every tab to swap the stylesheets whose URL path ends with
// path (a slash-separated path relative to the watched root, such as
// "static/app.css") without reloading the page; tabs where none matches
// refresh all their stylesheets. LiveReload clients get a reload with
// liveCSS.
func (h *Hub) ReloadCSS(path string) {
	j := jsonStringLen(path)
	buf := make([]byte, 0, 2*maxFrameHeader+len(`{"type":"css","path":}`)+
		len(`{"command":"reload","path":,"liveCSS":true}`)+2*j)
	buf = appendCSSFrame(buf, path)
	n := len(buf)
	buf = appendLiveReloadFrame(buf, path)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(buf[:n:n], buf[n:len(buf):len(buf)])
}

// Restarting tells every tab that the backend is restarting towards
// generation; tabs show a small indicator until the next Reload. It does
// not change Generation (tabs connecting meanwhile get the old one in hello
// and reload on the next Reload). LiveReload has no such message.
func (h *Hub) Restarting(generation uint64) {
	frame := appendGenerationFrame(nil, "restarting", generation)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(frame, nil)
}

// broadcastLocked queues frame to every reload-channel tab and live to every
// LiveReload client past its hello (nil: none). h.mu must be held, so that
// every tab sees broadcasts in the same order and after its hello.
func (h *Hub) broadcastLocked(frame, live []byte) {
	for t := range h.tabs {
		f := frame
		if t.kind == kindLiveReload {
			if !t.ready {
				continue
			}
			f = live
		}
		if f != nil {
			t.enqueue(f)
		}
	}
}

// pingLoop pings every tab each pingInterval. A pong (or any frame) from the
// tab extends its read deadline; a tab that answers nothing is dropped.
func (h *Hub) pingLoop() {
	defer h.wg.Done()
	tick := time.NewTicker(h.cfg.pingInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.stopPing:
			return
		case <-tick.C:
			h.mu.Lock()
			for t := range h.tabs {
				t.enqueue(ws.CompiledPing)
			}
			h.mu.Unlock()
		}
	}
}

// Close closes every tab with status 1001 (going away), aborts handshakes in
// progress, and waits until every session and goroutine of the Hub has
// ended: tabs that do not answer the close within DefaultCloseTimeout, or
// cannot even be written to, are dropped after twice that. ServeConn and ServeLiveReload called after Close answer 503.
// Close is idempotent and always returns nil.
func (h *Hub) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stopPing)
		for t := range h.tabs {
			t.stop(ws.StatusGoingAway)
		}
		for c := range h.handshakes {
			c.Close()
		}
	}
	h.mu.Unlock()

	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * h.cfg.closeTimeout):
		// A tab stuck in a write does not get to send its close frame
		// before its write deadline: drop whatever is left.
		h.mu.Lock()
		for t := range h.tabs {
			t.kill()
		}
		h.mu.Unlock()
		<-done
	}
	return nil
}

// beginHandshake registers conn as being handshaken, so that Close can
// abort it. It reports false if the Hub is closed.
func (h *Hub) beginHandshake(conn net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.handshakes[conn] = struct{}{}
	h.wg.Add(1)
	return true
}

// endHandshake undoes beginHandshake for a connection that does not become
// a tab.
func (h *Hub) endHandshake(conn net.Conn) {
	h.mu.Lock()
	delete(h.handshakes, conn)
	h.mu.Unlock()
	h.wg.Done()
}

// addTab turns a handshaken connection into a tab that broadcasts reach,
// and returns the hello frame to send it first (nil for LiveReload). The
// caller must then start t.writeLoop, which addTab counted in h.wg. It
// reports false if the Hub was closed meanwhile (the session must end).
func (h *Hub) addTab(t *tab) (hello []byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.handshakes, t.conn)
	if h.closed {
		return nil, false
	}
	h.tabs[t] = struct{}{}
	h.wg.Add(1)
	if t.kind == kindReload {
		hello = h.hello
	}
	return hello, true
}

// readyLiveReload marks a LiveReload client as past its hello and queues
// the server's hello before any reload.
func (h *Hub) readyLiveReload(t *tab) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.ready {
		return
	}
	t.ready = true
	t.enqueue(liveReloadHello)
}

// removeTab forgets t; its session is ending.
func (h *Hub) removeTab(t *tab) {
	h.mu.Lock()
	delete(h.tabs, t)
	h.mu.Unlock()
}
