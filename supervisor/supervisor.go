// Package supervisor runs the backend web server, restarts it when files
// change, and tells the proxy where each request goes (DESIGN.md, "States").
//
// One goroutine, the loop started by [Supervisor.Run], owns every piece of
// mutable state. The child's wait, the readiness probe, the timers,
// [Supervisor.Changed], [Supervisor.Failed] and waiting [Supervisor.Route]
// callers only post messages to it. The loop publishes an immutable snapshot
// (state, generation, address, failure) through an atomic pointer, so Route
// in the Running state reads one pointer and returns: no lock, no channel, no
// allocation.
//
// # Processes
//
// The backend runs in its own process group with Pdeathsig SIGKILL, stdin
// from /dev/null and PORT=<backend port> appended to the environment (and
// PYTHONUNBUFFERED=1 unless set: its output goes through a pipe, where Python
// would hold print() output back by blocks). Its stdout and stderr pass
// through to Config.Stdout and Config.Stderr while the last lines of both
// are kept for [Failure.Output]. Any output also wakes the readiness probe
// early, since servers print when they start listening.
//
// Before each start, a connect to Addr checks that nothing else listens
// there: proxying to a stale server would look like a change that had no
// effect.
//
// Pdeathsig fires when the thread that forked the child exits, not the
// process. Each backend is therefore started from a goroutine that locks its
// OS thread and never unlocks it: the same goroutine waits for the child and
// returns only after the child and its descendants are gone, at which point
// the runtime ends that thread.
//
// Run makes the whole process a child subreaper (PR_SET_CHILD_SUBREAPER), so
// descendants that left the backend's process group (even through setsid)
// are reparented to it when their parent dies. After the backend exits or is
// stopped, every child of this process that the supervisor did not start
// itself is treated as a stray: it gets SIGKILL and is reaped with wait4 on
// its own pid. A program that embeds a Supervisor must therefore not start
// other child processes of its own while Run runs; several Supervisors in
// one process know each other's children and leave them alone.
package supervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors returned by New and Run.
var (
	// ErrNoAddr means Config.Addr is empty.
	ErrNoAddr = errors.New("supervisor: no backend address")
	// ErrBadAddr means Config.Addr is not host:port with a numeric port.
	ErrBadAddr = errors.New("supervisor: backend address is not host:port")
	// ErrBadConfig means another Config field is invalid (a negative
	// duration, an empty program name).
	ErrBadConfig = errors.New("supervisor: invalid configuration")
	// ErrRunTwice means Run was called more than once on one Supervisor.
	ErrRunTwice = errors.New("supervisor: Run called more than once")
)

// Defaults for the zero values of Config fields.
const (
	DefaultReadyPath    = "/"
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopSignal   = syscall.SIGKILL
	DefaultStopTimeout  = 5 * time.Second
	DefaultDebounce     = 50 * time.Millisecond
)

// Config configures a Supervisor. The zero value of each field selects the
// default named in its comment.
type Config struct {
	// Command is the backend's argv, run without a shell. Empty selects
	// attach mode: no process is started and Addr is only probed.
	Command []string
	// Addr is the backend's host:port; the command must listen there.
	// Required.
	Addr string
	// ReadyPath is the path of the readiness probe's HEAD request; default
	// "/".
	ReadyPath string
	// ReadyTimeout bounds how long a request waits for the backend to
	// become ready before it gets a 502 Failure; default 60s.
	ReadyTimeout time.Duration
	// StopSignal is sent to the backend's process group to stop it;
	// default SIGKILL (like http-process-proxy). Once the process itself
	// has exited, whatever is left of its group, and its strays, get
	// SIGKILL at once.
	StopSignal syscall.Signal
	// StopTimeout is how long a stopping backend may take before its group
	// gets SIGKILL; default 5s. Unused when StopSignal is SIGKILL.
	StopTimeout time.Duration
	// Debounce is how long files must stay quiet before the backend starts
	// again after a change; default 50ms. The first change stops the
	// backend at once.
	Debounce time.Duration
	// IdleStop stops the backend after that long without a Route call; the
	// next Route starts it again. Zero disables it; ignored in attach mode.
	// A long-lived connection (a WebSocket) does not call Route and so does
	// not count as activity.
	IdleStop time.Duration
	// Stdout and Stderr receive the backend's output as it comes; default
	// os.Stdout and os.Stderr. Write errors are ignored so that a broken
	// terminal never blocks the backend.
	//
	// When both are the same destination (the same writer, or *os.File
	// values open on the same file, such as one terminal), the child gets
	// one pipe for both and everything goes to Stdout: Failure.Output then
	// keeps the exact order of the lines. Otherwise the two pipes are read
	// concurrently and lines written at nearly the same moment on both
	// streams may swap places in Failure.Output.
	Stdout, Stderr io.Writer
	// Log receives one line per event (starting, ready, exited, ...);
	// nil discards them. It is called from the loop goroutine only.
	Log Logger

	// The hooks are called on the loop goroutine, after the new state is
	// published, so they see it through State and Route. They must not
	// block and must not call Route (Route may wait for the loop); they may
	// call State, Changed and Failed. Nil hooks are skipped.

	// OnReady is called each time Running is entered with a new
	// generation (after each start, and at the first): the proxy tells
	// browsers to reload. Returning to Running with the same generation
	// (see Failed) does not call it.
	OnReady func(generation uint64)
	// OnError is called when Error is entered: browsers reload to show the
	// 503 page.
	OnError func(generation uint64)
	// OnLeaveRunning is called whenever Running is left, for any reason:
	// the proxy closes idle keep-alive client connections.
	OnLeaveRunning func()
}

// Logger receives the supervisor's event lines. It is called only from the
// loop goroutine.
type Logger interface {
	Info(msg string)
	Warn(msg string)
	Error(msg string)
}

// State is the state of the backend (DESIGN.md, "States").
type State int32

// The states. The zero value is Loading, which is also the state before Run.
const (
	// Loading: the backend is starting (or about to start once files are
	// quiet) and is being probed; requests wait.
	Loading State = iota
	// Running: the backend answered the probe; requests pass through.
	Running
	// Killing: the backend is being stopped for a restart or an idle stop;
	// requests wait.
	Killing
	// Error: the backend exited by itself or could not start; requests get
	// the Failure.
	Error
	// Idle: the backend was stopped after Config.IdleStop without requests;
	// the next request starts it.
	Idle
	// Stopped: Run has returned; requests get a 503 Failure.
	Stopped
)

var stateNames = [...]string{"Loading", "Running", "Killing", "Error", "Idle", "Stopped"}

// String returns the state's name, e.g. "Running".
func (st State) String() string {
	if st >= 0 && int(st) < len(stateNames) {
		return stateNames[st]
	}
	return "State(" + strconv.Itoa(int(st)) + ")"
}

// Route says where the next request goes.
type Route struct {
	// Addr is the backend's host:port (always set).
	Addr string
	// Generation increments at each start of the backend (in attach mode:
	// at each probe after a change or a failure). A client connection
	// drops its paired backend connection when it changes.
	Generation uint64
	// Failure, when non-nil, is answered instead of proxying.
	Failure *Failure
}

// Failure describes why the request cannot be proxied. A Failure is
// immutable once published; callers must not modify it, Output included.
type Failure struct {
	// Status is 503 when the backend exited or could not start (Error
	// state, or Stopped), 502 when it did not become ready within
	// ReadyTimeout.
	Status int
	// Title is one line, e.g. "python3 exited with status 1".
	Title string
	// Detail is a sentence or two in plain words: the command line and
	// what to do.
	Detail string
	// Output is the last lines (at most 40 lines, 16 KiB) of the
	// backend's stdout and stderr, interleaved in arrival order, raw.
	Output []byte
}

// Supervisor owns one backend. Create it with New and start it with Run.
// Changed, Failed, Route and State are safe to call from any goroutine, also
// before Run and after it returned.
type Supervisor struct {
	cfg     Config
	attach  bool
	merged  bool   // Stdout and Stderr are one destination: give the child one pipe
	name    string // base name of Command[0], for messages
	cmdline string // Command quoted for a shell, for messages
	port    string // Addr's port, for $PORT
	request []byte // the probe's request

	snap    atomic.Pointer[snapshot]
	epoch   time.Time    // lastUse is measured from it (monotonic)
	lastUse atomic.Int64 // ns since epoch of the last Route; only with IdleStop

	ran atomic.Bool

	// Mailboxes: the poster records its message and does a non-blocking
	// send on a one-slot channel; the loop drains. Posting never blocks and
	// nothing is lost, since the loop reads the recorded data.
	changeMu    sync.Mutex
	changeFirst string
	changeN     int
	changeC     chan struct{}
	failedGen   atomic.Uint64
	failedC     chan struct{}
	wakeC       chan struct{}

	// From the process and probe goroutines.
	procC  chan procMsg
	probeC chan probeMsg
}

// snapshot is what the loop publishes. It is never modified once stored;
// next is closed when a newer snapshot replaces it, which releases the
// Route callers waiting on it.
type snapshot struct {
	state State
	route Route
	out   *tail // output of the current process, for a waiter's 502; may be nil
	next  chan struct{}
}

// New checks cfg, applies defaults and returns a Supervisor. It has no side
// effects: nothing is started or probed before Run.
func New(cfg Config) (*Supervisor, error) {
	if cfg.Addr == "" {
		return nil, ErrNoAddr
	}
	_, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadAddr, cfg.Addr, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return nil, fmt.Errorf("%w: %q: port must be a number from 1 to 65535", ErrBadAddr, cfg.Addr)
	}
	if len(cfg.Command) > 0 && cfg.Command[0] == "" {
		return nil, fmt.Errorf("%w: empty program name", ErrBadConfig)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ReadyTimeout", cfg.ReadyTimeout}, {"StopTimeout", cfg.StopTimeout},
		{"Debounce", cfg.Debounce}, {"IdleStop", cfg.IdleStop},
	} {
		if d.v < 0 {
			return nil, fmt.Errorf("%w: negative %s %v", ErrBadConfig, d.name, d.v)
		}
	}
	if cfg.StopSignal < 0 {
		return nil, fmt.Errorf("%w: invalid stop signal %d", ErrBadConfig, int(cfg.StopSignal))
	}
	if cfg.ReadyPath == "" {
		cfg.ReadyPath = DefaultReadyPath
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = DefaultStopSignal
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Log == nil {
		cfg.Log = discardLogger{}
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	s := &Supervisor{
		cfg:     cfg,
		attach:  len(cfg.Command) == 0,
		port:    port,
		request: []byte("HEAD " + cfg.ReadyPath + " HTTP/1.1\r\nHost: " + cfg.Addr + "\r\nUser-Agent: reloadproxy\r\nConnection: close\r\n\r\n"),
		epoch:   time.Now(),
		changeC: make(chan struct{}, 1),
		failedC: make(chan struct{}, 1),
		wakeC:   make(chan struct{}, 1),
		procC:   make(chan procMsg, 2),
		probeC:  make(chan probeMsg, 1),
	}
	s.merged = sameDestination(cfg.Stdout, cfg.Stderr)
	if !s.attach {
		s.name = filepath.Base(cfg.Command[0])
		s.cmdline = quoteCommand(cfg.Command)
	}
	if cfg.IdleStop > 0 && s.attach {
		s.cfg.IdleStop = 0
	}
	s.snap.Store(&snapshot{state: Loading, route: Route{Addr: cfg.Addr}, next: make(chan struct{})})
	return s, nil
}

// State returns the current state. Safe from any goroutine.
func (s *Supervisor) State() State { return s.snap.Load().state }

// Changed reports a file change (from the watcher). It never blocks; changes
// posted before the loop reads them coalesce. Safe from any goroutine.
func (s *Supervisor) Changed(path string) {
	s.changeMu.Lock()
	if s.changeN == 0 {
		s.changeFirst = path
	}
	s.changeN++
	s.changeMu.Unlock()
	notify(s.changeC)
}

// takeChanges returns and clears the changes posted since the last call.
func (s *Supervisor) takeChanges() (first string, n int) {
	s.changeMu.Lock()
	first, n = s.changeFirst, s.changeN
	s.changeFirst, s.changeN = "", 0
	s.changeMu.Unlock()
	return first, n
}

// Failed reports that the proxy saw a refused connection, or EOF before any
// response byte, on a backend of that generation; a stale generation is
// ignored. If that backend is Running, the loop leaves Running and probes it
// again while requests wait: in attach mode as a new generation (OnReady
// when it answers again); with a process, as the same generation, which
// returns to Running without OnReady if the process still answers, or goes
// to Error when its exit arrives. It never blocks. Safe from any goroutine.
func (s *Supervisor) Failed(generation uint64) {
	for {
		old := s.failedGen.Load()
		if generation <= old || s.failedGen.CompareAndSwap(old, generation) {
			break
		}
	}
	notify(s.failedC)
}

// Route returns where the next request goes. Safe from any goroutine.
//
// In Running it returns at once without allocating. In Error and Stopped it
// returns the Failure at once. In Loading and Killing it waits until Running
// (and returns the new route), until Error (and returns its Failure), or for
// at most ReadyTimeout (and returns a 502 Failure). In Idle it asks the loop
// to start the backend and waits likewise.
func (s *Supervisor) Route() Route {
	sn := s.snap.Load()
	if sn.state == Running {
		s.touch()
		return sn.route
	}
	return s.routeSlow(sn)
}

// touch records activity for IdleStop. It writes the shared word at most
// every 10ms so that busy connections on many cores do not fight over it.
func (s *Supervisor) touch() {
	if s.cfg.IdleStop == 0 {
		return
	}
	now := int64(time.Since(s.epoch))
	if now-s.lastUse.Load() > int64(10*time.Millisecond) {
		s.lastUse.Store(now)
	}
}

func (s *Supervisor) routeSlow(sn *snapshot) Route {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch sn.state {
		case Running:
			s.touch()
			return sn.route
		case Error, Stopped:
			return sn.route
		case Loading:
			if sn.route.Failure != nil { // the loop's ready timeout passed
				return sn.route
			}
		case Idle:
			s.lastUse.Store(int64(time.Since(s.epoch)))
			notify(s.wakeC)
		}
		if timer == nil {
			timer = time.NewTimer(s.cfg.ReadyTimeout)
		}
		select {
		case <-sn.next:
			sn = s.snap.Load()
		case <-timer.C:
			return Route{Addr: s.cfg.Addr, Generation: sn.route.Generation, Failure: s.notReadyFailure(sn.out)}
		}
	}
}

// sameDestination reports whether a and b write to the same place.
func sameDestination(a, b io.Writer) bool {
	fa, okA := a.(*os.File)
	fb, okB := b.(*os.File)
	if okA && okB {
		if fa == fb {
			return true
		}
		sa, errA := fa.Stat()
		sb, errB := fb.Stat()
		return errA == nil && errB == nil && os.SameFile(sa, sb)
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta != nil && ta.Comparable() && a == b
}

// notify does a non-blocking send on a one-slot channel.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

type discardLogger struct{}

func (discardLogger) Info(string)  {}
func (discardLogger) Warn(string)  {}
func (discardLogger) Error(string) {}
