//go:build linux

package supervisor

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lineWatcher is a backend output writer that sends each line holding
// substr to c: the test's stand-in for the file watcher.
type lineWatcher struct {
	substr string
	c      chan string
	mu     syncBuffer
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Write(p)
	for _, line := range bytes.Split(p, []byte("\n")) {
		if bytes.Contains(line, []byte(w.substr)) {
			w.c <- string(line)
		}
	}
	return len(p), nil
}

// A backend that writes a file in the watched tree each time it starts:
// after three restarts in a row caused by that path, OnRestartLoop reports
// it once and its changes are ignored from then on; the backend stays up.
func TestRestartLoopGuard(t *testing.T) {
	dir := t.TempDir()
	touched := filepath.Join(dir, "state.json")
	w := &lineWatcher{substr: "wrote ", c: make(chan string, 100)}
	r := start(t, Config{
		Addr: freeAddr(t), Command: helperCommand(t, "serve", "-touch", touched),
		Debounce: 10 * time.Millisecond, Stdout: w, Stderr: w,
	})
	go func() { // the watcher
		for range w.c {
			r.Changed("state.json")
		}
	}()
	select {
	case p := <-r.rec.loops:
		if p != "state.json" {
			t.Errorf("OnRestartLoop(%q), want state.json", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("OnRestartLoop not called\nlog:\n%s", r.rec.logText())
	}
	// The fourth start writes the file too; nothing restarts any more.
	var last uint64
	for last < 4 {
		last = r.rec.waitReady(10 * time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	if rt := r.Route(); rt.Generation != 4 || rt.Failure != nil {
		t.Errorf("Route = %+v, want generation 4 running: the loop went on", rt)
	}
	if n := strings.Count(w.mu.String(), "wrote "); n != 4 {
		t.Errorf("%d starts wrote the file, want 4 (the first and three restarts)", n)
	}
	if n := len(r.rec.loops); n != 0 {
		t.Errorf("OnRestartLoop called %d more times, want once", n)
	}
	if log := r.rec.logText(); strings.Contains(log, "ignoring it from now on") {
		t.Errorf("the supervisor warned itself, though OnRestartLoop reports the path (one warning, not two):\n%s", log)
	}

	// A batch of the ignored path only triggers nothing; mixed with
	// another path it restarts.
	r.Changed("state.json")
	r.rec.noReady(300 * time.Millisecond)
	r.Changed("state.json")
	r.Changed("app.py")
	if g := r.rec.waitReady(10 * time.Second); g != 5 {
		t.Errorf("OnReady(%d) after a mixed batch, want 5", g)
	}
}

// Changes of one path that come well after each start (a person saving
// again) are not a loop; neither is a streak broken by another path.
func TestRestartLoopGuardIgnoresSlowChanges(t *testing.T) {
	defer func(w time.Duration) { restartLoopWindow = w }(restartLoopWindow)
	restartLoopWindow = 100 * time.Millisecond
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve")})
	r.rec.waitReady(10 * time.Second)
	for range 4 { // slow saves of one path
		time.Sleep(200 * time.Millisecond)
		r.Changed("app.py")
		r.rec.waitReady(10 * time.Second)
	}
	for _, p := range []string{"a.py", "a.py", "b.py", "a.py", "a.py"} { // quick, but the streak breaks
		r.Changed(p)
		r.rec.waitReady(10 * time.Second)
	}
	select {
	case p := <-r.rec.loops:
		t.Errorf("OnRestartLoop(%q), want no call\nlog:\n%s", p, r.rec.logText())
	default:
	}
}
