// Package supervisor runs the backend web server, restarts it when files
// change, and tells the proxy where each request goes (DESIGN.md, "States").
//
// It has three modes, chosen by Config: proxy mode (Command set) starts,
// probes and restarts a backend; attach mode (Addr, no Command) only probes
// a server the user runs; static mode (neither) has no backend at all and
// turns file changes into new generations for the browsers. In every mode an
// optional build command (Config.Build) runs before the browsers are told to
// reload (DESIGN.md, "Build step").
//
// One generation counter numbers what the browsers see: each start of the
// backend (attach mode: each probe round after a change or a refused
// connection; static mode: each change) takes the next one, and
// [Config.OnReady] and [Config.OnError] pass it on, each generation at most
// once, so a tab that was away while one of them happened notices.
//
// One goroutine, the loop started by [Supervisor.Run], owns every piece of
// mutable state. The child's wait, the build's wait, the readiness probe, the
// timers, [Supervisor.Changed], [Supervisor.Restart], [Supervisor.Failed] and
// waiting [Supervisor.Route] callers only post messages to it. The loop publishes an immutable snapshot
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
// The build runs as `sh -c BUILD` in the working directory, in its own
// process group with Pdeathsig, its output passed through and kept like the
// backend's. A build that a change makes stale gets SIGKILL on its whole
// group and is reaped, members of the group reparented here included, before
// the next one starts.
//
// Pdeathsig fires when the thread that forked the child exits, not the
// process. Each backend (and each build) is therefore started from a goroutine that locks its
// OS thread and never unlocks it: the same goroutine waits for the child and
// returns only after the child and its descendants are gone, at which point
// the runtime ends that thread.
//
// In proxy mode, Run makes the whole process a child subreaper (PR_SET_CHILD_SUBREAPER), so
// descendants that left the backend's process group (even through setsid)
// are reparented to it when their parent dies. After the backend exits or is
// stopped, every child of this process that the supervisor did not start
// itself is treated as a stray: it gets SIGKILL and is reaped with wait4 on
// its own pid. A program that embeds a Supervisor must therefore not start
// other child processes of its own while Run runs; several Supervisors in
// one process know each other's children and leave them alone.
//
// A program that must exit at once, without waiting for Run's stop (a
// second Ctrl+C), calls [Supervisor.Kill] first: Pdeathsig would kill the
// backend but not its descendants that left its process group.
package supervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors returned by New and Run.
var (
	// ErrNoAddr means Config.Addr is empty although Command is set.
	ErrNoAddr = errors.New("supervisor: no backend address")
	// ErrBadAddr means Config.Addr is not host:port with a numeric port.
	ErrBadAddr = errors.New("supervisor: backend address is not host:port")
	// ErrBadConfig means another Config field is invalid (a negative
	// duration, an empty program name, a FirstGeneration of 2^53 or more).
	ErrBadConfig = errors.New("supervisor: invalid configuration")
	// ErrRunTwice means Run was called more than once on one Supervisor.
	ErrRunTwice = errors.New("supervisor: Run called more than once")
)

// Defaults for the zero values of Config fields. DefaultDebounce is not one:
// a zero Debounce means none; callers apply DefaultDebounce themselves.
const (
	DefaultReadyPath    = "/"
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopSignal   = syscall.SIGKILL
	DefaultStopTimeout  = 5 * time.Second
	DefaultDebounce     = 50 * time.Millisecond
)

// maxGeneration bounds Config.FirstGeneration: generations reach browsers as
// JavaScript numbers, exact only below 2^53.
const maxGeneration = 1 << 53

// Config configures a Supervisor. The zero value of each field selects the
// default named in its comment.
type Config struct {
	// Command is the backend's argv, run without a shell. Empty selects
	// attach mode (with Addr: no process is started and Addr is only
	// probed) or static mode (without Addr: nothing is started or probed).
	Command []string
	// Addr is the backend's host:port; the command must listen there.
	// Required with Command; empty without Command selects static mode.
	Addr string
	// Build is a shell command (run as `sh -c Build`) run before every
	// start of the backend, the first included; in attach and static modes
	// it runs on each change, before the browsers reload. Empty: no build.
	// See DESIGN.md, "Build step", and the hooks OnBuildStarted and
	// OnBuildFailed.
	Build string
	// FirstGeneration is the first generation; zero means 1. A caller that
	// wants tabs left open across its own restart to notice passes a
	// time-based value such as time.Now().UnixMilli(). It must stay below
	// 2^53 (generations reach JavaScript as numbers).
	FirstGeneration uint64
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
	// Debounce is how long files must stay quiet after a change before the
	// backend starts again (or, with Build, before the build starts; in
	// static mode, before the browsers reload). Zero means no debounce;
	// DefaultDebounce is the usual value. Without Build, the first change
	// stops the backend at once.
	Debounce time.Duration
	// IdleStop stops the backend after that long without a Route call; the
	// next Route starts it again. Zero disables it; ignored in attach and
	// static modes. It waits while a build runs.
	// A long-lived connection (a WebSocket) does not call Route and so does
	// not count as activity.
	IdleStop time.Duration
	// Stdout and Stderr receive the backend's and the build's output as it
	// comes; default
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
	// call State, Changed, Restart and Failed. Nil hooks are skipped.

	// OnReady is called each time Running is entered with a new
	// generation, and in static mode at Run's start and after each
	// change: the proxy tells browsers to reload (or, for reason Started,
	// may skip it). Returning to Running with the same generation (see
	// Failed) does not call it.
	OnReady func(generation uint64, reason ReloadReason)
	// OnError is called when Error is entered, or when the Failure of
	// Error is replaced (a build failed while the backend was down), with
	// a generation no earlier hook call carried: browsers reload to show
	// the 503 page.
	OnError func(generation uint64)
	// OnLeaveRunning is called whenever Running is left, for any reason:
	// the proxy closes idle keep-alive client connections.
	OnLeaveRunning func()
	// OnBuildStarted is called when a build starts (not when a start that
	// failed for lack of resources is tried again): tabs may show a
	// "building" badge until the next OnReady, OnError or OnBuildFailed.
	OnBuildStarted func()
	// OnBuildFailed is called when a build fails while something keeps
	// serving: the old backend in proxy mode, the user's server in attach
	// mode, the files in static mode. Tabs show the output as an overlay;
	// the next OnReady clears it. When no backend runs (the first build,
	// or after a crash), the failure becomes Error's Failure instead and
	// OnError is called. A build cancelled by a change is never reported.
	OnBuildFailed func(BuildFailure)
	// OnRestartLoop is called once per path (in proxy mode) when that path
	// changed early in three restarts in a row: while the backend was
	// starting, before it first answered, or within 500 ms after. The
	// backend probably writes it itself as it starts. From then on, its
	// early changes are ignored, as long as every start changes it; a
	// change at any other time (an edit) restarts the backend as usual and
	// ends that, until three restarts in a row flag it again (logged, with
	// no second call). Without the hook, the supervisor logs a warning
	// itself. See loop.go, "The restart-loop guard".
	OnRestartLoop func(path string)
	// OnBuildLoop is called once per path (or directory, isDir) when
	// changes of it (of files in it) cancelled three builds in a row as
	// they ran: the build probably writes there, in a watched directory.
	// Nothing else changes: the next build still runs. Without the hook,
	// the supervisor logs a warning itself.
	OnBuildLoop func(path string, isDir bool)
}

// ReloadReason says why OnReady was called.
type ReloadReason int

// The reasons.
const (
	// Started: the first OnReady of the run, with no OnError before it.
	// Tabs have seen nothing of this run but, possibly, the 502 page of a
	// first start that took longer than ReadyTimeout; reloading them is
	// harmless.
	Started ReloadReason = iota
	// Restart: the backend process was started again: after a change,
	// after a crash was fixed, after Restart, after an idle stop.
	Restart
	// Change: attach and static modes: files changed (or Restart was
	// called) and nothing was restarted: in attach mode the user's server
	// answered again after the change, in static mode the change itself.
	Change
	// Recovered: attach mode: the user's server answered again after the
	// proxy saw a refused connection (see Failed): it restarted by itself.
	Recovered
)

var reasonNames = [...]string{"started", "restart", "change", "recovered"}

// String returns the reason in lower case, e.g. "restart".
func (r ReloadReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "ReloadReason(" + strconv.Itoa(int(r)) + ")"
}

// BuildFailure describes a build that failed (see Config.OnBuildFailed).
// Output is not modified once passed.
type BuildFailure struct {
	// Command is Config.Build.
	Command string
	// ExitStatus is the build's exit status, or -1 when it was killed by a
	// signal or could not start.
	ExitStatus int
	// Exit says how it ended: "exit 2", "killed by SIGSEGV", "cannot start:
	// ..."; the same words as in Failure.Title.
	Exit string
	// Output is the last lines (at most 40 lines, 16 KiB) of the build's
	// stdout and stderr, interleaved in arrival order, raw.
	Output []byte
	// Duration is how long it ran.
	Duration time.Duration
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
	// quiet, or once the build is done) and is being probed; requests
	// wait.
	Loading State = iota
	// Running: the backend answered the probe; requests pass through.
	// A build for the next start may be running meanwhile. Static mode is
	// always Running.
	Running
	// Killing: the backend is being stopped for a restart or an idle stop;
	// requests wait.
	Killing
	// Error: the backend exited by itself or could not start, or the build
	// failed with no backend running; requests get the Failure.
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
	// Addr is the backend's host:port (empty in static mode only).
	Addr string
	// Generation increments at each start of the backend (in attach mode:
	// at each probe after a change or a failure; in static mode: at each
	// change), and when Error is entered after the generation was
	// announced. A client connection drops its paired backend connection
	// when it changes.
	Generation uint64
	// Failure, when non-nil, is answered instead of proxying.
	Failure *Failure
}

// Failure describes why the request cannot be proxied. A Failure is
// immutable once published; callers must not modify it, Output included.
type Failure struct {
	// Status is 503 when the backend exited or could not start, or the
	// build failed (Error state, or Stopped), or a start keeps failing for
	// lack of resources; 502 when it did not become ready (or the build did
	// not finish) within ReadyTimeout.
	Status int
	// Title is one line, e.g. "python3 exited with status 1", "build
	// failed (exit 2)".
	Title string
	// Detail is a sentence or two in plain words: the command line and
	// what to do.
	Detail string
	// Output is the last lines (at most 40 lines, 16 KiB) of the
	// backend's (or the build's) stdout and stderr, interleaved in arrival
	// order, raw.
	Output []byte
}

// Supervisor owns one backend. Create it with New and start it with Run.
// Changed, Restart, Failed, Route, State and Kill are safe to call from any
// goroutine, also before Run and after it returned.
type Supervisor struct {
	cfg     Config
	mode    mode
	merged  bool   // Stdout and Stderr are one destination: give the child one pipe
	name    string // base name of Command[0], for messages
	cmdline string // Command quoted for a shell, for messages
	port    string // Addr's port, for $PORT
	request []byte // the probe's request

	snap    atomic.Pointer[snapshot]
	epoch   time.Time    // lastUse is measured from it (monotonic)
	lastUse atomic.Int64 // ns since epoch of the last Route; only with IdleStop

	ran    atomic.Bool
	killed bool // Kill was called: start no process; guarded by children.mu (Linux)

	// Mailboxes: the poster records its message and does a non-blocking
	// send on a one-slot channel; the loop drains. Posting never blocks and
	// nothing is lost, since the loop reads the recorded data.
	changeMu    sync.Mutex
	changePaths []string // distinct, in order; at most maxBatchPaths
	changeMore  bool     // more distinct paths were posted than changePaths holds
	changeN     int
	changeAway  []string // of changePaths, those posted by ChangedAway
	changeC     chan struct{}
	restartC    chan struct{}
	reloadC     chan struct{}
	failedGen   atomic.Uint64
	failedC     chan struct{}
	wakeC       chan struct{}

	// From the process, build and probe goroutines.
	procC  chan procMsg
	buildC chan procMsg
	probeC chan probeMsg
}

// mode is what the Supervisor supervises.
type mode uint8

const (
	proxyMode  mode = iota // Command: a process to start and probe
	attachMode             // Addr only: a server to probe
	staticMode             // neither: files only
)

// snapshot is what the loop publishes. It is never modified once stored;
// next is closed when a newer snapshot replaces it, which releases the
// Route callers waiting on it.
type snapshot struct {
	state State
	route Route
	// What a waiter that times out describes in its 502: the output of the
	// current process or build (may be nil), whether it is the build, and
	// the error of a start being retried.
	out      *tail
	building bool
	retryErr error
	// A restart between two processes: the old one has not exited yet
	// (oldStopping), or it has and the next waits for the files to be
	// quiet after quietAfter changed.
	oldStopping bool
	quietAfter  string
	next        chan struct{}
}

// New checks cfg, applies defaults and returns a Supervisor. It has no side
// effects: nothing is started or probed before Run.
func New(cfg Config) (*Supervisor, error) {
	m := proxyMode
	switch {
	case len(cfg.Command) == 0 && cfg.Addr == "":
		m = staticMode
	case len(cfg.Command) == 0:
		m = attachMode
	case cfg.Addr == "":
		return nil, ErrNoAddr
	}
	var port string
	if m != staticMode {
		var err error
		_, port, err = net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadAddr, cfg.Addr, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%w: %q: port must be a number from 1 to 65535", ErrBadAddr, cfg.Addr)
		}
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
	if cfg.FirstGeneration >= maxGeneration {
		return nil, fmt.Errorf("%w: FirstGeneration %d is not below 2^53", ErrBadConfig, cfg.FirstGeneration)
	}
	if cfg.FirstGeneration == 0 {
		cfg.FirstGeneration = 1
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
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Log == nil {
		cfg.Log = discardLogger{}
	}
	if m != proxyMode {
		cfg.IdleStop = 0
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	s := &Supervisor{
		cfg:      cfg,
		mode:     m,
		port:     port,
		epoch:    time.Now(),
		changeC:  make(chan struct{}, 1),
		restartC: make(chan struct{}, 1),
		reloadC:  make(chan struct{}, 1),
		failedC:  make(chan struct{}, 1),
		wakeC:    make(chan struct{}, 1),
		procC:    make(chan procMsg, 2),
		buildC:   make(chan procMsg, 2),
		probeC:   make(chan probeMsg, 1),
	}
	if m != staticMode {
		s.request = []byte("HEAD " + cfg.ReadyPath + " HTTP/1.1\r\nHost: " + cfg.Addr + "\r\nUser-Agent: reloadproxy\r\nConnection: close\r\n\r\n")
	}
	s.merged = sameDestination(cfg.Stdout, cfg.Stderr)
	if m == proxyMode {
		s.name = filepath.Base(cfg.Command[0])
		s.cmdline = quoteCommand(cfg.Command)
	}
	s.snap.Store(&snapshot{state: Loading, route: Route{Addr: cfg.Addr, Generation: cfg.FirstGeneration - 1}, next: make(chan struct{})})
	return s, nil
}

// State returns the current state. Safe from any goroutine.
func (s *Supervisor) State() State { return s.snap.Load().state }

// Changed reports a file change (from the watcher). It never blocks; changes
// posted before the loop reads them coalesce. A path that OnRestartLoop
// reported may be ignored, but only when it changes as the backend starts
// (see OnRestartLoop). Safe from any goroutine.
func (s *Supervisor) Changed(path string) {
	s.changed(path, false)
}

// ChangedAway is Changed for a path that no longer exists: deleted, or
// moved away, as the temporary file of a save that renames it over the
// original (sed -i, an editor's atomic save). It counts as a change all the
// same; a message names another path of the same changes if there is one
// (the original's, rather than a temporary name nobody knows).
func (s *Supervisor) ChangedAway(path string) {
	s.changed(path, true)
}

func (s *Supervisor) changed(path string, away bool) {
	s.changeMu.Lock()
	s.changePaths, s.changeMore = addPath(s.changePaths, s.changeMore, path)
	switch {
	case !away:
		s.changeAway = slices.DeleteFunc(s.changeAway, func(p string) bool { return p == path }) // it is back
	case slices.Contains(s.changePaths, path) && !slices.Contains(s.changeAway, path):
		s.changeAway = append(s.changeAway, path)
	}
	s.changeN++
	s.changeMu.Unlock()
	notify(s.changeC)
}

// maxBatchPaths bounds the distinct paths a batch of changes names: the
// restart-loop guard needs them all, and a batch with more (a checkout) is
// never the write of a server that is starting.
const maxBatchPaths = 64

// changeBatch is the changes Changed posted between two reads of the loop.
type changeBatch struct {
	paths []string // distinct, in order of arrival; at most maxBatchPaths
	more  bool     // more distinct paths changed than paths holds
	n     int      // changes posted, repeats included; 0: a Restart
	away  []string // of paths, those that no longer exist (ChangedAway)
}

// namedPath is the path a message names for paths: the first that still
// exists, else the first.
func namedPath(paths, away []string) string {
	for _, p := range paths {
		if !slices.Contains(away, p) {
			return p
		}
	}
	if len(paths) > 0 {
		return paths[0]
	}
	return ""
}

// addPath adds path to the distinct paths of a batch, or sets more when
// they are full.
func addPath(paths []string, more bool, path string) ([]string, bool) {
	switch {
	case more || slices.Contains(paths, path):
	case len(paths) < maxBatchPaths:
		paths = append(paths, path)
	default:
		more = true
	}
	return paths, more
}

// takeChanges returns and clears the changes posted since the last call.
func (s *Supervisor) takeChanges() changeBatch {
	s.changeMu.Lock()
	b := changeBatch{paths: s.changePaths, more: s.changeMore, n: s.changeN, away: s.changeAway}
	s.changePaths, s.changeMore, s.changeN, s.changeAway = nil, false, 0, nil
	s.changeMu.Unlock()
	return b
}

// Restart asks for a rebuild (with Build) and a restart by hand, as for a
// change of files but without waiting for Debounce (SIGHUP). In attach and
// static modes it rebuilds and the browsers reload with reason Change; in
// Idle it starts the backend. It never blocks. Safe from any goroutine.
func (s *Supervisor) Restart() { notify(s.restartC) }

// Reload asks for a new generation without a restart or a build (a
// --reload-only file changed): while Running, OnReady is called with it and
// reason Change, so that tabs away at the moment notice too. In the other
// states the restart under way reloads the tabs anyway, and Reload does
// nothing. It never blocks. Safe from any goroutine.
func (s *Supervisor) Reload() { notify(s.reloadC) }

// Failed reports that the proxy saw a refused connection, or EOF before any
// response byte, on a backend of that generation; a stale generation is
// ignored. If that backend is Running, the loop leaves Running and probes it
// again while requests wait: in attach mode as a new generation (OnReady
// with reason Recovered when it answers again); with a process, as the same
// generation, which returns to Running without OnReady if the process still
// answers, or goes to Error when its exit arrives. Static mode ignores it.
// It never blocks. Safe from any goroutine.
func (s *Supervisor) Failed(generation uint64) {
	for {
		old := s.failedGen.Load()
		if generation <= old || s.failedGen.CompareAndSwap(old, generation) {
			break
		}
	}
	notify(s.failedC)
}

// staticRoute is the Failure Route returns in static mode, where nothing
// should be proxied.
var staticRoute = &Failure{
	Status: 503,
	Title:  "No backend: reloadproxy serves files",
	Detail: "reloadproxy runs in static mode, without a backend server; it serves files itself.",
}

// Route returns where the next request goes. Safe from any goroutine.
//
// In Running it returns at once without allocating. In Error and Stopped it
// returns the Failure at once. In Loading and Killing it waits until Running
// (and returns the new route), until Error (and returns its Failure), or for
// at most ReadyTimeout (and returns a 502 Failure). In Idle it asks the loop
// to start the backend and waits likewise. In static mode it returns at
// once, a 503 Failure (No backend) with the current generation: the proxy
// serves files there and has no use for it.
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
	if s.mode == staticMode && sn.state != Stopped {
		return Route{Generation: sn.route.Generation, Failure: staticRoute}
	}
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
			if sn.route.Failure != nil {
				// The loop's ready timeout passed: the page shows the
				// output as it is now, not as it was then.
				return Route{Addr: sn.route.Addr, Generation: sn.route.Generation, Failure: s.notReadyFailure(sn)}
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
			return Route{Addr: s.cfg.Addr, Generation: sn.route.Generation, Failure: s.notReadyFailure(sn)}
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
