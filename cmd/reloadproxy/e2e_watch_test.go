package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// serverScript is a python3 HTTP server run directly (--exec ./server.py)
// that answers every GET with version.
func serverScript(python, version string) string {
	return "#!" + python + `
import http.server, os

VERSION = b"` + version + `\n"

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(VERSION)))
        self.end_headers()
        self.wfile.write(VERSION)

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`
}

// TestE2EEditedExecProgramRestarts: without --build, --exec's program is
// a file like any other: a script run directly, edited in place (same
// inode, as most editors save), restarts the server with the new version.
func TestE2EEditedExecProgramRestarts(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"server.py": serverScript(python, "version 1")})
	script := filepath.Join(dir, "server.py")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	backend := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", "./server.py")
	p.waitOutput("ready in", 1, restartTimeout)
	if body := get200(t, p, p.url("/")); body != "version 1\n" {
		t.Fatalf("page %q, want version 1", body)
	}
	// os.WriteFile truncates and writes the existing file: no temp file.
	if err := os.WriteFile(script, []byte(serverScript(python, "version 2")), 0o755); err != nil {
		t.Fatal(err)
	}
	p.waitOutput("reloadproxy: restarting: server.py changed", 1, restartTimeout)
	waitBody(t, p, p.url("/"), "version 2", restartTimeout)
}

// TestE2ELogLinesStartOnTheirOwnLine: reloadproxy's own lines never glue to
// a server line that has no newline yet (Python, unbuffered, writes print's
// text and its newline in two writes): the line starts on a line of its own,
// and the server's output is otherwise passed as it is.
func TestE2ELogLinesStartOnTheirOwnLine(t *testing.T) {
	python := pythonExe(t)
	backend := strconv.Itoa(freePort(t))
	server := `import http.server, os, sys, time
sys.stdout.write("Serving, no newline yet")
sys.stdout.flush()
time.sleep(0.3)  # the partial line is passed on before the server answers

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the probe's line would end the partial one
        pass

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Quiet).serve_forever()
`
	p := startReloadproxy(t, t.TempDir(), "LISTEN", backend, "--exec", python, "-c", server)
	p.waitOutput("ready in", 1, restartTimeout)
	out := p.out.String()
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d reloadproxy: ready in `).MatchString(out) {
		t.Fatalf("the ready line does not start a line:\n%s", out)
	}
	if !regexp.MustCompile(`Serving, no newline yet\n\d\d:\d\d:\d\d reloadproxy: ready in `).MatchString(out) {
		t.Fatalf("want the server's partial line, a newline, then the ready line:\n%s", out)
	}
}

// TestE2ESaveThroughTempFileNamesTheFile: a save that writes a temporary
// file and renames it over the original (sed -i, and editors that save
// atomically) is logged under the file's name, not the temporary one's,
// which no longer exists when the restart is logged.
func TestE2ESaveThroughTempFileNamesTheFile(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"server.py": serverScript(python, "version 1")})
	backend := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", python, "server.py")
	p.waitOutput("ready in", 1, restartTimeout)
	for i, save := range []func(){
		func() {
			if out, err := exec.Command("sed", "-i", "s/version 1/version 2/", filepath.Join(dir, "server.py")).CombinedOutput(); err != nil {
				t.Fatalf("sed -i: %v: %s", err, out)
			}
		},
		func() { // as an editor's atomic save: write beside, rename over
			tmp := filepath.Join(dir, ".server.py.tmp-save")
			if err := os.WriteFile(tmp, []byte(serverScript(python, "version 3")), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "server.py")); err != nil {
				t.Fatal(err)
			}
		},
	} {
		save()
		waitBody(t, p, p.url("/"), fmt.Sprintf("version %d", i+2), restartTimeout)
		matchOutput(t, p, `reloadproxy: restarting: \S+ changed`, i+1, restartTimeout)
	}
	if n := strings.Count(p.out.String(), "reloadproxy: restarting: server.py changed"); n != 2 {
		t.Errorf("%d restarts logged as server.py's, want 2:\n%s", n, p.out.String())
	}
}
