//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the backend: run as
// "supervisor.test supervisor-helper MODE [flags]" it acts as a small
// server (the TestMain helper-process pattern).
const helperArg = "supervisor-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		helperMain(os.Args[2], os.Args[3:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperMain modes:
//
//	serve [-pidfile F] [-spawn] [-ignoreterm] [-crashonce MARKER] [-delay D]
//	      [-content F] [-touch F] [-relisten D]
//	      listen on 127.0.0.1:$PORT and answer "pid=N" (with -content:
//	      "pid=N content=C", C read from F at start); with -touch, write
//	      the pid into F once listening and print "wrote F"; with
//	      -relisten, on each SIGUSR1 close the listener, print "stopped
//	      listening", and listen again D later (the process lives on)
//	emfile MODE ADDR   run a Supervisor with no descriptor left (see
//	      TestTransientStartFailureRetried)
//	sleep    sleep (a grandchild)
//	daemon F start a setsid'd sleeper, record its pid in F, exit at once
//	nolisten print a line and never listen
func helperMain(mode string, args []string) {
	switch mode {
	case "sleep":
		time.Sleep(time.Hour)
	case "daemon":
		c := helperCmd("sleep")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "daemon:", err)
			os.Exit(1)
		}
		appendPid(args[0], "daemon", c.Process.Pid)
	case "nolisten":
		fmt.Println("not listening anywhere")
		time.Sleep(time.Hour)
	case "serve":
		helperServe(args)
	case "supervise":
		helperSupervise(args[0])
	case "emfile":
		helperEMFILE(args[0], args[1])
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		os.Exit(2)
	}
}

// helperSupervise runs a Supervisor whose backend is "serve -pidfile F",
// until it is killed.
func helperSupervise(pidfile string) {
	exe, _ := os.Executable()
	port := os.Getenv("PORT")
	s, err := New(Config{Addr: "127.0.0.1:" + port, Command: []string{exe, helperArg, "serve", "-pidfile", pidfile}})
	if err != nil {
		panic(err)
	}
	// Threads come and go while the backend runs: the one that forked it
	// must not be among those that go. The hook parks the process
	// goroutine after the fork, as a busy runtime might, so that an
	// unlocked goroutine would leave its thread to the churn.
	testHookStarted = func() { time.Sleep(300 * time.Millisecond) }
	// Keep the main thread, which the runtime never ends, to the main
	// goroutine, so that the fork happens on a thread that can end.
	runtime.LockOSThread()
	go func() {
		for {
			done := make(chan struct{})
			go func() { runtime.LockOSThread(); close(done) }() // exits, ending its thread
			<-done
			time.Sleep(100 * time.Microsecond)
		}
	}()
	s.Run(context.Background())
}

func helperCmd(mode string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exec.Command(exe, append([]string{helperArg, mode}, args...)...)
}

func appendPid(file, what string, pid int) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "%s %d\n", what, pid)
	f.Close()
}

func helperServe(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	pidfile := fs.String("pidfile", "", "append pids here")
	spawn := fs.Bool("spawn", false, "start a grandchild in the group, a setsid'd one and a daemonized one")
	ignoreTerm := fs.Bool("ignoreterm", false, "print and ignore SIGTERM")
	crashOnce := fs.String("crashonce", "", "exit 1 unless this file exists (and create it)")
	delay := fs.Duration("delay", 0, "wait before listening")
	contentFile := fs.String("content", "", "answer with this file's content, read at start")
	touch := fs.String("touch", "", "write the pid into this file once listening")
	relisten := fs.Duration("relisten", 0, "on SIGUSR1, stop listening for this long")
	fs.Parse(args)
	var content string
	if *contentFile != "" {
		b, err := os.ReadFile(*contentFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "content:", err)
			os.Exit(1)
		}
		content = " content=" + strings.TrimSpace(string(b))
	}

	pid := os.Getpid()
	if *pidfile != "" {
		appendPid(*pidfile, "self", pid)
	}
	if *crashOnce != "" {
		if _, err := os.Stat(*crashOnce); err != nil {
			os.WriteFile(*crashOnce, nil, 0o644)
			fmt.Println("crashing on purpose")
			os.Exit(1)
		}
	}
	if *ignoreTerm {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		go func() {
			for range c {
				fmt.Println("got SIGTERM, ignoring it")
			}
		}()
	}
	if *spawn {
		g := helperCmd("sleep")
		if err := g.Start(); err != nil {
			panic(err)
		}
		appendPid(*pidfile, "group", g.Process.Pid)
		ss := helperCmd("sleep")
		ss.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		ss.Stdout = os.Stdout // holds the supervisor's output pipe
		if err := ss.Start(); err != nil {
			panic(err)
		}
		appendPid(*pidfile, "setsid", ss.Process.Pid)
		if err := helperCmd("daemon", *pidfile).Run(); err != nil {
			panic(err)
		}
	}
	time.Sleep(*delay)
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening pid=%d\n", pid)
	if *touch != "" {
		if err := os.WriteFile(*touch, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			panic(err)
		}
		fmt.Printf("wrote %s\n", *touch)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid=%d%s\n", pid, content)
	})
	if *relisten == 0 {
		http.Serve(ln, handler)
		return
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	for {
		served := make(chan struct{})
		go func(ln net.Listener) {
			http.Serve(ln, handler)
			close(served)
		}(ln)
		<-usr1
		ln.Close()
		<-served
		fmt.Println("stopped listening") // connects are refused from here
		time.Sleep(*relisten)
		if ln, err = net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT")); err != nil {
			fmt.Fprintln(os.Stderr, "listen again:", err)
			os.Exit(1)
		}
		fmt.Println("listening again")
	}
}

// --- test utilities ---

func helperCommand(t testing.TB, mode string, args ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe, helperArg, mode}, args...)
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// recorder collects the hooks, log lines and output of one Supervisor.
type recorder struct {
	t            testing.TB
	ready        chan readyCall
	errors       chan uint64
	leaves       chan struct{}
	buildsFailed chan BuildFailure
	buildsStart  chan struct{}
	loops        chan string
	out          syncBuffer // stdout and stderr of the backend and the build
	mu           sync.Mutex
	log          []string
}

// readyCall is one call of OnReady.
type readyCall struct {
	gen    uint64
	reason ReloadReason
}

func (r *recorder) add(level, msg string) {
	r.mu.Lock()
	r.log = append(r.log, level+": "+msg)
	r.mu.Unlock()
}
func (r *recorder) Info(msg string)  { r.add("info", msg) }
func (r *recorder) Warn(msg string)  { r.add("warn", msg) }
func (r *recorder) Error(msg string) { r.add("error", msg) }

func (r *recorder) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.log, "\n")
}

// waitReady waits for OnReady and returns its generation.
func (r *recorder) waitReady(timeout time.Duration) uint64 {
	r.t.Helper()
	return r.waitReadyCall(timeout).gen
}

// waitReadyCall waits for OnReady and returns its arguments.
func (r *recorder) waitReadyCall(timeout time.Duration) readyCall {
	r.t.Helper()
	select {
	case c := <-r.ready:
		return c
	case <-time.After(timeout):
		r.t.Fatalf("OnReady not called within %v\nlog:\n%s\noutput:\n%s", timeout, r.logText(), r.out.String())
		return readyCall{}
	}
}

// waitBuildFailed waits for OnBuildFailed and returns its argument.
func (r *recorder) waitBuildFailed(timeout time.Duration) BuildFailure {
	r.t.Helper()
	select {
	case bf := <-r.buildsFailed:
		return bf
	case <-time.After(timeout):
		r.t.Fatalf("OnBuildFailed not called within %v\nlog:\n%s\noutput:\n%s", timeout, r.logText(), r.out.String())
		return BuildFailure{}
	}
}

// noReady fails if OnReady is called within d.
func (r *recorder) noReady(d time.Duration) {
	r.t.Helper()
	select {
	case c := <-r.ready:
		r.t.Errorf("OnReady(%d, %v) called, want no call\nlog:\n%s", c.gen, c.reason, r.logText())
	case <-time.After(d):
	}
}

// waitLog waits until the log holds substr.
func (r *recorder) waitLog(substr string, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.logText(), substr) {
		if time.Now().After(deadline) {
			r.t.Fatalf("log lacks %q after %v:\n%s\noutput:\n%s", substr, timeout, r.logText(), r.out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitOutput waits until the backend's output holds substr n times.
func (r *recorder) waitOutput(substr string, n int, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(r.out.String(), substr) < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("output lacks %q (%d times) after %v:\n%s\nlog:\n%s", substr, n, timeout, r.out.String(), r.logText())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitError waits for OnError and returns its generation.
func (r *recorder) waitError(timeout time.Duration) uint64 {
	r.t.Helper()
	select {
	case g := <-r.errors:
		return g
	case <-time.After(timeout):
		r.t.Fatalf("OnError not called within %v\nlog:\n%s\noutput:\n%s", timeout, r.logText(), r.out.String())
		return 0
	}
}

// running is a Supervisor whose Run goroutine the test controls.
type running struct {
	*Supervisor
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

// start creates a Supervisor from cfg (hooks, Log and output are set to a
// recorder) and runs it until the test ends or stop is called.
func start(t testing.TB, cfg Config) *running {
	t.Helper()
	rec := &recorder{
		t: t, ready: make(chan readyCall, 100), errors: make(chan uint64, 100), leaves: make(chan struct{}, 100),
		buildsFailed: make(chan BuildFailure, 100), buildsStart: make(chan struct{}, 100), loops: make(chan string, 100),
	}
	cfg.Log = rec
	if cfg.Stdout == nil {
		cfg.Stdout, cfg.Stderr = &rec.out, &rec.out
	}
	cfg.OnReady = func(g uint64, reason ReloadReason) { rec.ready <- readyCall{g, reason} }
	cfg.OnError = func(g uint64) { rec.errors <- g }
	cfg.OnLeaveRunning = func() { rec.leaves <- struct{}{} }
	cfg.OnBuildFailed = func(bf BuildFailure) { rec.buildsFailed <- bf }
	cfg.OnBuildStarted = func() { rec.buildsStart <- struct{}{} }
	cfg.OnRestartLoop = func(path string) { rec.loops <- path }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Supervisor: s, rec: rec, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t, 10*time.Second) })
	return r
}

// stop cancels Run and waits for it to return, at most timeout. It returns
// how long that took. Calling it again returns 0 at once.
func (r *running) stop(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	if r.done == nil {
		return 0
	}
	t0 := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %v of cancel\nlog:\n%s", timeout, r.rec.logText())
	}
	r.done = nil
	return time.Since(t0)
}

// waitState polls State until it is want; the supervisor has no "state
// changed" hook for every state, so a short poll with a bound is the
// simplest observer.
func waitState(t *testing.T, s *running, want State, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %v after %v\nlog:\n%s\noutput:\n%s", s.State(), want, timeout, s.rec.logText(), s.rec.out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// get does a GET / through a plain TCP connection and returns the body.
func get(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	var b bytes.Buffer
	if _, err := b.ReadFrom(c); err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	resp := b.String()
	if !strings.HasPrefix(resp, "HTTP/1.0 200") && !strings.HasPrefix(resp, "HTTP/1.1 200") {
		t.Fatalf("GET %s: %.80q, want a 200", addr, resp)
	}
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	return body
}

// procStat returns ppid and state letter of pid, ok false if it is gone.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0], true
}

// descendants lists the processes below pid (zombies included), as "pid
// state".
func descendants(pid int) []string {
	names, _ := os.ReadDir("/proc")
	kids := map[int][]int{}
	states := map[int]byte{}
	for _, e := range names {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, st, ok := procStat(p); ok {
			kids[pp] = append(kids[pp], p)
			states[p] = st
		}
	}
	var out []string
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, k := range kids[p] {
			out = append(out, fmt.Sprintf("%d %c", k, states[k]))
			queue = append(queue, k)
		}
	}
	return out
}

// assertNoDescendants fails if any process (zombies too) is below the test.
func assertNoDescendants(t *testing.T) {
	t.Helper()
	// A killed process may take a moment to be reparented and reaped only
	// if something is wrong; the supervisor reaps before Run returns, so
	// this is checked at once.
	if d := descendants(os.Getpid()); len(d) > 0 {
		t.Errorf("processes left below the test (pid state): %v", d)
	}
}

// readPids reads a helper pidfile: kind -> pids.
func readPids(t *testing.T, file string) map[string][]int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		kind, n, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("pidfile line %q", line)
		}
		m[kind] = append(m[kind], pid)
	}
	return m
}

// assertGone fails for every pid that still exists, zombie or not.
func assertGone(t *testing.T, pids map[string][]int) {
	t.Helper()
	for kind, ps := range pids {
		for _, pid := range ps {
			if _, st, ok := procStat(pid); ok {
				t.Errorf("%s process %d still exists (state %c)", kind, pid, st)
			}
		}
	}
}

var errTimeout = errors.New("timeout")

// routeWithin calls Route on another goroutine and returns its result, or
// errTimeout if it did not return within d.
func routeWithin(s *Supervisor, d time.Duration) (Route, time.Duration, error) {
	c := make(chan Route, 1)
	t0 := time.Now()
	go func() { c <- s.Route() }()
	select {
	case r := <-c:
		return r, time.Since(t0), nil
	case <-time.After(d):
		return Route{}, d, errTimeout
	}
}

// listenLoopback listens on a free loopback port until the test ends.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
