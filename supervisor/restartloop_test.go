//go:build linux

package supervisor

import (
	"bytes"
	"path/filepath"
	"slices"
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

// A backend that writes a file in the watched tree each time it starts
// (just after it listens, so sometimes after the probe found it ready):
// after three restarts in a row caused by that path, OnRestartLoop reports
// it once, and the write of each later start is ignored; the backend stays
// up. A change of it made while the backend runs quietly is an edit and
// restarts it; the writes that follow restart it until the path is flagged
// again.
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
	if log := r.rec.logText(); strings.Contains(log, "restarts in a row") {
		t.Errorf("the supervisor warned itself, though OnRestartLoop reports the path (one warning, not two):\n%s", log)
	}

	// Another path restarts it; that start's write is ignored too.
	r.Changed("app.py")
	if g := r.rec.waitReady(10 * time.Second); g != 5 {
		t.Errorf("OnReady(%d) after a change of another path, want 5", g)
	}
	r.rec.noReady(restartLoopWindow + 100*time.Millisecond)

	// An edit of the flagged path: a restart, then three more caused by
	// the writes of the starts, then the path is flagged again.
	r.Changed("state.json")
	for last < 9 {
		last = r.rec.waitReady(10 * time.Second)
	}
	r.rec.noReady(restartLoopWindow + 100*time.Millisecond)
	if n := len(r.rec.loops); n != 0 {
		t.Errorf("OnRestartLoop called %d more times, want once", n)
	}
	if log := r.rec.logText(); !strings.Contains(log, "info: state.json changed each time ") || !strings.Contains(log, " started again, 3 restarts in a row") {
		t.Errorf("log lacks the line that flags state.json again:\n%s", log)
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

// A developer saving one file once a second (the tester appended to
// src/app.py every second, with a node server) restarts the server at each
// save, and is not taken for a server writing its own file: the saves come
// long after the server answered.
func TestRestartLoopGuardSavesASecondApart(t *testing.T) {
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve"), Debounce: DefaultDebounce})
	gen := r.rec.waitReady(10 * time.Second)
	saved := time.Now()
	for range 5 {
		time.Sleep(time.Until(saved.Add(time.Second)))
		saved = time.Now()
		r.Changed("src/app.py")
		if g := r.rec.waitReady(10 * time.Second); g != gen+1 {
			t.Fatalf("OnReady(%d) after a save, want %d", g, gen+1)
		}
		gen++
	}
	select {
	case p := <-r.rec.loops:
		t.Errorf("OnRestartLoop(%q), want no call\nlog:\n%s", p, r.rec.logText())
	default:
	}
}

// A developer who saves again as soon as the server answers (a file
// appended every 150 ms, with a server that starts in less) cannot be told
// from a server writing the file as it starts: the path is reported, and a
// save right after the next start is ignored. But an edit made while the
// server runs quietly restarts it, and from then on the path is an edit
// like any other: a save right after that restart restarts it too.
func TestRestartLoopGuardFlaggedPathEditedLater(t *testing.T) {
	r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve"), Debounce: 10 * time.Millisecond})
	gen := r.rec.waitReady(10 * time.Second)
	reported := false
	for i := 0; !reported; i++ {
		if i == 10 {
			t.Fatalf("OnRestartLoop not called after %d quick saves\nlog:\n%s", i, r.rec.logText())
		}
		r.Changed("src/app.py")
		gen = r.rec.waitReady(10 * time.Second)
		select {
		case p := <-r.rec.loops:
			if p != "src/app.py" {
				t.Fatalf("OnRestartLoop(%q), want src/app.py", p)
			}
			reported = true
		default:
		}
	}
	r.Changed("src/app.py") // right after the start: taken for the server's own write
	r.rec.noReady(300 * time.Millisecond)

	time.Sleep(restartLoopWindow) // the server has run quietly since
	r.Changed("src/app.py")
	if g := r.rec.waitReady(10 * time.Second); g != gen+1 {
		t.Fatalf("OnReady(%d) after an edit of the reported path, want %d", g, gen+1)
	}
	r.Changed("src/app.py") // right after the start again
	if g := r.rec.waitReady(10 * time.Second); g != gen+2 {
		t.Fatalf("OnReady(%d) after a quick second save, want %d", g, gen+2)
	}
	if n := len(r.rec.loops); n != 0 {
		t.Errorf("OnRestartLoop called %d more times, want once", n)
	}
}

// A server that writes its file as editors do, a temporary file renamed
// over it, changes two paths at each start: both are reported, and the
// start's write of both is ignored, so the server stays up.
func TestRestartLoopGuardWriteAndRename(t *testing.T) {
	dir := t.TempDir()
	w := &lineWatcher{substr: "wrote ", c: make(chan string, 100)}
	r := start(t, Config{
		Addr: freeAddr(t), Command: helperCommand(t, "serve", "-touch", filepath.Join(dir, "state.json")),
		Debounce: 10 * time.Millisecond, Stdout: w, Stderr: w,
	})
	go func() { // the watcher: written, renamed away, renamed in
		for range w.c {
			r.Changed("state.json.tmp")
			r.Changed("state.json.tmp")
			r.Changed("state.json")
		}
	}()
	var reported []string
	for len(reported) < 2 {
		select {
		case p := <-r.rec.loops:
			reported = append(reported, p)
		case <-time.After(20 * time.Second):
			t.Fatalf("OnRestartLoop called for %q only, want state.json.tmp and state.json\nlog:\n%s", reported, r.rec.logText())
		}
	}
	if want := []string{"state.json.tmp", "state.json"}; !slices.Equal(reported, want) {
		t.Errorf("OnRestartLoop for %q, want %q", reported, want)
	}
	var last uint64
	for last < 4 {
		last = r.rec.waitReady(10 * time.Second)
	}
	r.rec.noReady(time.Second)
	if n := strings.Count(w.mu.String(), "wrote "); n != 4 {
		t.Errorf("%d starts wrote the file, want 4 (the first and three restarts)", n)
	}
}
