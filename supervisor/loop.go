package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"sync"
	"syscall"
	"time"
)

// procMsg is posted by a process goroutine (of the backend or of the
// build): once when the child started, and once when it is gone with its
// descendants (exited).
type procMsg struct {
	p         *process
	exited    bool
	startedAt time.Time
	startErr  error // could not start; exited is true
	state     *os.ProcessState
	strays    []int // pids killed after the child exited
}

// probeMsg is posted by a probe goroutine when the backend answered.
type probeMsg struct {
	gen      uint64
	attempts int // connections it took; 1: the backend answered at once
}

// process is one run of the backend, or of the build.
type process struct {
	cmd *exec.Cmd
	out *tail

	// Loop-owned.
	startedAt time.Time
	stopping  bool // the stop signal was asked for; a build: it was cancelled
	signaled  bool // the stop signal was sent

	mu   sync.Mutex
	pid  int  // set once started
	gone bool // the child exited: its pid (and pgid) may be reused, never signal it again
}

// signalGroup sends sig to the child's process group, unless the child has
// not started yet or is already gone. It reports whether it sent it.
func (p *process) signalGroup(sig syscall.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid == 0 || p.gone {
		return false
	}
	killGroup(p.pid, sig)
	return true
}

// The restart-loop guard and the retries of starts that failed for lack of
// resources.
const (
	restartLoopCount = 3 // restarts in a row caused by early changes of one path
	retryFirstDelay  = 50 * time.Millisecond
	retryMaxDelay    = 2 * time.Second
)

// restartLoopWindow is how long after the backend first answered a change
// is still early (see "The restart-loop guard"). Long enough for a server
// that writes its file just after it listens, or on its first request (the
// probe's); short enough that a developer saving about once a second saves
// later than that. A variable for tests.
var restartLoopWindow = 500 * time.Millisecond

// The restart-loop guard.
//
// A server that writes a watched file each time it starts would restart
// forever; a developer who saves a file must never find that save ignored
// for good. Nothing tells the server's write from the developer's save but
// when it comes, so the guard reasons about that:
//
//   - A change is early when the backend's process runs (not being
//     stopped) and has not answered yet, or first answered less than
//     restartLoopWindow ago: its own writes as it starts come then. A
//     change while the old process is stopped, or before the new one is
//     spawned, cannot be the new one's.
//   - A restart whose batch of changes began with an early change counts;
//     restartLoopCount of them in a row, with some path changed in each
//     batch, flag those paths (OnRestartLoop, once per path). The paths of
//     a whole batch count, not its first: a server that writes a temporary
//     file and renames it over its file changes both, each time.
//   - A batch made only of flagged paths is ignored when it is early: that
//     start wrote it. Any other change restarts as usual.
//   - A flagged path stays flagged only while it behaves like a file each
//     start writes: a change of it that is not early (an edit made while the
//     server ran quietly, or while nothing ran) unflags it, and so does a
//     start that ran through its window without changing it. So a path
//     flagged because the developer saved as fast as the server restarts
//     is an edit again at the next quiet edit, and so is the save right
//     after that restart.
//
// What remains: a save that comes early, of a path still flagged, is taken
// for the server's own write (logged, once per start). The window keeps
// that to saves within half a second of a start.

// loop is the state owned by the Run goroutine. Only that goroutine touches
// it.
type loop struct {
	s   *Supervisor
	cfg *Config

	state     State
	gen       uint64
	announced uint64       // last generation passed to OnReady or OnError
	reason    ReloadReason // of the generation's OnReady to come
	failure   *Failure

	proc        *process
	probeCancel context.CancelFunc // non-nil while a probe runs
	probes      sync.WaitGroup
	probeStart  time.Time
	reprobe     bool // probing again after Failed, same process

	build *process // the build running, or cancelled and not reaped yet
	// stale: proxy mode with Build: files changed since the last build
	// started, so the next start needs a build (true before the first).
	// Attach and static modes: a change (or Restart) waits to be handled.
	stale   bool
	rebuild bool // startBuild tries again a build that could not start

	// Starts that failed for lack of resources are tried again.
	retryDelay time.Duration // of the current streak of such failures; 0: none
	retryErr   error         // non-nil while a retry is pending
	retryBuild bool          // the pending retry is of the build

	toIdle bool // the Killing in progress ends in Idle
	quiet  bool // no change for Debounce
	// The changes since the last start (Restart: byHand).
	pendingN     int
	pendingPaths []string // distinct, in order (see namedPath for the one messages name), at most maxBatchPaths
	pendingAway  []string // of pendingPaths, those that no longer exist
	pendingMore  bool     // more paths changed than pendingPaths holds
	pendingEarly bool     // the first change was early (see "The restart-loop guard")
	byHand       bool     // Restart was called since the last start
	stopping     bool     // ctx is done

	// The restart-loop guard.
	answeredAt  time.Time         // the current (or last) process first answered; zero until it does
	answeredGen uint64            // its generation
	loopN       int               // the last loopN restarts were caused by early changes,
	loopPaths   []string          // and these paths changed in each of them
	flagged     map[string]uint64 // flagged path: generation of the last start that changed it early
	reported    map[string]bool   // paths passed to OnRestartLoop
	ignoredGen  uint64            // a start's write was last ignored (and logged) in this generation

	// The build-loop warning: the last cancelN builds in a row were
	// cancelled by changes of cancelPath, or (cancelPath "") of paths in
	// the directory cancelDir.
	cancelPath   string
	cancelDir    string
	cancelN      int
	cancelWarned map[string]bool // paths and directories reported once

	debounce, stopTimer, readyTimer, idleTimer, retryTimer *time.Timer
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Run starts the backend (in static mode: announces the first generation)
// and runs the event loop until ctx is done. Then it stops the build and the
// backend's process group (StopSignal, SIGKILL after StopTimeout) and its
// strays, waits for them, publishes Stopped and returns nil. It returns
// ErrRunTwice if called again.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	if s.mode == proxyMode {
		if err := becomeSubreaper(); err != nil {
			s.cfg.Log.Warn("cannot become a child subreaper, so processes that leave the backend's process group may survive it: " + err.Error())
		}
	}
	first := s.cfg.FirstGeneration
	l := &loop{
		s: s, cfg: &s.cfg, state: Loading, quiet: true,
		gen: first - 1, announced: first - 1,
		stale:    s.mode == proxyMode && s.cfg.Build != "",
		debounce: stoppedTimer(), stopTimer: stoppedTimer(), readyTimer: stoppedTimer(),
		idleTimer: stoppedTimer(), retryTimer: stoppedTimer(),
	}
	l.run(ctx)
	return nil
}

func (l *loop) run(ctx context.Context) {
	s := l.s
	s.takeChanges() // the first start sees those files already
	switch s.mode {
	case staticMode:
		l.gen++
		l.set(Running, nil)
	case attachMode:
		l.start(Started)
	default:
		l.advance()
	}
	done := ctx.Done()
	for !(l.stopping && l.proc == nil && l.build == nil) {
		select {
		case <-done:
			done = nil
			l.shutdown()
		case <-s.changeC:
			l.onChange()
		case <-s.restartC:
			l.onRestart()
		case <-s.reloadC:
			l.onReload()
		case <-s.failedC:
			l.onFailed()
		case <-s.wakeC:
			l.onWake()
		case m := <-s.procC:
			l.onProc(m)
		case m := <-s.buildC:
			l.onBuild(m)
		case m := <-s.probeC:
			l.onProbe(m)
		case <-l.debounce.C:
			l.onQuiet()
		case <-l.retryTimer.C:
			l.onRetry()
		case <-l.stopTimer.C:
			l.onStopTimeout()
		case <-l.readyTimer.C:
			l.onReadyTimeout()
		case <-l.idleTimer.C:
			l.onIdleCheck()
		}
	}
	l.cancelProbe()
	l.probes.Wait()
	for _, t := range []*time.Timer{l.debounce, l.stopTimer, l.readyTimer, l.idleTimer, l.retryTimer} {
		t.Stop()
	}
	l.set(Stopped, &Failure{
		Status: 503,
		Title:  "reloadproxy is shutting down",
		Detail: "The proxy stopped the backend and is exiting.",
	})
}

// set changes the state, publishes the snapshot and calls the hooks.
//
// Each generation reaches the browsers at most once, through OnReady or
// OnError: Error entered with a generation already announced (the backend
// crashed after it was ready, or a build failed in Error) takes the next.
func (l *loop) set(state State, f *Failure) {
	prev := l.state
	l.state, l.failure = state, f
	if state == Error && l.gen == l.announced {
		l.gen++
	}
	l.publish()
	cfg := l.cfg
	if prev == Running && state != Running {
		l.idleTimer.Stop()
		if cfg.OnLeaveRunning != nil {
			cfg.OnLeaveRunning()
		}
	}
	if state != Loading {
		l.readyTimer.Stop()
	}
	if prev == Running && state != Running {
		l.forgetUnwritten()
	}
	if state == Running && prev != Running {
		if cfg.IdleStop > 0 {
			l.s.lastUse.Store(int64(time.Since(l.s.epoch)))
			l.idleTimer.Reset(cfg.IdleStop)
		}
	}
	switch {
	case state == Running && l.gen != l.announced:
		reason := l.reason
		if l.announced == cfg.FirstGeneration-1 {
			reason = Started
		}
		l.announced = l.gen
		if cfg.OnReady != nil {
			cfg.OnReady(l.gen, reason)
		}
	case state == Error && l.gen != l.announced:
		l.announced = l.gen
		if cfg.OnError != nil {
			cfg.OnError(l.gen)
		}
	}
}

// publish stores a new snapshot and releases the waiters of the old one.
func (l *loop) publish() {
	f := l.failure
	if f == nil && l.s.mode == staticMode {
		f = staticRoute
	}
	sn := &snapshot{
		state: l.state,
		route: Route{Addr: l.cfg.Addr, Generation: l.gen, Failure: f},
		next:  make(chan struct{}),
	}
	// What requests wait for: only in proxy mode do they wait for a build
	// or a start; in attach mode they wait for the probe alone.
	switch {
	case l.proc != nil:
		sn.out = l.proc.out
		sn.oldStopping = l.state == Killing && l.proc.stopping
	case l.s.mode != proxyMode:
	case l.build != nil:
		sn.out, sn.building = l.build.out, true
	case l.retryErr != nil:
		sn.retryErr, sn.building = l.retryErr, l.retryBuild
	case l.state == Loading && !l.quiet && len(l.pendingPaths) > 0:
		sn.quietAfter = namedPath(l.pendingPaths, l.pendingAway)
	}
	old := l.s.snap.Swap(sn)
	close(old.next)
}

// advance starts what the loop waits for once files are quiet, no build
// runs and no retry is pending: in proxy mode the build, or the backend
// when no build is due; in attach mode the build, then the probe of a new
// generation; in static mode the build, then the new generation.
func (l *loop) advance() {
	if l.stopping || !l.quiet || l.build != nil || l.retryErr != nil {
		return
	}
	build := l.cfg.Build != ""
	switch l.s.mode {
	case proxyMode:
		switch {
		case l.state == Loading && l.proc == nil:
			if l.stale {
				l.startBuild()
			} else {
				l.start(Restart)
			}
		case l.state == Running && l.stale:
			l.startBuild() // the backend keeps serving meanwhile
		case l.state == Error && l.stale:
			// The change came before the crash: build and start.
			l.set(Loading, nil)
			l.startBuild()
		}
	case attachMode:
		switch {
		case l.stale && build:
			l.startBuild()
		case l.stale:
			l.stale = false
			l.start(Change) // Loading since the change
		}
	case staticMode:
		switch {
		case l.stale && build:
			l.startBuild()
		case l.stale:
			l.stale = false
			l.announce()
		}
	}
}

// start starts a new generation: the process (and, once it runs, the probe),
// or in attach mode the probe alone. The state is Loading. reason is for
// the OnReady to come (Started replaces it while nothing was announced).
func (l *loop) start(reason ReloadReason) {
	s, cfg := l.s, l.cfg
	l.countRestart() // of the generation that ends
	l.gen++
	l.reason = reason
	l.reprobe = false
	why, changed := l.takePending()
	l.readyTimer.Reset(cfg.ReadyTimeout)
	first := l.gen == cfg.FirstGeneration
	if s.mode == attachMode {
		switch {
		case first:
			cfg.Log.Info("waiting for a server at " + cfg.Addr)
		case changed:
			cfg.Log.Info(why + ": waiting for " + cfg.Addr + " to answer again")
		}
		l.startProbe()
		l.publish()
		return
	}
	switch {
	case first:
		cfg.Log.Info("starting: " + s.cmdline)
	case changed:
		cfg.Log.Info("restarting: " + why)
	}
	l.spawn()
}

// spawn starts the backend process of the current generation.
func (l *loop) spawn() {
	l.answeredAt = time.Time{}
	p := &process{out: &tail{kick: make(chan struct{}, 1)}}
	p.cmd = l.s.command(p.out)
	l.proc = p
	l.publish()
	go l.s.runProcess(p)
}

// announce makes a new generation in static mode: the browsers reload.
func (l *loop) announce() {
	if why, changed := l.takePending(); changed {
		l.cfg.Log.Info("reloading: " + why)
	}
	l.gen++
	l.reason = Change
	l.set(Running, nil)
}

// takePending returns the message for the changes (or Restart) since the
// last start and forgets them; changed is false when there were none.
func (l *loop) takePending() (why string, changed bool) {
	if l.pendingN > 0 || l.byHand {
		why, changed = changeMsg(namedPath(l.pendingPaths, l.pendingAway), l.pendingN, l.byHand), true
	}
	l.pendingN, l.pendingEarly, l.byHand = 0, false, false
	l.pendingPaths, l.pendingMore, l.pendingAway = nil, false, nil
	return why, changed
}

// changeMsg says what happened: "app.py changed (+2 more)", "restart
// requested".
func changeMsg(first string, n int, byHand bool) string {
	switch {
	case byHand || n == 0:
		return "restart requested"
	case n > 1:
		return fmt.Sprintf("%s changed (+%d more)", first, n-1)
	}
	return first + " changed"
}

// startBuild starts the build; the state does not change.
func (l *loop) startBuild() {
	cfg := l.cfg
	l.stale = false
	b := &process{out: &tail{}}
	b.cmd = l.s.buildCommand(b.out)
	l.build = b
	again := l.rebuild
	if !again {
		if l.state == Loading {
			l.failure = nil
			l.readyTimer.Reset(cfg.ReadyTimeout)
		}
		cfg.Log.Info("building: " + cfg.Build)
	}
	l.publish()
	if !again && cfg.OnBuildStarted != nil {
		cfg.OnBuildStarted()
	}
	go l.s.runBuild(b)
}

// cancelBuild kills the build's group; its result is ignored and the next
// build starts once it is reaped. why is logged unless empty.
func (l *loop) cancelBuild(why string) {
	b := l.build
	if b == nil || b.stopping {
		return
	}
	b.stopping = true
	if why != "" {
		l.cfg.Log.Info("build cancelled: " + why)
	}
	b.signalGroup(syscall.SIGKILL) // not started yet: sent on its started message
}

// command builds the exec.Cmd of one run of the backend.
func (s *Supervisor) command(out *tail) *exec.Cmd {
	cmd := exec.Command(s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), "PORT="+s.port)
	if _, ok := os.LookupEnv("PYTHONUNBUFFERED"); !ok {
		// Output goes through a pipe, where Python would buffer print()
		// by blocks: the user would not see it, nor would the probe hear
		// "Serving HTTP on ..." when it is printed.
		cmd.Env = append(cmd.Env, "PYTHONUNBUFFERED=1")
	}
	s.setOutput(cmd, out)
	return cmd
}

// buildCommand builds the exec.Cmd of one run of the build: sh -c BUILD in
// the working directory, with this process's environment.
func (s *Supervisor) buildCommand(out *tail) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", s.cfg.Build)
	s.setOutput(cmd, out)
	return cmd
}

// setOutput passes the child's output to Stdout and Stderr through out, and
// sets what both kinds of children share.
func (s *Supervisor) setOutput(cmd *exec.Cmd, out *tail) {
	cmd.Stdout = out.writer(s.cfg.Stdout)
	if s.merged {
		cmd.Stderr = cmd.Stdout // os/exec gives the child one pipe for both
	} else {
		cmd.Stderr = out.writer(s.cfg.Stderr)
	}
	// Stdin nil is /dev/null. The group and strays are killed before Wait,
	// so nothing should hold the pipes; WaitDelay bounds Wait if something
	// outside our reach (another pid namespace, a daemon that left the
	// build's group) does.
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
}

func (l *loop) startProbe() {
	ctx, cancel := context.WithCancel(context.Background())
	l.probeCancel = cancel
	l.probeStart = time.Now()
	gen := l.gen
	var kick chan struct{}
	if l.proc != nil {
		kick = l.proc.out.kick
	}
	l.probes.Add(1)
	go func() {
		defer l.probes.Done()
		if attempts, err := probe(ctx, l.cfg.Addr, l.s.request, l.cfg.ReadyTimeout, kick); err == nil {
			select {
			case l.s.probeC <- probeMsg{gen: gen, attempts: attempts}:
			case <-ctx.Done():
			}
		}
	}()
}

func (l *loop) cancelProbe() {
	if l.probeCancel != nil {
		l.probeCancel()
		l.probeCancel = nil
	}
}

// stop asks the current process to stop (StopSignal to its group, SIGKILL
// after StopTimeout). It is a no-op if a stop is already under way.
func (l *loop) stop() {
	l.cancelProbe()
	p := l.proc
	if p == nil || p.stopping {
		return
	}
	p.stopping = true
	l.sendStop(p)
	l.publish() // waiters that time out now describe a process stopping
}

func (l *loop) sendStop(p *process) {
	if p.signaled || !p.signalGroup(l.cfg.StopSignal) {
		return
	}
	p.signaled = true
	if l.cfg.StopSignal != syscall.SIGKILL {
		l.stopTimer.Reset(l.cfg.StopTimeout)
	}
}

func (l *loop) onChange() {
	b := l.s.takeChanges()
	if b.n == 0 || l.stopping || l.ignoresStartWrite(b) {
		return
	}
	l.change(b)
}

func (l *loop) onRestart() {
	if !l.stopping {
		l.change(changeBatch{})
	}
}

func (l *loop) onReload() {
	if l.stopping || l.state != Running {
		return
	}
	l.gen++
	l.reason = Change
	l.set(Running, nil)
}

// change handles a batch of changed files, or with b.n == 0 a Restart,
// which does not wait for Debounce.
func (l *loop) change(b changeBatch) {
	s, cfg := l.s, l.cfg
	n, byHand := b.n, b.n == 0
	var first string
	if !byHand {
		first = namedPath(b.paths, b.away)
	}
	build := cfg.Build != ""
	if l.build != nil && !l.build.stopping && !byHand {
		l.noteBuildCancel(first)
	}
	l.cancelBuild(changeMsg(first, n, byHand))
	if l.retryErr != nil { // try afresh once quiet
		l.retryTimer.Stop()
		l.retryErr = nil
	}
	if byHand && l.state == Killing && l.toIdle {
		l.toIdle = false // restart instead
	}
	if l.state == Idle || (l.state == Killing && l.toIdle) {
		// The next request starts the backend, with every change.
		l.stale = l.stale || build
		if byHand {
			l.wake("restart requested: starting " + s.name + " again")
		}
		return
	}
	if l.pendingN == 0 && !l.byHand {
		l.pendingEarly = l.early()
	}
	for _, p := range b.paths {
		l.pendingPaths, l.pendingMore = addPath(l.pendingPaths, l.pendingMore, p)
	}
	l.pendingAway = slices.DeleteFunc(l.pendingAway, func(p string) bool {
		return slices.Contains(b.paths, p) && !slices.Contains(b.away, p) // it is back
	})
	for _, p := range b.away {
		if slices.Contains(l.pendingPaths, p) && !slices.Contains(l.pendingAway, p) {
			l.pendingAway = append(l.pendingAway, p)
		}
	}
	l.pendingMore = l.pendingMore || b.more
	l.pendingN += n
	l.byHand = l.byHand || byHand
	if byHand || cfg.Debounce == 0 {
		l.quiet = true
		l.debounce.Stop()
	} else {
		l.quiet = false
		l.debounce.Reset(cfg.Debounce)
	}
	switch s.mode {
	case proxyMode:
		l.stale = l.stale || build
		switch l.state {
		case Running, Loading:
			// Without a build the backend stops at once; with one, a
			// backend that answered keeps serving while it runs.
			if l.proc != nil && (!build || (l.state == Loading && !l.reprobe)) {
				l.set(Killing, nil)
				l.stop()
			}
		case Error:
			l.set(Loading, nil) // starts (or builds) when quiet
		case Killing:
			// Coalesce: the start waits for the exit and for quiet.
		}
	case attachMode:
		l.stale = true
		if !build && (l.state == Running || l.state == Loading) {
			// The user's server may restart: probe again once files are
			// quiet, with a new generation.
			l.cancelProbe()
			l.readyTimer.Stop()
			l.set(Loading, nil)
		}
	case staticMode:
		l.stale = true
	}
	l.advance()
}

// early reports whether a change now may be the backend's own write as it
// starts (see "The restart-loop guard").
func (l *loop) early() bool {
	p := l.proc
	if l.s.mode != proxyMode || p == nil || p.stopping || (l.state != Loading && l.state != Running) {
		return false
	}
	return l.answeredAt.IsZero() || time.Since(l.answeredAt) < restartLoopWindow
}

// ignoresStartWrite reports whether b is the write of the starting backend
// to flagged paths, which is ignored, and keeps the flags up to date (see
// "The restart-loop guard").
func (l *loop) ignoresStartWrite(b changeBatch) bool {
	if len(l.flagged) == 0 {
		return false
	}
	if l.state == Running {
		l.forgetUnwritten()
	}
	early := l.early()
	// Not early, and no process of the backend's is stopping or about to
	// start (its exit may come before the watcher reports what it wrote as
	// it stopped): whoever changed the file, it was not a start.
	edit := !early && (l.state == Error || l.state == Idle || (l.proc != nil && !l.proc.stopping))
	all := !b.more
	for _, p := range b.paths {
		_, flagged := l.flagged[p]
		switch {
		case !flagged:
			all = false
		case early:
			l.flagged[p] = l.gen
		case edit:
			delete(l.flagged, p)
		}
	}
	if !early || !all {
		return false
	}
	if l.ignoredGen != l.gen {
		l.ignoredGen = l.gen
		// Not silent: the one save this can swallow is a developer's
		// made just as the server started.
		l.cfg.Log.Info(fmt.Sprintf("not restarting: %s changed as %s started, as at each start", b.paths[0], l.s.name))
	}
	return true
}

// forgetUnwritten unflags the paths the last process did not change early,
// once it has run for restartLoopWindow after it first answered: a server
// writes its file at every start. Called while Running, and as it is left.
func (l *loop) forgetUnwritten() {
	if l.answeredAt.IsZero() || time.Since(l.answeredAt) < restartLoopWindow {
		return
	}
	for p, gen := range l.flagged {
		if gen != l.answeredGen {
			delete(l.flagged, p)
		}
	}
}

// countRestart counts a restart for the restart-loop guard, called as it
// begins, before the generation of the process that stopped ends: the
// paths that changed in each of restartLoopCount restarts in a row, each
// caused by an early change, are flagged.
func (l *loop) countRestart() {
	if l.s.mode != proxyMode || l.byHand || !l.pendingEarly || l.pendingN == 0 || l.pendingMore {
		l.loopPaths, l.loopN = nil, 0
		return
	}
	common := l.pendingPaths
	if l.loopN > 0 {
		common = slices.DeleteFunc(slices.Clone(l.loopPaths), func(p string) bool {
			return !slices.Contains(l.pendingPaths, p)
		})
	}
	if len(common) == 0 {
		common, l.loopN = l.pendingPaths, 0
	}
	l.loopPaths = common
	if l.loopN++; l.loopN < restartLoopCount {
		return
	}
	l.loopPaths, l.loopN = nil, 0
	for _, p := range common {
		l.flag(p)
	}
}

// flag makes path's early changes ignored from now on, and reports it the
// first time.
func (l *loop) flag(path string) {
	if l.flagged == nil {
		l.flagged, l.reported = map[string]uint64{}, map[string]bool{}
	}
	if _, ok := l.flagged[path]; ok {
		l.flagged[path] = l.gen
		return
	}
	l.flagged[path] = l.gen
	switch {
	case l.reported[path]:
		l.cfg.Log.Info(fmt.Sprintf("%s changed each time %s started again, %d restarts in a row: ignoring its changes while %s starts", path, l.s.name, restartLoopCount, l.s.name))
	case l.cfg.OnRestartLoop != nil:
		l.reported[path] = true
		l.cfg.OnRestartLoop(path) // it reports the path, with what to do about it
	default:
		l.reported[path] = true
		l.cfg.Log.Warn(fmt.Sprintf("%s changed each time %s started, %d restarts in a row: ignoring its changes while %s starts", path, l.s.name, restartLoopCount, l.s.name))
	}
}

func (l *loop) onQuiet() {
	l.quiet = true
	l.advance()
}

func (l *loop) onFailed() {
	gen := l.s.failedGen.Load()
	if l.stopping || l.state != Running || gen != l.gen || l.s.mode == staticMode {
		return
	}
	if l.s.mode == attachMode {
		l.cfg.Log.Warn(l.cfg.Addr + " stopped answering: waiting for it")
		l.set(Loading, nil)
		l.start(Recovered)
		return
	}
	// The process may have crashed and its exit is on the way; if it is
	// still alive, it is Running again as soon as it answers.
	l.set(Loading, nil)
	l.reprobe = true
	l.readyTimer.Reset(l.cfg.ReadyTimeout)
	l.startProbe()
}

func (l *loop) onWake() {
	if l.stopping || l.state != Idle {
		return
	}
	l.wake("a request arrived: starting " + l.s.name + " again")
}

// wake leaves Idle: build if files changed meanwhile, then start.
func (l *loop) wake(msg string) {
	l.cfg.Log.Info(msg)
	l.quiet = true
	l.debounce.Stop()
	l.set(Loading, nil)
	l.advance()
}

func (l *loop) onProc(m procMsg) {
	p := m.p
	if p != l.proc {
		return // cannot happen: one process at a time
	}
	if !m.exited {
		p.startedAt = m.startedAt
		l.retryDelay = 0 // a streak of failed starts ends
		if p.stopping {
			l.sendStop(p)
		} else if l.state == Loading {
			l.startProbe()
		}
		return
	}
	l.proc = nil
	l.stopTimer.Stop()
	l.cancelProbe()
	if len(m.strays) > 0 {
		l.cfg.Log.Info(fmt.Sprintf("killed %d leftover process(es) of %s: pid %v", len(m.strays), l.s.name, m.strays))
	}
	if l.stopping {
		return
	}
	if m.startErr != nil && l.state == Loading && transientErrno(m.startErr) != 0 {
		l.retryLater(m.startErr, false)
		return
	}
	switch l.state {
	case Killing:
		if l.toIdle {
			l.toIdle = false
			l.set(Idle, nil)
			return
		}
		l.set(Loading, nil)
		l.advance()
	case Loading, Running:
		var f *Failure
		if m.startErr != nil {
			f = l.s.startFailure(m.startErr)
			if f.Title == addrInUseTitle(l.cfg.Addr) {
				l.cfg.Log.Warn(f.Title + ": not starting " + l.s.name)
			} else {
				l.cfg.Log.Error(f.Title)
			}
		} else {
			f = l.s.exitFailure(m.state, p.out.snapshot())
			l.cfg.Log.Error(f.Title)
		}
		l.set(Error, f)
		l.advance() // a change that came before the crash builds now
	}
}

// retryLater schedules another try of a start (of the build if build) that
// failed with err for lack of resources, with a backoff from 50 ms doubling
// to 2 s; the first failure of a streak is logged.
func (l *loop) retryLater(err error, build bool) {
	if l.retryDelay == 0 {
		l.retryDelay = retryFirstDelay
		l.cfg.Log.Warn(l.s.retryTitle(err, build))
	} else {
		l.retryDelay = min(2*l.retryDelay, retryMaxDelay)
	}
	l.retryErr, l.retryBuild = err, build
	l.retryTimer.Reset(l.retryDelay)
	if l.s.mode == proxyMode && l.state == Loading && l.failure != nil {
		// The ready timeout passed: the page says why it still waits.
		l.set(Loading, l.s.retryFailure(err, build))
		return
	}
	l.publish()
}

func (l *loop) onRetry() {
	if l.retryErr == nil {
		return
	}
	build := l.retryBuild
	l.retryErr = nil
	if l.stopping {
		return
	}
	if build {
		l.rebuild = true
		l.advance() // stale is set: the build starts again
		l.rebuild = false
		return
	}
	if l.state == Loading && l.proc == nil && l.build == nil {
		l.spawn()
	}
}

func (l *loop) onBuild(m procMsg) {
	b := m.p
	if b != l.build {
		return // cannot happen: one build at a time
	}
	if !m.exited {
		b.startedAt = m.startedAt
		l.retryDelay = 0 // a streak of failed starts ends
		if b.stopping {
			b.signalGroup(syscall.SIGKILL)
		}
		return
	}
	l.build = nil
	switch {
	case b.stopping || l.stopping:
		// Cancelled: its result is stale; the next build follows.
		l.publish()
	case m.startErr != nil && transientErrno(m.startErr) != 0:
		l.stale = true
		l.retryLater(m.startErr, true)
	default:
		l.buildDone(b, m)
	}
	l.advance()
}

// noteBuildCancel counts the builds that changes cancel in a row as they
// run, by one path or by paths in one directory: a build that writes into
// a watched directory cancels itself each time (README, "Build step"),
// which looks like a developer typing but never ends. The third in a row
// is reported once per path or directory.
func (l *loop) noteBuildCancel(p string) {
	dir := path.Dir(p)
	switch {
	case l.cancelN > 0 && p == l.cancelPath:
		l.cancelN++
	case l.cancelN > 0 && dir != "." && dir == l.cancelDir:
		l.cancelN++
		l.cancelPath = "" // several files of one directory
	default:
		l.cancelN, l.cancelPath, l.cancelDir = 1, p, dir
	}
	name, isDir := l.cancelPath, false
	if name == "" {
		name, isDir = l.cancelDir, true
	}
	if l.cancelN != buildLoopCount || l.cancelWarned[name] {
		return
	}
	if l.cancelWarned == nil {
		l.cancelWarned = map[string]bool{}
	}
	l.cancelWarned[name] = true
	if l.cfg.OnBuildLoop != nil {
		l.cfg.OnBuildLoop(name, isDir)
		return
	}
	what := name
	if isDir {
		what = "files in " + name
	}
	l.cfg.Log.Warn(fmt.Sprintf("%d builds in a row were cancelled by changes of %s as they ran: if the build writes them, exclude them with -x", buildLoopCount, what))
}

// buildLoopCount is how many builds in a row a path must cancel to be
// reported.
const buildLoopCount = 3

// buildDone handles the result of a build that ran to its end.
func (l *loop) buildDone(b *process, m procMsg) {
	cfg := l.cfg
	l.cancelPath, l.cancelDir, l.cancelN = "", "", 0
	var d time.Duration
	if m.startErr == nil {
		d = time.Since(b.startedAt)
		if m.state.Success() {
			cfg.Log.Info("build ok in " + fmtSeconds(d))
			l.buildOK()
			return
		}
	}
	bf := &BuildFailure{Command: cfg.Build, ExitStatus: -1, Output: b.out.snapshot(), Duration: d}
	if m.startErr != nil {
		bf.Exit = "cannot start: " + m.startErr.Error()
		cfg.Log.Error("build failed (" + bf.Exit + ")")
	} else {
		bf.Exit, bf.ExitStatus = describeBuildExit(m.state)
		cfg.Log.Error("build failed (" + bf.Exit + ") in " + fmtSeconds(d))
	}
	l.takePending()
	if l.s.mode == proxyMode && l.proc == nil {
		// Nothing serves: the page is the build's output.
		l.set(Error, l.s.buildPageFailure(bf))
		return
	}
	l.publish()
	if cfg.OnBuildFailed != nil {
		cfg.OnBuildFailed(*bf)
	}
}

// buildOK goes on after a successful build.
func (l *loop) buildOK() {
	switch l.s.mode {
	case proxyMode:
		switch {
		case l.proc != nil && (l.state == Running || l.state == Loading):
			// Swap servers: requests wait from here.
			l.set(Killing, nil)
			l.stop()
		case l.proc == nil && l.state == Error: // crashed during the build
			l.set(Loading, nil)
		}
		// Loading without a process: advance starts it.
	case attachMode:
		l.cancelProbe()
		l.set(Loading, nil)
		l.start(Change)
	case staticMode:
		l.announce()
	}
}

func (l *loop) onProbe(m probeMsg) {
	if m.gen != l.gen || l.state != Loading || l.probeCancel == nil || l.stopping {
		return
	}
	l.probeCancel = nil
	if l.proc != nil && l.answeredAt.IsZero() {
		l.answeredAt, l.answeredGen = time.Now(), l.gen
	}
	switch {
	case l.reprobe && m.attempts == 1:
		// It answered at once: the connection the proxy could not use
		// (a full listen backlog, say) was no outage. Failed comes once per
		// such connection, so a line for each would flood the log.
	case l.reprobe:
		l.cfg.Log.Info(l.cfg.Addr + " answers again")
	case l.s.mode == attachMode:
		l.cfg.Log.Info(l.cfg.Addr + " answers after " + fmtMillis(time.Since(l.probeStart)))
	case l.proc != nil:
		l.cfg.Log.Info("ready in " + fmtMillis(time.Since(l.proc.startedAt)))
	}
	l.reprobe = false
	l.set(Running, nil)
	l.advance() // a build that waited for the re-probe
}

func (l *loop) onStopTimeout() {
	p := l.proc
	if p == nil || !p.signaled {
		return
	}
	if p.signalGroup(syscall.SIGKILL) {
		l.cfg.Log.Warn(fmt.Sprintf("%s did not exit within %s of %s: sending SIGKILL", l.s.name, fmtDuration(l.cfg.StopTimeout), signalName(l.cfg.StopSignal)))
	}
}

func (l *loop) onReadyTimeout() {
	if l.state != Loading || l.failure != nil || (l.proc == nil && l.probeCancel == nil && l.build == nil && l.retryErr == nil) {
		return
	}
	sn := l.s.snap.Load() // what this loop published last
	f := l.s.notReadyFailure(sn)
	if sn.retryErr == nil { // a retry streak was logged already
		l.cfg.Log.Warn(f.Title + "; still waiting")
	}
	l.set(Loading, f) // later requests get the 502 at once; Running replaces it
}

func (l *loop) onIdleCheck() {
	if l.state != Running || l.stopping {
		return
	}
	if l.build != nil || l.stale {
		// A build for the next start is due or running: check later.
		l.idleTimer.Reset(l.cfg.IdleStop)
		return
	}
	idle := time.Since(l.s.epoch) - time.Duration(l.s.lastUse.Load())
	if idle < l.cfg.IdleStop {
		l.idleTimer.Reset(l.cfg.IdleStop - idle)
		return
	}
	l.cfg.Log.Info(fmt.Sprintf("no request for %s: stopping %s until the next one", fmtDuration(l.cfg.IdleStop), l.s.name))
	l.toIdle = true
	l.set(Killing, nil)
	l.stop()
}

// shutdown starts the final stop when ctx is done.
func (l *loop) shutdown() {
	l.stopping = true
	l.debounce.Stop()
	l.idleTimer.Stop()
	l.retryTimer.Stop()
	l.retryErr = nil
	l.cancelProbe()
	l.cancelBuild("")
	if l.proc != nil {
		l.set(Killing, nil)
		l.stop()
	}
}

// fmtSeconds formats a build's duration: "1.3 s".
func fmtSeconds(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// fmtMillis formats a start-up time: "212 ms", "3.4 ms".
func fmtMillis(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// fmtDuration formats a configured duration: "60s", "300ms", "1.5s".
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Second && d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return d.String()
}
