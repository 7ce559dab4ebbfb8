package bench

// Timing figures of the supervisor (moved out of its unit tests): how long
// a file change takes to become a ready backend, against the backend's own
// start, and the phases of a change with a build step.
//
//	go test ./bench -run '^$' -bench 'Restart|Build' -benchtime 3x

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"reloadproxy/supervisor"
)

// tinyServer is the source of the Go backend of these benchmarks; %d is
// a number each edit changes, so that `go build` has something to compile.
const tinyServer = `package main

import (
	"fmt"
	"net/http"
	"os"
)

const edit = %d

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid=%%d edit=%%d\n", os.Getpid(), edit)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// tinyModule writes the tiny server's module into a temporary directory
// and returns the directory and its build command (a shell command run in
// any directory). It skips the benchmark when `go` is missing.
func tinyModule(b *testing.B) (dir, build string) {
	b.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is not in PATH: this benchmark builds a tiny Go server with it")
	}
	dir = b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	editTiny(b, dir, 0)
	// GOWORK=off: the module stands alone; GOFLAGS from the environment
	// apply only where go build knows them.
	build = fmt.Sprintf("cd '%s' && GOWORK=off GOTOOLCHAIN=local '%s' build -o server .", dir, gobin)
	return dir, build
}

func editTiny(b *testing.B, dir string, n int) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), fmt.Appendf(nil, tinyServer, n), 0o644); err != nil {
		b.Fatal(err)
	}
}

// tinyBinary builds the tiny server once and returns its path.
func tinyBinary(b *testing.B) string {
	b.Helper()
	dir, build := tinyModule(b)
	if out, err := exec.Command("sh", "-c", build).CombinedOutput(); err != nil {
		b.Fatalf("building the tiny server: %v\n%s", err, out)
	}
	return filepath.Join(dir, "server")
}

// stampLog is a supervisor.Logger that keeps each line with its time.
type stampLog struct {
	mu    sync.Mutex
	lines []stampedLine
}

type stampedLine struct {
	at  time.Time
	msg string
}

func (l *stampLog) add(msg string) {
	l.mu.Lock()
	l.lines = append(l.lines, stampedLine{time.Now(), msg})
	l.mu.Unlock()
}
func (l *stampLog) Info(msg string)  { l.add(msg) }
func (l *stampLog) Warn(msg string)  { l.add("warn: " + msg) }
func (l *stampLog) Error(msg string) { l.add("error: " + msg) }

// since returns the time of the first line at or after t0 that starts with
// prefix.
func (l *stampLog) since(t0 time.Time, prefix string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if !ln.at.Before(t0) && strings.HasPrefix(ln.msg, prefix) {
			return ln.at, true
		}
	}
	return time.Time{}, false
}

func (l *stampLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s strings.Builder
	for _, ln := range l.lines {
		s.WriteString(ln.msg + "\n")
	}
	return s.String()
}

// superv runs a Supervisor for a benchmark and records its OnReady calls.
type superv struct {
	*supervisor.Supervisor
	log   *stampLog
	ready chan uint64
}

func runSupervisor(b *testing.B, cfg supervisor.Config) *superv {
	b.Helper()
	r := &superv{log: &stampLog{}, ready: make(chan uint64, 16)}
	cfg.Log = r.log
	cfg.Stdout, cfg.Stderr = io.Discard, io.Discard
	cfg.OnReady = func(g uint64, _ supervisor.ReloadReason) { r.ready <- g }
	s, err := supervisor.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	r.Supervisor = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *superv) waitReady(b *testing.B) {
	b.Helper()
	select {
	case <-r.ready:
	case <-time.After(60 * time.Second):
		b.Fatalf("backend not ready within 60s; log:\n%s", r.log)
	}
}

func freeLoopback(b *testing.B) (addr, port string) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ = net.SplitHostPort(addr)
	return addr, port
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkRestartLatency measures a file change (Changed) to a ready
// backend (OnReady) with the default debounce, against the backend's own
// start (exec to accepting connections, measured directly on another port
// in the same rounds so both see the same machine load). ms/overhead is what
// the supervisor adds beyond the backend's start and the debounce (DESIGN.md
// targets 10 ms).
func BenchmarkRestartLatency(b *testing.B) {
	b.Run("go", func(b *testing.B) {
		bin := tinyBinary(b)
		benchRestart(b, func(string) []string { return []string{bin} })
	})
	b.Run("python3", func(b *testing.B) {
		py, err := exec.LookPath("python3")
		if err != nil {
			b.Skip("python3 not in PATH")
		}
		benchRestart(b, func(port string) []string {
			return []string{py, "-m", "http.server", port, "--bind", "127.0.0.1"}
		})
	})
}

func benchRestart(b *testing.B, command func(port string) []string) {
	addr, port := freeLoopback(b)
	direct, directPort := freeLoopback(b)
	r := runSupervisor(b, supervisor.Config{Addr: addr, Command: command(port), Debounce: supervisor.DefaultDebounce})
	r.waitReady(b)
	var owns, restarts []time.Duration
	b.ResetTimer()
	for i := range b.N {
		argv := command(directPort)
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = append(os.Environ(), "PORT="+directPort, "PYTHONUNBUFFERED=1")
		t0 := time.Now()
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			if conn, err := net.Dial("tcp", direct); err == nil {
				conn.Close()
				break
			}
			if time.Since(t0) > 30*time.Second {
				b.Fatal("the backend did not listen within 30s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		owns = append(owns, time.Since(t0))
		c.Process.Kill()
		c.Wait()

		t0 = time.Now()
		// A new path each round: one path restarting the backend again
		// and again right after each start looks like a restart loop.
		r.Changed(fmt.Sprintf("src/file%d.py", i))
		r.waitReady(b)
		restarts = append(restarts, time.Since(t0))
	}
	b.StopTimer()
	restart, own := median(restarts), median(owns)
	b.ReportMetric(ms(restart), "ms/restart")
	b.ReportMetric(ms(own), "ms/backend-start")
	b.ReportMetric(ms(restart-own-supervisor.DefaultDebounce), "ms/overhead")
}

// BenchmarkBuildRestart measures a change with a build step: the source
// of a tiny Go server is edited, Changed is called, the supervisor builds it
// with `go build` while the old server serves, stops the old one and starts
// the new one. Medians of each phase: ms/build (building: to build ok),
// ms/stop (build ok to the new start, i.e. the old server's stop), ms/start
// (new start to ready), ms/ready (Changed to OnReady, the debounce included).
func BenchmarkBuildRestart(b *testing.B) {
	dir, build := tinyModule(b)
	addr, _ := freeLoopback(b)
	r := runSupervisor(b, supervisor.Config{
		Addr: addr, Command: []string{filepath.Join(dir, "server")}, Build: build,
		Debounce: supervisor.DefaultDebounce,
	})
	r.waitReady(b)
	var builds, stops, starts, totals []time.Duration
	b.ResetTimer()
	for i := range b.N {
		editTiny(b, dir, i+1)
		t0 := time.Now()
		// One path per round: the same path changing again within 0.5 s
		// of each ready, three times in a row, trips the restart-loop
		// guard, which then ignores its early changes.
		r.Changed(fmt.Sprintf("round%d/main.go", i))
		r.waitReady(b)
		readyAt := time.Now()
		building, ok1 := r.log.since(t0, "building: ")
		built, ok2 := r.log.since(t0, "build ok in ")
		started, ok3 := r.log.since(t0, "restarting: ")
		if !ok1 || !ok2 || !ok3 {
			b.Fatalf("log lacks building / build ok / restarting after the change:\n%s", r.log)
		}
		builds = append(builds, built.Sub(building))
		stops = append(stops, started.Sub(built))
		starts = append(starts, readyAt.Sub(started))
		totals = append(totals, readyAt.Sub(t0))
	}
	b.StopTimer()
	b.ReportMetric(ms(median(builds)), "ms/build")
	b.ReportMetric(ms(median(stops)), "ms/stop")
	b.ReportMetric(ms(median(starts)), "ms/start")
	b.ReportMetric(ms(median(totals)), "ms/ready")
}
