//go:build linux

package supervisor

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReloadReasonString(t *testing.T) {
	for r, want := range map[ReloadReason]string{Started: "started", Restart: "restart", Change: "change", Recovered: "recovered", 9: "ReloadReason(9)"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want)
		}
	}
}

// One counter from FirstGeneration on, in every mode, each generation
// passed once to OnReady or OnError, with the reason of each reload.
func TestGenerationsAndReasons(t *testing.T) {
	const first = 1_700_000_000_000 // a UnixMilli, as cmd passes

	t.Run("proxy", func(t *testing.T) {
		addr := freeAddr(t)
		r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), FirstGeneration: first})
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{first, Started}) {
			t.Fatalf("OnReady%+v, want {%d started}", c, uint64(first))
		}
		if g := r.Route().Generation; g != first {
			t.Errorf("Route generation %d, want %d", g, uint64(first))
		}
		r.Changed("app.py")
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{first + 1, Restart}) {
			t.Errorf("OnReady%+v after a change, want {%d restart}", c, uint64(first+1))
		}
		r.Restart()
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{first + 2, Restart}) {
			t.Errorf("OnReady%+v after Restart, want {%d restart}", c, uint64(first+2))
		}
		// A crash after ready is a new generation for OnError: tabs that
		// were away notice it.
		pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(get(t, addr), "pid=")))
		syscall.Kill(pid, syscall.SIGKILL)
		if g := r.rec.waitError(10 * time.Second); g != first+3 {
			t.Errorf("OnError(%d) after a crash, want %d", g, uint64(first+3))
		}
		if g := r.Route().Generation; g != first+3 {
			t.Errorf("Route generation %d in Error, want %d", g, uint64(first+3))
		}
		r.Changed("app.py")
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{first + 4, Restart}) {
			t.Errorf("OnReady%+v after the fix, want {%d restart}", c, uint64(first+4))
		}
		// A --reload-only change: a new generation, the same process.
		before := get(t, addr)
		r.Reload()
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{first + 5, Change}) {
			t.Errorf("OnReady%+v after Reload, want {%d change}", c, uint64(first+5))
		}
		if after := get(t, addr); after != before {
			t.Errorf("Reload restarted the backend: %q, then %q", before, after)
		}
	})

	t.Run("first start crashes", func(t *testing.T) {
		r := start(t, Config{Addr: freeAddr(t), Command: []string{"sh", "-c", "exit 1"}, FirstGeneration: first})
		if g := r.rec.waitError(10 * time.Second); g != first {
			t.Errorf("OnError(%d), want the first generation %d", g, uint64(first))
		}
	})

	t.Run("attach", func(t *testing.T) {
		ln := listenLoopback(t)
		answerEach(ln, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		r := start(t, Config{Addr: ln.Addr().String(), FirstGeneration: first})
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first, Started}) {
			t.Fatalf("OnReady%+v, want {%d started}", c, uint64(first))
		}
		r.Changed("app.py")
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 1, Change}) {
			t.Errorf("OnReady%+v after a change, want {%d change}", c, uint64(first+1))
		}
		r.Failed(first + 1)
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 2, Recovered}) {
			t.Errorf("OnReady%+v after Failed, want {%d recovered}", c, uint64(first+2))
		}
		r.Restart()
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 3, Change}) {
			t.Errorf("OnReady%+v after Restart, want {%d change}", c, uint64(first+3))
		}
		if log := r.rec.logText(); !strings.Contains(log, "restart requested: waiting for "+ln.Addr().String()) {
			t.Errorf("log lacks the restart line:\n%s", log)
		}
	})

	t.Run("static", func(t *testing.T) {
		r := start(t, Config{FirstGeneration: first, Debounce: 20 * time.Millisecond})
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first, Started}) {
			t.Fatalf("OnReady%+v, want {%d started}", c, uint64(first))
		}
		for i := range 5 { // a burst: one reload
			r.Changed("index.html")
			if i < 4 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 1, Change}) {
			t.Errorf("OnReady%+v after changes, want {%d change}", c, uint64(first+1))
		}
		r.rec.noReady(100 * time.Millisecond)
		r.Restart()
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 2, Change}) {
			t.Errorf("OnReady%+v after Restart, want {%d change}", c, uint64(first+2))
		}
		if st := r.State(); st != Running {
			t.Errorf("State = %v in static mode, want Running", st)
		}
		r.Reload()
		if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{first + 3, Change}) {
			t.Errorf("OnReady%+v after Reload, want {%d change}", c, uint64(first+3))
		}
		r.Failed(first + 3) // nothing to probe: ignored
		rt, waited, err := routeWithin(r.Supervisor, time.Second)
		if err != nil || waited > 50*time.Millisecond || rt.Failure == nil || rt.Failure.Status != 503 || rt.Generation != first+3 || rt.Addr != "" {
			t.Errorf("Route in static mode = %+v (failure %+v) after %v, want a 503 at once with generation %d", rt, rt.Failure, waited, uint64(first+3))
		}
		if log := r.rec.logText(); !strings.Contains(log, "reloading: index.html changed (+4 more)") {
			t.Errorf("log lacks the reload line:\n%s", log)
		}
	})
}

// Route never waits in static mode, not even before Run.
func TestStaticRouteBeforeRun(t *testing.T) {
	s, err := New(Config{ReadyTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rt, _, err := routeWithin(s, time.Second)
	if err != nil || rt.Failure == nil || rt.Failure.Status != 503 {
		t.Errorf("Route before Run = %+v (err %v), want a 503 at once", rt, err)
	}
}

// Debounce 0 is no debounce, not the default: in static mode each change
// is a generation at once; 50ms (the default) would make each take 50ms.
func TestDebounceZero(t *testing.T) {
	r := start(t, Config{Debounce: 0})
	r.rec.waitReady(5 * time.Second)
	fastest := time.Hour
	for range 5 {
		t0 := time.Now()
		r.Changed("index.html")
		r.rec.waitReady(5 * time.Second)
		fastest = min(fastest, time.Since(t0))
	}
	if fastest > 40*time.Millisecond {
		t.Errorf("fastest change to OnReady took %v with Debounce 0, want no debounce", fastest)
	}

	// In proxy mode a change in Error starts the backend at once.
	addr := freeAddr(t)
	marker := t.TempDir() + "/crashed"
	p := start(t, Config{Addr: addr, Command: helperCommand(t, "serve", "-crashonce", marker), Debounce: 0})
	p.rec.waitError(10 * time.Second)
	p.Changed("app.py")
	if g := p.rec.waitReady(10 * time.Second); g != 2 {
		t.Errorf("OnReady(%d) after the fix, want 2", g)
	}
}

// Restart: a restart by hand without a change, with and without a build,
// and from Idle.
func TestRestartByHand(t *testing.T) {
	t.Run("no build", func(t *testing.T) {
		addr := freeAddr(t)
		r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), Debounce: time.Hour})
		r.rec.waitReady(10 * time.Second)
		before := get(t, addr)
		r.Restart() // does not wait for the (hour-long) debounce
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
			t.Errorf("OnReady%+v, want {2 restart}", c)
		}
		if get(t, addr) == before {
			t.Errorf("the same process answers after Restart")
		}
		if log := r.rec.logText(); !strings.Contains(log, "info: restarting: restart requested") {
			t.Errorf("log lacks the restart line:\n%s", log)
		}
	})
	t.Run("build", func(t *testing.T) {
		b := newBuildDir(t, "v1")
		cfg := b.config(t)
		cfg.Debounce = time.Hour
		r := start(t, cfg)
		r.rec.waitReady(10 * time.Second)
		b.write("version", "v2")
		r.Restart()
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
			t.Errorf("OnReady%+v, want {2 restart}", c)
		}
		if _, content := pidContent(t, get(t, cfg.Addr)); content != "v2" {
			t.Errorf("serves %q after Restart, want the rebuilt v2", content)
		}
		if n := len(b.pgids()); n != 2 {
			t.Errorf("%d builds, want 2", n)
		}
	})
	t.Run("idle", func(t *testing.T) {
		addr := freeAddr(t)
		r := start(t, Config{Addr: addr, Command: helperCommand(t, "serve"), IdleStop: 100 * time.Millisecond})
		r.rec.waitReady(10 * time.Second)
		waitState(t, r, Idle, 5*time.Second)
		r.Restart()
		if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
			t.Errorf("OnReady%+v after Restart in Idle, want {2 restart}", c)
		}
	})
}
