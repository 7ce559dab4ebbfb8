//go:build linux

package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"empty addr", Config{Command: []string{"true"}}, ErrNoAddr},
		{"no port", Config{Addr: "localhost"}, ErrBadAddr},
		{"named port", Config{Addr: "localhost:http"}, ErrBadAddr},
		{"port zero", Config{Addr: "localhost:0"}, ErrBadAddr},
		{"empty program", Config{Addr: "127.0.0.1:8001", Command: []string{""}}, ErrBadConfig},
		{"negative debounce", Config{Addr: "127.0.0.1:8001", Debounce: -1}, ErrBadConfig},
		{"generation too large", Config{Addr: "127.0.0.1:8001", FirstGeneration: 1 << 53}, ErrBadConfig},
		{"ok attach", Config{Addr: "127.0.0.1:8001"}, nil},
		{"ok static", Config{}, nil},
		{"ok static with build", Config{Build: "true"}, nil},
		{"ok bracketed v6", Config{Addr: "[::1]:8001", Command: []string{"x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			c := s.cfg
			if c.ReadyPath != "/" || c.ReadyTimeout != 60*time.Second || c.StopSignal != syscall.SIGKILL ||
				c.StopTimeout != 5*time.Second || c.Debounce != 0 || c.Stdout != os.Stdout || c.Stderr != os.Stderr ||
				c.FirstGeneration != 1 {
				t.Errorf("defaults not applied (Debounce must stay 0: no debounce): %+v", c)
			}
			if got := s.State(); got != Loading {
				t.Errorf("State before Run = %v, want Loading", got)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for st, want := range map[State]string{Loading: "Loading", Running: "Running", Killing: "Killing", Error: "Error", Idle: "Idle", Stopped: "Stopped", 42: "State(42)"} {
		if got := st.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(st), got, want)
		}
	}
}

func TestRunTwice(t *testing.T) {
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve")})
	r.rec.waitReady(10 * time.Second)
	if err := r.Run(t.Context()); !errors.Is(err, ErrRunTwice) {
		t.Fatalf("second Run: %v, want ErrRunTwice", err)
	}
}

// Loading -> Running with a real python3 http.server; a plain GET through
// the address Route returns works.
func TestPythonServerBecomesReady(t *testing.T) {
	py := requireTool(t, "python3")
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	r := start(t, Config{Addr: addr, Command: []string{py, "-m", "http.server", port, "--bind", "127.0.0.1"}})
	route, waited, err := routeWithin(r.Supervisor, 15*time.Second)
	if err != nil {
		t.Fatalf("Route did not return: %v\n%s", err, r.rec.logText())
	}
	if route.Failure != nil || route.Addr != addr || route.Generation != 1 {
		t.Fatalf("Route = %+v (failure %+v), want addr %s generation 1 and no failure", route, route.Failure, addr)
	}
	if r.State() != Running {
		t.Fatalf("State = %v after Route returned, want Running", r.State())
	}
	if g := r.rec.waitReady(time.Second); g != 1 {
		t.Errorf("OnReady(%d), want 1", g)
	}
	if body := get(t, route.Addr); !strings.Contains(body, "Directory listing") {
		t.Errorf("GET / body = %.200q, want a directory listing", body)
	}
	if log := r.rec.logText(); !strings.Contains(log, "ready in ") {
		t.Errorf("log lacks 'ready in':\n%s", log)
	}
	t.Logf("python3 ready after Route waited %v; log:\n%s", waited, r.rec.logText())
}

// Requests that arrive while Loading wait, and are released together when
// Running is published.
func TestRouteWaitsWhileLoading(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-delay", "300ms")})
	const n = 20
	var wg sync.WaitGroup
	routes := make(chan Route, n)
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); routes <- r.Route() }()
	}
	r.rec.waitReady(10 * time.Second)
	readyAt := time.Now()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("waiters not released within 2s of OnReady")
	}
	if d := time.Since(readyAt); d > 500*time.Millisecond {
		t.Errorf("waiters released %v after OnReady", d)
	}
	close(routes)
	for rt := range routes {
		if rt.Failure != nil || rt.Generation != 1 || rt.Addr != addr {
			t.Errorf("waiter got %+v, want generation 1 at %s", rt, addr)
		}
	}
}

// Running --change--> Killing --exited--> Loading --ready--> Running, with a
// new generation, OnLeaveRunning and OnReady, and a new process answering.
func TestChangeRestartsWithNewGeneration(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), Debounce: DefaultDebounce})
	if g := r.rec.waitReady(10 * time.Second); g != 1 {
		t.Fatalf("first OnReady(%d), want 1", g)
	}
	before := get(t, addr)
	r.Changed("src/app.py")
	select {
	case <-r.rec.leaves:
	case <-time.After(5 * time.Second):
		t.Fatal("OnLeaveRunning not called after a change")
	}
	if st := r.State(); st == Running {
		t.Errorf("state still Running right after a change")
	}
	if g := r.rec.waitReady(10 * time.Second); g != 2 {
		t.Fatalf("OnReady(%d) after the change, want 2", g)
	}
	rt := r.Route()
	if rt.Generation != 2 || rt.Failure != nil {
		t.Fatalf("Route = %+v, want generation 2", rt)
	}
	if after := get(t, addr); after == before {
		t.Errorf("same process answers after restart: %q", after)
	}
	if log := r.rec.logText(); !strings.Contains(log, "restarting: src/app.py changed") {
		t.Errorf("log lacks the restart line:\n%s", log)
	}
}

// A backend that exits by itself: Error, 503 naming the status or signal,
// with the last lines of its output.
func TestCrashGivesError(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantTitle  string
		wantOut    []string
		notWantOut string
	}{
		{
			name:       "exit status",
			script:     `i=1; while [ $i -le 100 ]; do echo "line $i"; i=$((i+1)); done; echo "Traceback: oops" >&2; exit 3`,
			wantTitle:  "sh exited with status 3",
			wantOut:    []string{"line 100\n", "Traceback: oops\n", "line 62\n"},
			notWantOut: "line 61\n",
		},
		{
			name:      "signal",
			script:    `echo about to crash; kill -SEGV $$`,
			wantTitle: "sh was killed by signal SIGSEGV (segmentation fault)",
			wantOut:   []string{"about to crash\n"},
		},
		{
			name:      "address in use in output",
			script:    `echo "OSError: [Errno 98] Address already in use" >&2; exit 1`,
			wantTitle: "sh could not listen on ADDR: address already in use",
			wantOut:   []string{"Errno 98"},
		},
		{
			name:      "unfinished last line",
			script:    `printf 'no newline at the end'; exit 2`,
			wantTitle: "sh exited with status 2",
			wantOut:   []string{"no newline at the end"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			r := start(t, Config{Addr: addr, Command: []string{"sh", "-c", tt.script}})
			if g := r.rec.waitError(10 * time.Second); g != 1 {
				t.Errorf("OnError(%d), want 1", g)
			}
			rt, _, err := routeWithin(r.Supervisor, time.Second)
			if err != nil {
				t.Fatal("Route in Error did not return at once")
			}
			f := rt.Failure
			if f == nil {
				t.Fatalf("Route = %+v, want a Failure", rt)
			}
			wantTitle := strings.ReplaceAll(tt.wantTitle, "ADDR", addr)
			if f.Status != 503 || f.Title != wantTitle {
				t.Errorf("Failure %d %q, want 503 %q", f.Status, f.Title, wantTitle)
			}
			if !strings.Contains(f.Detail, "sh -c '") {
				t.Errorf("Detail lacks the quoted command line: %q", f.Detail)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(string(f.Output), w) {
					t.Errorf("Output lacks %q:\n%s", w, f.Output)
				}
			}
			if tt.notWantOut != "" && strings.Contains(string(f.Output), tt.notWantOut) {
				t.Errorf("Output holds %q, more than the last 40 lines:\n%s", tt.notWantOut, f.Output)
			}
			if r.State() != Error {
				t.Errorf("State = %v, want Error", r.State())
			}
			// The output also passed through.
			if !strings.Contains(r.rec.out.String(), tt.wantOut[0]) {
				t.Errorf("output did not pass through: %q", r.rec.out.String())
			}
		})
	}
}

// Error --change--> Loading --ready--> Running.
func TestChangeInErrorRestarts(t *testing.T) {
	addr := freeAddr(t)
	marker := filepath.Join(t.TempDir(), "crashed")
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-crashonce", marker), Debounce: DefaultDebounce})
	r.rec.waitError(10 * time.Second)
	if f := r.Route().Failure; f == nil || f.Status != 503 {
		t.Fatalf("Route in Error: failure %+v, want a 503", f)
	}
	r.Changed("app.py")
	waitState(t, r, Loading, 5*time.Second) // Changed only posts
	rt, _, err := routeWithin(r.Supervisor, 10*time.Second)
	if err != nil || rt.Failure != nil || rt.Generation != 2 {
		t.Fatalf("Route after the fix = %+v (failure %+v, err %v), want generation 2 running", rt, rt.Failure, err)
	}
	if g := r.rec.waitReady(time.Second); g != 2 {
		t.Errorf("OnReady(%d), want 2", g)
	}
}

// 50 changes in 0.5 s start the backend at most twice more (here: once).
func TestRestartStorm(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), Debounce: DefaultDebounce})
	r.rec.waitReady(10 * time.Second)
	for i := range 50 {
		r.Changed(fmt.Sprintf("src/file%d.py", i))
		time.Sleep(10 * time.Millisecond)
	}
	g := r.rec.waitReady(10 * time.Second)
	// Give a wrongly scheduled extra start the time to show up.
	time.Sleep(300 * time.Millisecond)
	rt := r.Route()
	starts := strings.Count(r.rec.out.String(), "listening pid=")
	t.Logf("after the storm: generation %d, %d starts in all, log:\n%s", rt.Generation, starts, r.rec.logText())
	if rt.Generation < 2 || rt.Generation > 3 || g > 3 {
		t.Errorf("generation %d (OnReady %d) after the storm, want 2 or 3", rt.Generation, g)
	}
	if starts < 2 || starts > 3 {
		t.Errorf("%d starts in all, want 2 or 3", starts)
	}
	if log := r.rec.logText(); !strings.Contains(log, "restarting: src/file0.py changed (+") {
		t.Errorf("log lacks the coalesced restart line:\n%s", log)
	}
}

// Grandchildren in the group, setsid'd and daemonized ones are killed and
// reaped at each restart and when Run returns.
func TestNoStraysAfterRestartAndRun(t *testing.T) {
	addr := freeAddr(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-spawn", "-pidfile", pidfile), Debounce: DefaultDebounce})
	r.rec.waitReady(10 * time.Second)
	first := readPids(t, pidfile)
	for _, kind := range []string{"self", "group", "setsid", "daemon"} {
		if len(first[kind]) != 1 {
			t.Fatalf("pidfile: %v, want one %s pid", first, kind)
		}
	}
	os.Remove(pidfile)
	r.Changed("x")
	if g := r.rec.waitReady(10 * time.Second); g != 2 {
		t.Fatalf("OnReady(%d), want 2", g)
	}
	assertGone(t, first)
	if log := r.rec.logText(); !strings.Contains(log, "leftover process") {
		t.Errorf("log does not report the strays:\n%s", log)
	}
	second := readPids(t, pidfile)
	if d := r.stop(t, 5*time.Second); d > time.Second {
		t.Errorf("Run took %v to return", d)
	}
	assertGone(t, second)
	assertNoDescendants(t)
	if st := r.State(); st != Stopped {
		t.Errorf("State after Run = %v, want Stopped", st)
	}
	if rt := r.Route(); rt.Failure == nil || rt.Failure.Status != 503 {
		t.Errorf("Route after Run = %+v, want a 503 Failure", rt)
	}
}

// ctx cancel: Run returns within ~1 s and nothing is left.
func TestCancelStopsEverything(t *testing.T) {
	for _, st := range []State{Running, Loading} {
		t.Run(st.String(), func(t *testing.T) {
			addr := freeAddr(t)
			pidfile := filepath.Join(t.TempDir(), "pids")
			args := []string{"-spawn", "-pidfile", pidfile}
			if st == Loading {
				args = append(args, "-delay", "1h")
			}
			r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", args...), StopSignal: syscall.SIGTERM, StopTimeout: 5 * time.Second})
			deadline := time.Now().Add(10 * time.Second)
			for {
				if p, _ := os.ReadFile(pidfile); strings.Contains(string(p), "daemon") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("helper did not write its pids\n%s", r.rec.logText())
				}
				time.Sleep(5 * time.Millisecond)
			}
			waitState(t, r, st, 10*time.Second)
			pids := readPids(t, pidfile)
			if d := r.stop(t, 3*time.Second); d > time.Second {
				t.Errorf("Run took %v to return after cancel", d)
			}
			assertGone(t, pids)
			assertNoDescendants(t)
		})
	}
}

// Kill, called while Run's stop waits for a backend that ignores
// StopSignal, kills the group and the strays at once: when it returns,
// every descendant but the backend itself (a zombie until its goroutine
// reaps it) is gone, and Run returns long before StopTimeout.
func TestKillDuringStop(t *testing.T) {
	addr := freeAddr(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-ignoreterm", "-spawn", "-pidfile", pidfile),
		StopSignal: syscall.SIGTERM, StopTimeout: time.Hour})
	r.rec.waitReady(10 * time.Second)
	pids := readPids(t, pidfile)
	r.cancel() // the stop: SIGTERM, which the backend ignores
	r.rec.waitOutput("got SIGTERM", 1, 5*time.Second)
	t0 := time.Now()
	r.Kill()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Kill took %v", d)
	}
	descendantsOnly := map[string][]int{}
	for kind, ps := range pids {
		if kind != "self" {
			descendantsOnly[kind] = ps
		}
	}
	assertGone(t, descendantsOnly)
	if d := r.stop(t, 3*time.Second); d > time.Second {
		t.Errorf("Run took %v to return after Kill", d)
	}
	assertGone(t, pids)
	assertNoDescendants(t)
}

// StopSignal first; SIGKILL after StopTimeout when it is ignored. The
// timeout is long enough that a backend honouring TERM is gone well before
// it, on a loaded machine too.
func TestStopSignalEscalates(t *testing.T) {
	const timeout = 2 * time.Second
	tests := []struct {
		name       string
		args       []string
		wantKill   bool
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{"ignores TERM", []string{"-ignoreterm"}, true, timeout, timeout + 3*time.Second},
		{"honours TERM", nil, false, 0, timeout - 100*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			r := start(t, Config{
				Addr: addr, Command: helperCommand(t, "serve", tt.args...),
				StopSignal: syscall.SIGTERM, StopTimeout: timeout, Debounce: time.Millisecond,
			})
			r.rec.waitReady(10 * time.Second)
			t0 := time.Now()
			r.Changed("x")
			r.rec.waitReady(10 * time.Second)
			elapsed := time.Since(t0)
			if elapsed < tt.minElapsed || elapsed > tt.maxElapsed {
				t.Errorf("restart took %v, want %v to %v", elapsed, tt.minElapsed, tt.maxElapsed)
			}
			log := r.rec.logText()
			if got := strings.Contains(log, "sending SIGKILL"); got != tt.wantKill {
				t.Errorf("SIGKILL logged = %v, want %v:\n%s", got, tt.wantKill, log)
			}
			if tt.wantKill && !strings.Contains(r.rec.out.String(), "got SIGTERM") {
				t.Errorf("the helper never saw SIGTERM; output:\n%s", r.rec.out.String())
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "server.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		command    []string
		wantTitle  string
		wantDetail string
	}{
		{"not in PATH", []string{"pyhton3-nonexistent", "app.py"}, "Executable not found: pyhton3-nonexistent", "PATH"},
		{"no such path", []string{filepath.Join(dir, "missing"), "x"}, "Executable not found: " + filepath.Join(dir, "missing"), "--exec"},
		{"permission denied", []string{notExec}, "Permission denied: " + notExec, "chmod +x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, Config{Addr: freeAddr(t), Command: tt.command, Debounce: DefaultDebounce})
			r.rec.waitError(5 * time.Second)
			f := r.Route().Failure
			if f == nil || f.Status != 503 || f.Title != tt.wantTitle || !strings.Contains(f.Detail, tt.wantDetail) {
				t.Fatalf("Failure %+v, want 503 %q with %q in Detail", f, tt.wantTitle, tt.wantDetail)
			}
			if r.State() != Error {
				t.Errorf("State = %v, want Error", r.State())
			}
			// A change retries, and fails the same way.
			r.Changed("x")
			if g := r.rec.waitError(5 * time.Second); g != 2 {
				t.Errorf("OnError(%d) after a retry, want 2", g)
			}
		})
	}
}

// Something already listens on Addr before the first start: do not start,
// say so.
func TestAddrInUseBeforeStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answerEach(ln, "")
	addr := ln.Addr().String()
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-pidfile", pidfile), Debounce: DefaultDebounce})
	r.rec.waitError(5 * time.Second)
	f := r.Route().Failure
	want := "Address already in use: something else is listening on " + addr
	if f == nil || f.Status != 503 || f.Title != want {
		t.Fatalf("Failure %+v, want 503 %q", f, want)
	}
	if log := r.rec.logText(); !strings.Contains(log, "warn: "+want) {
		t.Errorf("no warning logged:\n%s", log)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Errorf("the backend was started although the port was taken")
	}
	// Once the port is free, a change starts the backend.
	ln.Close()
	r.Changed("x")
	if g := r.rec.waitReady(10 * time.Second); g != 2 {
		t.Errorf("OnReady(%d), want 2", g)
	}
}

// Running --idle-stop--> Idle (process gone) --request--> Loading --> Running.
func TestIdleStopAndWake(t *testing.T) {
	addr := freeAddr(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-pidfile", pidfile), IdleStop: 300 * time.Millisecond})
	r.rec.waitReady(10 * time.Second)
	// Requests keep it running.
	for range 6 {
		r.Route()
		time.Sleep(100 * time.Millisecond)
	}
	if st := r.State(); st != Running {
		t.Fatalf("State = %v while requests come every 100ms, want Running", st)
	}
	waitState(t, r, Idle, 5*time.Second)
	assertGone(t, readPids(t, pidfile))
	rt, _, err := routeWithin(r.Supervisor, 10*time.Second)
	if err != nil || rt.Failure != nil || rt.Generation != 2 {
		t.Fatalf("Route in Idle = %+v (err %v), want generation 2 running", rt, err)
	}
	if body := get(t, addr); !strings.HasPrefix(body, "pid=") {
		t.Errorf("GET after wake: %q", body)
	}
}

// A command that never listens: waiters get a 502 after ReadyTimeout, with
// its output; later Routes get it at once.
func TestReadyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "nolisten"), ReadyTimeout: timeout})
	rt, waited, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil {
		t.Fatal("Route did not return")
	}
	f := rt.Failure
	if f == nil || f.Status != 502 || !strings.Contains(f.Title, "did not become ready within 300ms") {
		t.Fatalf("Failure %+v, want a 502 'did not become ready within 300ms'", f)
	}
	if waited < timeout-50*time.Millisecond || waited > timeout+time.Second {
		t.Errorf("Route waited %v, want about %v", waited, timeout)
	}
	if !strings.Contains(string(f.Output), "not listening anywhere") {
		t.Errorf("Output lacks the backend's line: %q", f.Output)
	}
	if r.State() != Loading {
		t.Errorf("State = %v, want Loading (still waiting)", r.State())
	}
	if _, waited, _ := routeWithin(r.Supervisor, 5*time.Second); waited > 250*time.Millisecond {
		t.Errorf("a later Route waited %v, want the 502 at once", waited)
	}
}

// Attach mode: probing, 502 while nothing answers, Running when it does,
// Failed -> probing again -> OnReady, change -> OnReady.
func TestAttachMode(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, ReadyTimeout: 200 * time.Millisecond, Debounce: 10 * time.Millisecond})
	rt, _, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil || rt.Failure == nil || rt.Failure.Status != 502 || rt.Failure.Title != "Nothing is answering at "+addr ||
		!strings.Contains(rt.Failure.Detail, "Start your server there, or check the BACKEND address.") {
		t.Fatalf("Route with nothing listening = %+v (err %v), want the 502", rt.Failure, err)
	}

	serve := func() net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 1024)
					c.Read(buf)
					c.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
					c.Close()
				}()
			}
		}()
		return ln
	}
	ln := serve()
	g1 := r.rec.waitReady(5 * time.Second)
	if rt := r.Route(); rt.Failure != nil || rt.Generation != g1 {
		t.Fatalf("Route = %+v, want generation %d running", rt, g1)
	}

	// The user's server goes away; the proxy reports it.
	ln.Close()
	r.Failed(g1)
	waitState(t, r, Loading, 5*time.Second)
	ln = serve()
	defer ln.Close()
	g2 := r.rec.waitReady(5 * time.Second)
	if g2 <= g1 {
		t.Errorf("OnReady(%d) after Failed, want > %d", g2, g1)
	}
	r.Failed(g1) // stale: ignored
	if st := r.State(); st != Running {
		t.Errorf("State = %v after a stale Failed, want Running", st)
	}

	// A change: probe again, OnReady when it answers.
	r.Changed("app.py")
	g3 := r.rec.waitReady(5 * time.Second)
	if g3 <= g2 {
		t.Errorf("OnReady(%d) after a change, want > %d", g3, g2)
	}
	assertNoDescendants(t)
}

// In proxy mode, Failed makes the loop probe the same process again; it is
// Running again with the same generation and no OnReady.
func TestFailedReprobesSameProcess(t *testing.T) {
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve")})
	g := r.rec.waitReady(10 * time.Second)
	r.Failed(g)
	select {
	case <-r.rec.leaves:
	case <-time.After(5 * time.Second):
		t.Fatal("OnLeaveRunning not called after Failed")
	}
	rt, _, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil || rt.Failure != nil || rt.Generation != g {
		t.Fatalf("Route = %+v (err %v), want generation %d running", rt, err, g)
	}
	select {
	case g2 := <-r.rec.ready:
		t.Errorf("OnReady(%d) after re-probing the same process", g2.gen)
	default:
	}
}

// Failed comes once per connection the proxy could not use, and a backend
// whose listen backlog overflowed refuses many while it answers the probe
// at once. "answers again" is logged only when the backend had really
// stopped answering, once per outage, not once per Failed.
func TestReprobeLogsOnlyAnOutage(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve", "-pidfile", pidfile, "-relisten", "100ms")})
	g := r.rec.waitReady(10 * time.Second)
	reprobe := func() {
		t.Helper()
		r.Failed(g)
		select {
		case <-r.rec.leaves:
		case <-time.After(5 * time.Second):
			t.Fatalf("OnLeaveRunning not called after Failed\nlog:\n%s", r.rec.logText())
		}
		waitState(t, r, Running, 5*time.Second)
	}
	for range 20 { // refused connections of a backend that answers
		reprobe()
	}
	// A real outage: the backend closes its listener for 100 ms.
	if err := syscall.Kill(readPids(t, pidfile)["self"][0], syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	r.rec.waitOutput("stopped listening", 1, 5*time.Second)
	reprobe()
	for range 5 {
		reprobe()
	}
	if n := strings.Count(r.rec.logText(), "answers again"); n != 1 {
		t.Errorf("%q logged %d times, want once (one outage)\nlog:\n%s", "answers again", n, r.rec.logText())
	}
	select {
	case c := <-r.rec.ready:
		t.Errorf("OnReady(%d) after re-probing the same process", c.gen)
	default:
	}
}

// requireTool finds an external program a test needs: skipped on a
// developer's machine without it, a failure in CI (CI=true), whose .ci/run
// installs it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s not found; install it to run this test", name)
	}
	return path
}

// answerEach writes reply to every connection accepted on ln and closes
// it, until ln is closed.
func answerEach(ln net.Listener, reply string) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
}

// While files keep changing, the restarted backend is not started (it waits
// for Debounce of quiet): a waiter that times out is told that, not that
// the backend did not become ready.
func TestReadyTimeoutWhileFilesChange(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), ReadyTimeout: timeout, Debounce: 200 * time.Millisecond})
	r.rec.waitReady(10 * time.Second)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				r.Changed("out/stream.log")
			}
		}
	}()
	defer func() { close(stop); <-done }()
	waitState(t, r, Killing, 5*time.Second)
	rt, _, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil {
		t.Fatal("Route did not return")
	}
	f := rt.Failure
	if f == nil || f.Status != 502 || !strings.Contains(f.Title, "waiting for the files to stop changing") ||
		!strings.Contains(f.Detail, "out/stream.log") {
		t.Fatalf("Failure %+v, want a 502 saying the restart waits for the files (naming out/stream.log)", f)
	}
}

// A change of a path that no longer exists (the temporary file of a save
// renamed over the original) counts, but the log names the original; a
// deleted file alone is still named.
func TestChangedAwayNamesTheOriginal(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), Debounce: 20 * time.Millisecond})
	r.rec.waitReady(10 * time.Second)
	r.ChangedAway("sedX1a2b")
	r.Changed("app.py")
	r.rec.waitReadyCall(10 * time.Second)
	r.ChangedAway("old.py")
	r.rec.waitReadyCall(10 * time.Second)
	log := r.rec.logText()
	for _, want := range []string{"info: restarting: app.py changed (+1 more)\n", "info: restarting: old.py changed\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestNamedPath(t *testing.T) {
	tests := []struct {
		paths, away []string
		want        string
	}{
		{nil, nil, ""},
		{[]string{"a"}, nil, "a"},
		{[]string{"tmp1", "a"}, []string{"tmp1"}, "a"},
		{[]string{"gone"}, []string{"gone"}, "gone"},
		{[]string{"x", "y"}, []string{"x", "y"}, "x"},
	}
	for _, tt := range tests {
		if got := namedPath(tt.paths, tt.away); got != tt.want {
			t.Errorf("namedPath(%q, %q) = %q, want %q", tt.paths, tt.away, got, tt.want)
		}
	}
}

// While the old backend takes its time to stop (it ignores SIGTERM), a
// waiter that times out is told that, not that the backend did not become
// ready.
func TestReadyTimeoutWhileOldProcessStops(t *testing.T) {
	addr := freeAddr(t)
	r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-ignoreterm"), ReadyTimeout: 300 * time.Millisecond,
		StopSignal: syscall.SIGTERM, StopTimeout: 5 * time.Second, Debounce: 10 * time.Millisecond})
	r.rec.waitReady(10 * time.Second)
	r.Changed("app.py")
	waitState(t, r, Killing, 5*time.Second)
	rt, _, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil {
		t.Fatal("Route did not return")
	}
	if f := rt.Failure; f == nil || f.Status != 502 || !strings.Contains(f.Title, "the old process has not exited yet") {
		t.Fatalf("Failure %+v, want a 502 saying the old process has not exited yet", f)
	}
}
