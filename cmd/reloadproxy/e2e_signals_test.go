package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Signals through the binary: a terminal that hangs up, and Ctrl+C twice.

// serverPid waits for the one live child of reloadproxy: the --exec server.
func serverPid(t *testing.T, p *proc) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids := childrenOf(p.cmd.Process.Pid)
		if len(kids) == 1 {
			return kids[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("reloadproxy has children %v, want the server alone:\n%s", kids, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitExit waits for reloadproxy to exit by itself.
func (p *proc) awaitExit(t *testing.T, within time.Duration, after string) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("reloadproxy still runs %v after %s:\n%s", within, after, p.out)
	}
}

// TestE2ETerminalHangup: reloadproxy runs with a pseudo-terminal as its
// controlling terminal. kill -HUP, the terminal still open, restarts the
// server by hand. Closing the terminal (its master side, as a terminal
// window or sshd does) sends SIGHUP too, and that one stops reloadproxy and
// its server, as SIGTERM does, instead of leaving them running as orphans
// that hold their ports. Under nohup (SIGHUP ignored at start) the hangup
// stops nothing, and a later kill -HUP still restarts.
func TestE2ETerminalHangup(t *testing.T) {
	python := pythonExe(t)
	tests := []struct {
		name    string
		wrapper []string
		stops   bool
	}{
		{"closed terminal stops everything", nil, true},
		{"nohup keeps running", []string{requireTool(t, "nohup")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := setMark(t)
			dir := t.TempDir()
			master, tty := openPTYPair(t)
			backend := strconv.Itoa(freePort(t))
			p := launchProxy(t, dir, launchOptions{terminal: tty, wrapper: tt.wrapper}, "LISTEN", backend,
				"--exec", python, "-m", "http.server", "--bind", "127.0.0.1", backend)
			p.waitOutput("ready in", 1, restartTimeout)

			if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			p.waitOutput("SIGHUP: rebuilding and restarting by hand", 1, 5*time.Second)
			p.waitOutput("ready in", 2, restartTimeout)
			server := serverPid(t, p)

			tty.Close() // only reloadproxy holds the terminal side now
			if err := master.Close(); err != nil {
				t.Fatal(err)
			}
			if !tt.stops {
				p.waitOutput("terminal closed (SIGHUP): still running", 1, 5*time.Second)
				time.Sleep(500 * time.Millisecond)
				if n := outputCount(p, "ready in"); n != 2 || !procAlive(server, mark) {
					t.Fatalf("the hangup restarted or stopped the server (%d starts, want 2):\n%s", n, p.out)
				}
				// Later SIGHUPs are sent by hand: the terminal is gone
				// already.
				if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
				p.waitOutput("ready in", 3, restartTimeout)
				return
			}
			p.awaitExit(t, 10*time.Second, "its terminal closed")
			if p.err != nil {
				t.Errorf("reloadproxy exited with %v after its terminal closed, want status 0 (as after SIGTERM)", p.err)
			}
			if !strings.Contains(p.out.String(), "terminal closed (SIGHUP): stopping") {
				t.Errorf("no word of the closed terminal in the output:\n%s", p.out)
			}
			if procAlive(server, mark) {
				t.Errorf("the server, pid %d, survives reloadproxy", server)
			}
			if found := markedProcs(mark); len(found) > 0 {
				t.Errorf("processes started under reloadproxy survive it:\n%s", strings.Join(found, "\n"))
			}
		})
	}
}

// TestE2ESecondCtrlCKillsEverything: with --stop-signal TERM, a server that
// ignores TERM and has left a descendant in a session of its own (out of
// reach of a group kill, and still its child, so not yet a stray) makes the
// first Ctrl+C wait for --stop-timeout. A second Ctrl+C quits at once, and
// leaves nothing behind: the server and that descendant are gone by the
// time reloadproxy has exited.
func TestE2ESecondCtrlCKillsEverything(t *testing.T) {
	python := pythonExe(t)
	requireTool(t, "setsid")
	mark := setMark(t)
	dir, state := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(state, "setsid.pid")
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--stop-signal", "TERM", "--stop-timeout", "60s", "--exec", "sh", "-c",
		`trap '' TERM; setsid sleep 1002 & echo $! > "$0"; exec "$1" -m http.server --bind 127.0.0.1 "$2"`, pidFile, python, backend)
	p.waitOutput("ready in", 1, restartTimeout)
	server := serverPid(t, p)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	sleeper, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %q", pidFile, b)
	}
	// The test proves something only if the sleep left the server's
	// session and group, and is the server's child, not reloadproxy's.
	if st, ok := readProcStat(sleeper); !ok || st.sid != sleeper || st.ppid != server || !procAlive(sleeper, mark) {
		t.Fatalf("setsid sleep %d: %+v (alive %v), want a live child of the server %d in a session of its own", sleeper, st, procAlive(sleeper, mark), server)
	}

	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	p.waitOutput("press Ctrl+C again to quit at once", 1, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // the server got TERM, and ignores it
	if !procAlive(server, mark) {
		t.Fatalf("the server %d did not ignore SIGTERM:\n%s", server, p.out)
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	p.awaitExit(t, 5*time.Second, "the second Ctrl+C")
	for _, pid := range []struct {
		what string
		pid  int
	}{{"the server", server}, {"setsid sleep 1002", sleeper}} {
		if procAlive(pid.pid, mark) {
			st, _ := readProcStat(pid.pid)
			t.Errorf("%s, pid %d, survives reloadproxy's second Ctrl+C (parent %d)", pid.what, pid.pid, st.ppid)
		}
	}
	if found := markedProcs(mark); len(found) > 0 {
		t.Errorf("processes started under reloadproxy survive it:\n%s\nreloadproxy's output:\n%s", strings.Join(found, "\n"), p.out)
	}
}

// TestE2ESecondSignalWithStderrNotRead: when nobody reads reloadproxy's
// stderr (a full pipe), its log lines block; a second Ctrl+C still kills
// the server and exits.
func TestE2ESecondSignalWithStderrNotRead(t *testing.T) {
	python := pythonExe(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read
	port := strconv.Itoa(freePort(t))
	backend := strconv.Itoa(freePort(t))
	// The server fills the pipe (64 KiB) as it starts, then serves.
	server := `import http.server, os, sys
sys.stderr.write("x" * 200000 + "\n")
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
`
	cmd := exec.Command(binary, "--livereload-port", "0", "127.0.0.1:"+port, backend, "--exec", python, "-c", server)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	time.Sleep(time.Second) // the server starts and blocks on its output
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("reloadproxy still runs 10s after a second Ctrl+C, with its stderr not read")
	}
}
