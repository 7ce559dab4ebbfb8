package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the reloadproxy built once for the end-to-end tests, with
// buildFlags.
var (
	binary     string
	buildFlags []string
	raceBuild  bool // the binary has the race detector (go test -race)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reloadproxy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "reloadproxy")
	build := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", binary, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building reloadproxy:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a reloadproxy started by a test, in its own process group.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	out    *syncBuffer
	addr   string // the proxy's address, 127.0.0.1:port
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed
}

// freePort returns a port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startReloadproxy runs the binary in dir with args, where the literal
// "LISTEN" is replaced by a free 127.0.0.1 port, and waits until it accepts
// connections. It is stopped (SIGINT, then SIGKILL to its group) when the
// test ends.
func startReloadproxy(t testing.TB, dir string, args ...string) *proc {
	t.Helper()
	return launchProxy(t, dir, launchOptions{}, args...)
}

// launchOptions are what launchProxy changes from startReloadproxy.
type launchOptions struct {
	listenHost string   // LISTEN's host; default 127.0.0.1
	dialHost   string   // where the test connects; default listenHost, 127.0.0.1 for 0.0.0.0
	wrapper    []string // a command that execs reloadproxy with its arguments (prlimit ...)
	// terminal, when set, is the terminal side of a pseudo-terminal that
	// becomes reloadproxy's stdin and controlling terminal, in a session
	// of its own (as a login shell's job would have one).
	terminal *os.File
}

// launchProxy is startReloadproxy with a LISTEN host of the test's choice
// and, optionally, a wrapper such as prlimit that execs the binary (so the
// pid is reloadproxy's). "LISTEN" in args becomes listenHost:port.
func launchProxy(t testing.TB, dir string, lo launchOptions, args ...string) *proc {
	t.Helper()
	if lo.listenHost == "" {
		lo.listenHost = "127.0.0.1"
	}
	if lo.dialHost == "" {
		lo.dialHost = lo.listenHost
		if lo.listenHost == "0.0.0.0" {
			lo.dialHost = "127.0.0.1"
		}
	}
	port := strconv.Itoa(freePort(t))
	full := append(append([]string(nil), lo.wrapper...), binary, "--livereload-port", "0")
	for _, a := range args {
		if a == "LISTEN" {
			a = net.JoinHostPort(lo.listenHost, port)
		}
		full = append(full, a)
	}
	p := &proc{t: t, out: &syncBuffer{}, addr: net.JoinHostPort(lo.dialHost, port), exited: make(chan struct{})}
	p.cmd = exec.Command(full[0], full[1:]...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// A race-enabled binary otherwise sleeps a second before exiting.
	p.cmd.Env = append(os.Environ(), "NO_COLOR=1", "GORACE=atexit_sleep_ms=0")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if lo.terminal != nil {
		// A new session's leader leads a new process group too: stop
		// kills that group as usual. Ctty is the child's fd 0.
		p.cmd.Stdin = lo.terminal
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("reloadproxy exited before listening (%v):\n%s", p.err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("reloadproxy did not listen on %s within 10s:\n%s", p.addr, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop interrupts reloadproxy like Ctrl+C and makes sure its whole process
// group is gone.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.t.Errorf("reloadproxy did not exit within 10s of SIGINT:\n%s", p.out)
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// waitOutput waits until reloadproxy's output contains want n times.
func (p *proc) waitOutput(want string, n int, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(p.out.String(), want) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %v for %d× %q in the output:\n%s", timeout, n, want, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// url returns the proxy's URL for path.
func (p *proc) url(path string) string { return "http://" + p.addr + path }

// requireTool finds an external program a test needs. Without it the test
// is skipped on a developer's machine but fails in CI (CI=true), whose
// .ci/run installs everything: CI never silently loses coverage.
func requireTool(t testing.TB, name string) string {
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

// startServer runs an external server in its own process group and stops
// the group when the test ends. It waits until addr accepts connections.
func startServer(t testing.TB, dir, addr string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return cmd
		}
		select {
		case <-done:
			t.Fatalf("%s exited before listening:\n%s", argv[0], out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 15s:\n%s", argv[0], addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
