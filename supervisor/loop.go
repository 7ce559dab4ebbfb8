package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// procMsg is posted by a process goroutine: once when the child started,
// and once when it is gone with its descendants (exited).
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
	gen uint64
}

// process is one run of the backend.
type process struct {
	cmd *exec.Cmd
	out *tail

	// Loop-owned.
	startedAt time.Time
	stopping  bool // the stop signal was asked for
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

// loop is the state owned by the Run goroutine. Only that goroutine touches
// it.
type loop struct {
	s   *Supervisor
	cfg *Config

	state     State
	gen       uint64
	announced uint64 // last generation passed to OnReady
	failure   *Failure

	proc        *process
	probeCancel context.CancelFunc // non-nil while a probe runs
	probes      sync.WaitGroup
	probeStart  time.Time
	reprobe     bool // probing again after Failed, same process

	toIdle       bool // the Killing in progress ends in Idle
	quiet        bool // no change for Debounce
	pendingFirst string
	pendingN     int
	stopping     bool // ctx is done

	debounce, stopTimer, readyTimer, idleTimer *time.Timer
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// Run starts the backend and runs the event loop until ctx is done. Then it
// stops the backend's process group (StopSignal, SIGKILL after StopTimeout)
// and its strays, waits for them, publishes Stopped and returns nil. It
// returns ErrRunTwice if called again.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	if !s.attach {
		if err := becomeSubreaper(); err != nil {
			s.cfg.Log.Warn("cannot become a child subreaper, so processes that leave the backend's process group may survive it: " + err.Error())
		}
	}
	l := &loop{
		s: s, cfg: &s.cfg, state: Loading, quiet: true,
		debounce: stoppedTimer(), stopTimer: stoppedTimer(), readyTimer: stoppedTimer(), idleTimer: stoppedTimer(),
	}
	l.run(ctx)
	return nil
}

func (l *loop) run(ctx context.Context) {
	s := l.s
	s.takeChanges() // the first start sees those files already
	l.start()
	done := ctx.Done()
	for !(l.stopping && l.proc == nil) {
		select {
		case <-done:
			done = nil
			l.shutdown()
		case <-s.changeC:
			l.onChange()
		case <-s.failedC:
			l.onFailed()
		case <-s.wakeC:
			l.onWake()
		case m := <-s.procC:
			l.onProc(m)
		case m := <-s.probeC:
			l.onProbe(m)
		case <-l.debounce.C:
			l.onQuiet()
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
	for _, t := range []*time.Timer{l.debounce, l.stopTimer, l.readyTimer, l.idleTimer} {
		t.Stop()
	}
	l.set(Stopped, &Failure{
		Status: 503,
		Title:  "reloadproxy is shutting down",
		Detail: "The proxy stopped the backend and is exiting.",
	})
}

// set changes the state, publishes the snapshot and calls the hooks.
func (l *loop) set(state State, f *Failure) {
	prev := l.state
	l.state, l.failure = state, f
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
	switch {
	case state == Running && prev != Running:
		if cfg.IdleStop > 0 {
			l.s.lastUse.Store(int64(time.Since(l.s.epoch)))
			l.idleTimer.Reset(cfg.IdleStop)
		}
		if l.gen != l.announced {
			l.announced = l.gen
			if cfg.OnReady != nil {
				cfg.OnReady(l.gen)
			}
		}
	case state == Error && prev != Error:
		if cfg.OnError != nil {
			cfg.OnError(l.gen)
		}
	}
}

// publish stores a new snapshot and releases the waiters of the old one.
func (l *loop) publish() {
	sn := &snapshot{
		state: l.state,
		route: Route{Addr: l.cfg.Addr, Generation: l.gen, Failure: l.failure},
		next:  make(chan struct{}),
	}
	if l.proc != nil {
		sn.out = l.proc.out
	}
	old := l.s.snap.Swap(sn)
	close(old.next)
}

// start starts a new generation: the process (and, once it runs, the probe),
// or in attach mode the probe alone. The state is Loading.
func (l *loop) start() {
	s, cfg := l.s, l.cfg
	l.gen++
	l.reprobe = false
	first, n := l.pendingFirst, l.pendingN
	l.pendingFirst, l.pendingN = "", 0
	l.readyTimer.Reset(cfg.ReadyTimeout)
	if s.attach {
		switch {
		case l.gen == 1:
			cfg.Log.Info("waiting for a server at " + cfg.Addr)
		case n > 0:
			cfg.Log.Info(changeMsg(first, n) + ": waiting for " + cfg.Addr + " to answer again")
		}
		l.startProbe()
		l.publish()
		return
	}
	switch {
	case l.gen == 1:
		cfg.Log.Info("starting: " + s.cmdline)
	case n > 0:
		cfg.Log.Info("restarting: " + changeMsg(first, n))
	}
	p := &process{out: &tail{kick: make(chan struct{}, 1)}}
	p.cmd = s.command(p.out)
	l.proc = p
	l.publish()
	go s.runProcess(p)
}

func changeMsg(first string, n int) string {
	if n > 1 {
		return fmt.Sprintf("%s changed (+%d more)", first, n-1)
	}
	return first + " changed"
}

// command builds the exec.Cmd of one run.
func (s *Supervisor) command(out *tail) *exec.Cmd {
	cmd := exec.Command(s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), "PORT="+s.port)
	if _, ok := os.LookupEnv("PYTHONUNBUFFERED"); !ok {
		// Output goes through a pipe, where Python would buffer print()
		// by blocks: the user would not see it, nor would the probe hear
		// "Serving HTTP on ..." when it is printed.
		cmd.Env = append(cmd.Env, "PYTHONUNBUFFERED=1")
	}
	cmd.Stdout = out.writer(s.cfg.Stdout)
	if s.merged {
		cmd.Stderr = cmd.Stdout // os/exec gives the child one pipe for both
	} else {
		cmd.Stderr = out.writer(s.cfg.Stderr)
	}
	// Stdin nil is /dev/null. The group and strays are killed before Wait,
	// so nothing should hold the pipes; WaitDelay bounds Wait if something
	// outside our reach (another pid namespace) does.
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
	return cmd
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
		if probe(ctx, l.cfg.Addr, l.s.request, l.cfg.ReadyTimeout, kick) == nil {
			select {
			case l.s.probeC <- probeMsg{gen: gen}:
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
	first, n := l.s.takeChanges()
	if n == 0 || l.stopping || l.state == Idle || (l.state == Killing && l.toIdle) {
		// Idle: the next request starts the backend, with every change.
		return
	}
	if l.pendingN == 0 {
		l.pendingFirst = first
	}
	l.pendingN += n
	l.quiet = false
	l.debounce.Reset(l.cfg.Debounce)
	switch l.state {
	case Running, Loading:
		if l.s.attach {
			// The user's server may restart: probe again once files are
			// quiet, with a new generation.
			l.cancelProbe()
			l.readyTimer.Stop()
			l.set(Loading, nil)
			return
		}
		if l.proc != nil {
			l.set(Killing, nil)
			l.stop()
		}
	case Error:
		l.set(Loading, nil) // starts when quiet
	case Killing:
		// Coalesce: the start waits for the exit and for quiet.
	}
}

func (l *loop) onQuiet() {
	l.quiet = true
	if !l.stopping && l.state == Loading && l.proc == nil && l.probeCancel == nil {
		l.start()
	}
}

func (l *loop) onFailed() {
	gen := l.s.failedGen.Load()
	if l.stopping || l.state != Running || gen != l.gen {
		return
	}
	if l.s.attach {
		l.cfg.Log.Warn(l.cfg.Addr + " stopped answering: waiting for it")
		l.set(Loading, nil)
		l.start()
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
	l.cfg.Log.Info("a request arrived: starting " + l.s.name + " again")
	l.set(Loading, nil)
	l.start()
}

func (l *loop) onProc(m procMsg) {
	p := m.p
	if p != l.proc {
		return // cannot happen: one process at a time
	}
	if !m.exited {
		p.startedAt = m.startedAt
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
	switch l.state {
	case Killing:
		if l.toIdle {
			l.toIdle = false
			l.set(Idle, nil)
			return
		}
		l.set(Loading, nil)
		if l.quiet {
			l.start()
		}
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
	}
}

func (l *loop) onProbe(m probeMsg) {
	if m.gen != l.gen || l.state != Loading || l.probeCancel == nil || l.stopping {
		return
	}
	l.probeCancel = nil
	switch {
	case l.reprobe:
		l.cfg.Log.Info(l.cfg.Addr + " answers again")
	case l.s.attach:
		l.cfg.Log.Info(l.cfg.Addr + " answers after " + fmtMillis(time.Since(l.probeStart)))
	case l.proc != nil:
		l.cfg.Log.Info("ready in " + fmtMillis(time.Since(l.proc.startedAt)))
	}
	l.reprobe = false
	l.set(Running, nil)
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
	if l.state != Loading || l.failure != nil || (l.proc == nil && l.probeCancel == nil) {
		return
	}
	var out *tail
	if l.proc != nil {
		out = l.proc.out
	}
	f := l.s.notReadyFailure(out)
	l.cfg.Log.Warn(f.Title + "; still waiting")
	l.set(Loading, f) // later requests get the 502 at once; Running replaces it
}

func (l *loop) onIdleCheck() {
	if l.state != Running || l.stopping {
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
	l.cancelProbe()
	if l.proc != nil {
		l.set(Killing, nil)
		l.stop()
	}
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
