package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Watching through the binary: the restart-loop guard and --poll.

// TestE2ERestartLoopGuard: a server that writes a file in the watched tree
// each time it starts restarts three times in a row, then reloadproxy warns
// naming that path and the -x to add, and restarts no more; the server
// stays up, and an edit of another file still restarts it.
func TestE2ERestartLoopGuard(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"index.html": "<h1>app</h1>\n", "state/README": "the server writes here\n"})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", "sh", "-c",
		`date +%s%N > state/started.txt; exec "$0" -m http.server --bind 127.0.0.1 "$1"`, python, backend)
	// The warning names the path and the flag, quoted for a shell.
	p.waitOutput("reloadproxy: warning: state/started.txt changed each time the server started, 3 restarts in a row: "+
		"from now on its changes while the server starts are ignored. If your server writes it, exclude it: -x 'state/started.txt'", 1, 3*restartTimeout)
	// The file is written before the server listens: the restarts come
	// before it is ever ready.
	p.waitOutput("ready in", 1, restartTimeout)
	if n := starts(p); n != 4 {
		t.Fatalf("%d starts when the guard fired, want 4 (the first and 3 restarts):\n%s", n, p.out)
	}
	// The fourth start wrote the file too; nothing restarts any more (the
	// guard ignores a flagged path's changes before the server answers and
	// for 0.5 s after it first answered).
	stayedQuiet(t, p, 3*time.Second)
	if body := get200(t, p, p.url("/index.html")); body != "<h1>app</h1>\n" {
		t.Fatalf("page %q", body)
	}
	// Only that path is ignored.
	writeProject(t, dir, map[string]string{"index.html": "<h1>app 2</h1>\n"})
	waitBody(t, p, p.url("/index.html"), "app 2", restartTimeout)
	if n := starts(p); n != 5 {
		t.Fatalf("%d starts after an edit, want 5:\n%s", n, p.out)
	}
}

// TestE2EPolling: with --poll=200ms the start-up log says the root is
// polled because of the flag, and an edit restarts the server.
func TestE2EPolling(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"index.html": "v1\n"})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--poll=200ms",
		"--exec", python, "-m", "http.server", "--bind", "127.0.0.1", backend)
	p.waitOutput("reloadproxy: watching . with poll (--poll)\n", 1, 5*time.Second)
	p.waitOutput("ready in", 1, restartTimeout)
	if body := get200(t, p, p.url("/index.html")); body != "v1\n" {
		t.Fatalf("page %q", body)
	}
	// An edit restarts the server (http.server would serve the new file
	// anyway: the restart is what counts).
	writeProject(t, dir, map[string]string{"index.html": "v2\n"})
	p.waitOutput("reloadproxy: restarting: index.html changed", 1, restartTimeout)
	p.waitOutput("ready in", 2, restartTimeout)
	// A file in a new directory: polling finds the directory too.
	writeProject(t, dir, map[string]string{"sub/page.html": "v3\n"})
	p.waitOutput("reloadproxy: restarting: sub", 1, restartTimeout)
	p.waitOutput("ready in", 3, restartTimeout)
	if body := get200(t, p, p.url("/sub/page.html")); body != "v3\n" {
		t.Fatalf("page %q", body)
	}
	if strings.Contains(p.out.String(), "with inotify") {
		t.Fatalf("a root is watched with inotify although --poll was given:\n%s", p.out)
	}
}
