package bench

import (
	"bufio"
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

// The reloadproxy binary, built once for the benchmarks that run it as a
// user would.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// reloadproxyBinary builds ../cmd/reloadproxy (static, as shipped) once and
// returns its path.
func reloadproxyBinary(tb testing.TB) string {
	tb.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reloadproxy-bench-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "reloadproxy")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binaryPath, "../cmd/reloadproxy")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = &buildError{out: string(out), err: err}
		}
	})
	if binaryErr != nil {
		tb.Fatalf("building reloadproxy: %v", binaryErr)
	}
	return binaryPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runningProxy is a reloadproxy process started by a benchmark.
type runningProxy struct {
	cmd  *exec.Cmd
	addr string
	out  *lineLog
}

// startReloadproxy runs the binary with args in dir (its own process group,
// stopped at cleanup) and waits until LISTEN accepts connections. In args,
// "LISTEN" is replaced by a free loopback address.
func startReloadproxy(tb testing.TB, dir string, args ...string) *runningProxy {
	tb.Helper()
	addr := proxyFreeAddr(tb)
	for i, a := range args {
		if a == "LISTEN" {
			args[i] = addr
		}
	}
	cmd := exec.Command(reloadproxyBinary(tb), args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lineLog{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	waitListening(tb, addr, 10*time.Second)
	return &runningProxy{cmd: cmd, addr: addr, out: out}
}

// waitListening waits until addr accepts a connection.
func waitListening(tb testing.TB, addr string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nothing listens on %s after %v", addr, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lineLog collects a process's output.
type lineLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// count returns how many lines contain s.
func (l *lineLog) count(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// waitCount waits until n lines contain s.
func (l *lineLog) waitCount(tb testing.TB, s string, n int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for l.count(s) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %d lines with %q:\n%s", within, n, s, l.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// freePort returns a loopback port nothing listens on right now.
func freePort(tb testing.TB) string {
	tb.Helper()
	_, port, _ := net.SplitHostPort(proxyFreeAddr(tb))
	return port
}

// millis converts d to milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// itoa is strconv.Itoa, for brevity in argument lists.
func itoa(n int) string { return strconv.Itoa(n) }
