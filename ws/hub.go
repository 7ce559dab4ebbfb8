// Package ws is the reload channel: the browser client script, the WebSocket
// it connects to, the Hub that tells every connected tab to reload, and a
// LiveReload protocol v7 server for the browser extension (DESIGN.md, "Live
// reload").
//
// This package does not speak HTTP: the proxy (httpwire/proxy) serves the
// scripts, checks the WebSocket opening handshake and hands the upgraded
// connection over, to Hub.ServeConn for the reload socket on the proxy's
// port and to Hub.ServeLiveReload for the LiveReload port's. The sessions
// run the WebSocket protocol (RFC 6455) on github.com/gobwas/ws.
//
// Messages are JSON text frames sent by the server only:
//
//	{"type":"hello","generation":7,"kind":"restart"}          on connect
//	{"type":"reload","generation":8,"kind":"change"}          Hub.Reload
//	{"type":"restarting"}                                     Hub.Restarting
//	{"type":"building"}                                       Hub.Building
//	{"type":"build-failed","command":...,"exit":...,"output":...}  Hub.BuildFailed
//	{"type":"css","path":"static/app.css"}                    Hub.ReloadCSS
//
// A tab remembers the last generation it saw; when it reconnects and hello
// carries another one, it reloads, so a tab that missed a restart still
// reloads. The kind (see ReloadKind) lets a page whose own live-update
// client (Vite, webpack, Next.js, ...) handles file changes keep its state:
// the client leaves "change" reloads to it.
package ws

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// Prefix is the path under which the reload client's endpoints live on the
// proxy's port.
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
)

const (
	// queueLen is how many frames may wait for one tab. Broadcasts are
	// rare (one per file save), so a full queue means a stuck tab.
	queueLen = 16
	// maxMessage is the largest message (all fragments together) a client
	// may send; bigger ones are closed with 1009. Our clients send at most
	// a LiveReload hello.
	maxMessage = 4 << 10
)

// config holds a Hub's timings; tests shorten them.
type config struct {
	pingInterval time.Duration
	readTimeout  time.Duration // no frame from a tab for this long drops it
	writeTimeout time.Duration
	closeTimeout time.Duration
	queueLen     int
}

func defaultConfig() config {
	return config{
		pingInterval: DefaultPingInterval,
		readTimeout:  2*DefaultPingInterval + 5*time.Second,
		writeTimeout: DefaultWriteTimeout,
		closeTimeout: DefaultCloseTimeout,
		queueLen:     queueLen,
	}
}

// Hub is the set of connected tabs and the broadcasts to them.
//
// The zero value is not usable; use NewHub. All methods are safe for
// concurrent use. Broadcasts (Reload, ReloadCSS, Restarting, Building,
// BuildFailed) never block on
// a tab: each message is encoded once and the same bytes are queued to every
// tab, whose own goroutine writes them; a tab whose queue is full or whose
// write times out is dropped (its client reconnects and catches up through
// the generation in hello).
type Hub struct {
	cfg config

	mu         sync.Mutex
	closed     bool
	generation uint64
	kind       ReloadKind
	hello      []byte // compiled hello frame for generation and kind
	failed     []byte // compiled build-failed frame standing since the last Reload; nil: none
	tabs       map[*tab]struct{}
	enc        frameBuf  // builds broadcast frames; guarded by mu
	payloads   [2][]byte // scratch for their payloads; guarded by mu

	wg       sync.WaitGroup // sessions, writers, the ping loop
	stopPing chan struct{}
}

// NewHub returns a Hub with generation 0 and its ping loop running. Call
// Close to stop it.
func NewHub() *Hub { return newHub(defaultConfig()) }

func newHub(cfg config) *Hub {
	h := &Hub{
		cfg:      cfg,
		tabs:     make(map[*tab]struct{}),
		stopPing: make(chan struct{}),
	}
	h.hello = ws.MustCompileFrame(ws.NewTextFrame(appendGenerationMessage(nil, "hello", 0, Restart)))
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

// ServeConn runs the reload channel's WebSocket session of one tab on conn,
// which the proxy has upgraded (the 101 is written); buffered holds bytes
// the client sent after the handshake (early frames), which ServeConn reads
// first and does not retain. It sends hello with the current generation and
// kind, then the standing build failure if any (see BuildFailed), then
// broadcasts, answers pings and the close handshake, and drops a tab
// that stops answering. It blocks until the session ends and always
// closes conn.
func (h *Hub) ServeConn(conn net.Conn, buffered []byte) {
	h.serve(conn, buffered, kindReload)
}

// ServeLiveReload runs a LiveReload protocol v7 session
// (http://livereload.com/protocols/official-7) on conn, upgraded by the
// proxy on the LiveReload port's /livereload; buffered is as for ServeConn.
// The client must send hello offering official-7 first; the server answers
// hello and from then on sends {"command":"reload"} with liveCSS for Reload
// (path "/") and ReloadCSS (the stylesheet's path).
func (h *Hub) ServeLiveReload(conn net.Conn, buffered []byte) {
	h.serve(conn, buffered, kindLiveReload)
}

func (h *Hub) serve(conn net.Conn, buffered []byte, kind tabKind) {
	t := newTab(conn, kind, &h.cfg)
	hello, failed, ok := h.addTab(t)
	if !ok {
		t.sendClose(ws.StatusGoingAway)
		conn.Close()
		return
	}
	// Hello (and the standing failure) go out before the writer starts, so
	// before any broadcast queued since addTab.
	for _, f := range [...][]byte{hello, failed} {
		if f == nil {
			continue
		}
		if err := t.write(f); err != nil {
			t.kill()
			break
		}
	}
	go t.writeLoop(&h.wg)

	var r io.Reader = conn
	if len(buffered) > 0 {
		r = io.MultiReader(bytes.NewReader(buffered), conn)
	}
	h.readLoop(t, r)

	h.removeTab(t)
	t.stop(0)
	<-t.writerDone
	conn.Close()
	h.wg.Done()
}

// Tabs returns the number of open WebSocket sessions: reload-channel tabs
// and LiveReload clients.
func (h *Hub) Tabs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tabs)
}

// ReloadKind says why tabs are told to reload, so that a page with its own
// live-update client can leave some reloads to it. The zero value is
// Restart, the kind every tab obeys.
type ReloadKind uint8

// The kinds, as the "kind" of reload and hello messages.
const (
	// Restart: the backend process was started or restarted. Every tab
	// reloads: whatever the page's own client knows, the server behind it
	// is new.
	Restart ReloadKind = iota
	// Change: files changed and the backend was not restarted (static
	// mode, attach mode, --reload-only of a file that is not CSS). A page
	// served by a dev server with its own client (Vite, webpack, Next.js,
	// livereload.js, browser-sync) leaves this one to that client, which
	// may update the page in place (HMR) and keep its state.
	Change
	// Failure: the backend crashed, or a first build failed. Every tab
	// reloads, to show the proxy's 503 page.
	Failure

	numKinds
)

var kindNames = [numKinds]string{"restart", "change", "failure"}

// String returns the kind as sent to tabs: "restart", "change" or
// "failure".
func (k ReloadKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "ReloadKind(" + strconv.Itoa(int(k)) + ")"
}

// Reload tells every tab to reload, and makes generation and kind the ones
// announced in hello to tabs that connect later. The supervisor's hooks
// call it when the backend is ready after a restart or a change, and when
// it enters Error; generation should differ from the previous one so that
// tabs that were away notice. A kind out of range counts as Restart.
// Reload withdraws the standing build failure (see BuildFailed): tabs remove
// its overlay on any reload message. LiveReload clients get a full-page
// reload whatever the kind.
//
// The message is encoded once for all tabs: Reload allocates once,
// whatever their number.
func (h *Hub) Reload(generation uint64, kind ReloadKind) {
	if kind >= numKinds {
		kind = Restart
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// One allocation holds both frames: the broadcast and the new hello.
	reload := appendGenerationMessage(h.payloads[0][:0], "reload", generation, kind)
	hello := appendGenerationMessage(h.payloads[1][:0], "hello", generation, kind)
	h.payloads = [2][]byte{reload, hello}
	n := len(reload)
	h.enc.b = make([]byte, 0, 2*ws.MaxHeaderSize+n+len(hello))
	h.enc.frame(ws.OpText, reload)
	n = len(h.enc.b)
	h.enc.frame(ws.OpText, hello)
	buf := h.enc.b
	h.enc.b = nil
	h.generation = generation
	h.kind = kind
	h.hello = buf[n:len(buf):len(buf)]
	h.failed = nil
	h.broadcastLocked(buf[:n:n], liveReloadFull)
}

// ReloadCSS tells every tab to swap the stylesheets whose URL path ends with
// path (a slash-separated path relative to the watched root, such as
// "static/app.css") without reloading the page; tabs where none matches
// refresh all their stylesheets. LiveReload clients get a reload with
// liveCSS.
func (h *Hub) ReloadCSS(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	css := appendCSSMessage(h.payloads[0][:0], path)
	live := appendLiveReloadMessage(h.payloads[1][:0], path)
	h.payloads = [2][]byte{css, live}
	h.enc.b = make([]byte, 0, 2*ws.MaxHeaderSize+len(css)+len(live))
	h.enc.frame(ws.OpText, css)
	n := len(h.enc.b)
	h.enc.frame(ws.OpText, live)
	buf := h.enc.b
	h.enc.b = nil
	h.broadcastLocked(buf[:n:n], buf[n:len(buf):len(buf)])
}

// Restarting tells every tab that the backend is restarting; tabs show a
// small indicator until the next Reload. It does not change Generation
// (tabs connecting meanwhile get the old one in hello and reload on the
// next Reload). LiveReload has no such message.
func (h *Hub) Restarting() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(restartingFrame, nil)
}

// Building tells every tab that a build (--build) started; tabs show the
// same small indicator as for Restarting, saying "building", until the
// next Reload or BuildFailed. Tabs that connect later are not told.
// LiveReload has no such message.
func (h *Hub) Building() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcastLocked(buildingFrame, nil)
}

var (
	restartingFrame = ws.MustCompileFrame(ws.NewTextFrame([]byte(`{"type":"restarting"}`)))
	buildingFrame   = ws.MustCompileFrame(ws.NewTextFrame([]byte(`{"type":"building"}`)))
)

// BuildFailure is a failed build, as tabs show it in their overlay.
type BuildFailure struct {
	// Command is the build command, as the user gave it.
	Command string
	// Exit says how the build ended: "exit 2", "killed by SIGSEGV".
	Exit string
	// Output is the end of the build's output, raw: it may hold ANSI
	// colour codes (the overlay shows SGR colours and drops other escape
	// sequences) and invalid UTF-8 (sent as U+FFFD). Only its last
	// maxFailureOutput bytes are sent, from a line start. BuildFailed does
	// not retain it.
	Output []byte
}

// maxFailureOutput bounds the output a build-failed message carries (the
// supervisor keeps 16 KiB; this only guards against other callers).
const maxFailureOutput = 64 << 10

// BuildFailed tells every tab that a build failed while something keeps
// serving (the old backend, the user's server, the files): tabs show f as
// a dismissible overlay over the page. The failure stands until the next
// Reload, of any kind: tabs that connect meanwhile (a tab opened or
// reloaded afterwards) get it right after hello. A later BuildFailed
// replaces it. LiveReload clients are not told.
func (h *Hub) BuildFailed(f BuildFailure) {
	payload := appendBuildFailedMessage(nil, f)
	var enc frameBuf
	enc.b = make([]byte, 0, ws.MaxHeaderSize+len(payload))
	enc.frame(ws.OpText, payload)
	frame := enc.b[:len(enc.b):len(enc.b)]

	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = frame
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

// Close closes every tab with status 1001 (going away) and waits until
// every session and goroutine of the Hub has ended: tabs that do not answer
// the close within DefaultCloseTimeout, or cannot even be written to, are
// dropped after twice that. A connection given to ServeConn or
// ServeLiveReload after Close gets a 1001 close frame at once. Close is
// idempotent and always returns nil.
func (h *Hub) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stopPing)
		for t := range h.tabs {
			t.stop(ws.StatusGoingAway)
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

// addTab makes t a tab that broadcasts reach, and returns the frames to
// send it first: hello, and the standing build failure (both nil for
// LiveReload; failed nil when none stands). It counts t's session and
// writer in h.wg; the caller must then start t.writeLoop. It reports false
// if the Hub is closed (the session must not start).
func (h *Hub) addTab(t *tab) (hello, failed []byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false
	}
	h.tabs[t] = struct{}{}
	h.wg.Add(2)
	if t.kind == kindReload {
		hello, failed = h.hello, h.failed
	}
	return hello, failed, true
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
