//go:build linux

package bench

// Polling costs, for trees inotify cannot watch (network and VM mounts,
// directories beyond the watch limit): CPU while idle, and how long after a
// write its change is reported.
//
//	go test ./bench -run '^$' -bench 'BenchmarkPollIdleCPU' -benchtime 1x             # ~2 × (setup + 5 s)
//	go test ./bench -run '^$' -bench 'BenchmarkWriteToChange' -benchtime 20x          # ~25 s
//
// Take figures on a quiet machine: %cpu is the whole process's, as
// getrusage(RUSAGE_SELF) counts it (user + system time, GC included) over
// the wall time of the window.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"reloadproxy/inotify"
)

var (
	pollWindowFlag = flag.Duration("poll.window", 5*time.Second,
		"BenchmarkPollIdleCPU: how long the idle polled tree is measured")
	pollIntervalFlag = flag.Duration("poll.interval", inotify.DefaultPollInterval,
		"BenchmarkPollIdleCPU: the poll interval")
)

// The polled tree: 100 directories × 100 files.
const (
	pollDirs  = 100
	pollFiles = 100
)

// benchDirs are the file systems the benchmarks run on: the test's
// temporary directory (a disk), and tmpfs (/dev/shm) when there is one.
func benchDirs(b *testing.B) []struct{ name, parent string } {
	dirs := []struct{ name, parent string }{{"fs=tempdir", ""}}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dirs = append(dirs, struct{ name, parent string }{"fs=tmpfs", "/dev/shm"})
	}
	return dirs
}

// benchRoot returns a fresh directory under parent ("" = b.TempDir()).
func benchRoot(b *testing.B, parent string) string {
	b.Helper()
	if parent == "" {
		return b.TempDir()
	}
	root, err := os.MkdirTemp(parent, "pollbench")
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	return root
}

func buildPollTree(b *testing.B, root string) {
	b.Helper()
	for i := range pollDirs {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range pollFiles {
			if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(j)+".py"), []byte("x = 1\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Let the directories' mtimes age past the poller's racy window, as
	// in a tree that is being worked on: otherwise the first seconds
	// re-list every directory at every tick.
	old := time.Now().Add(-time.Minute)
	for i := range pollDirs {
		if err := os.Chtimes(filepath.Join(root, fmt.Sprintf("d%03d", i)), old, old); err != nil {
			b.Fatal(err)
		}
	}
}

// processCPU returns the CPU time (user + system) the process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPollIdleCPU polls an idle tree of 10,000 files in 100
// directories at the default interval (1 s) for -poll.window and reports
// the process's CPU use as a percentage of one core (%cpu). Target: under
// 5 %cpu. setup-ms is WatchTree's time to stat the tree the first time.
func BenchmarkPollIdleCPU(b *testing.B) {
	for _, d := range benchDirs(b) {
		b.Run(fmt.Sprintf("%s/files=%d", d.name, pollDirs*pollFiles), func(b *testing.B) {
			root := benchRoot(b, d.parent)
			buildPollTree(b, root)
			start := time.Now()
			tree, err := inotify.WatchTree(inotify.Options{
				Roots:        []string{root},
				Method:       inotify.Poll,
				PollInterval: *pollIntervalFlag,
				OnChange:     func(c inotify.Change) { b.Errorf("change in an idle tree: %v", c) },
				OnWarning:    func(err error) { b.Error(err) },
			})
			if err != nil {
				b.Fatal(err)
			}
			setup := time.Since(start)
			defer tree.Close()
			if n := tree.PolledCount(); n != pollDirs+1 {
				b.Fatalf("PolledCount() = %d, want %d", n, pollDirs+1)
			}
			var pct float64
			for b.Loop() {
				cpu0, wall0 := processCPU(b), time.Now()
				time.Sleep(*pollWindowFlag)
				cpu, wall := processCPU(b)-cpu0, time.Since(wall0)
				pct = 100 * float64(cpu) / float64(wall)
			}
			b.ReportMetric(pct, "%cpu")
			b.ReportMetric(float64(setup.Microseconds())/1000, "setup-ms")
		})
	}
}

// BenchmarkWriteToChange measures how long after os.WriteFile of a watched
// file OnChange is called for it (ms/change, the mean), with inotify and
// with polling. Polling finds a write at the next tick: about half the
// interval on average, as each write is made at a random moment of the
// interval. ns/op includes that random wait; read ms/change.
func BenchmarkWriteToChange(b *testing.B) {
	for _, m := range []struct {
		name     string
		method   inotify.Method
		interval time.Duration
	}{
		{"method=inotify", inotify.Inotify, 0},
		{"method=poll/interval=100ms", inotify.Poll, 100 * time.Millisecond},
		{"method=poll/interval=1s", inotify.Poll, time.Second},
	} {
		b.Run(m.name, func(b *testing.B) {
			dirs := benchDirs(b)
			root := benchRoot(b, dirs[len(dirs)-1].parent) // tmpfs when there is one: cheap writes
			path := filepath.Join(root, "app.py")
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				b.Fatal(err)
			}
			changed := make(chan time.Time, 1)
			tree, err := inotify.WatchTree(inotify.Options{
				Roots:        []string{root},
				Method:       m.method,
				PollInterval: m.interval,
				OnChange: func(c inotify.Change) {
					if c.Path == "app.py" {
						changed <- time.Now()
					}
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer tree.Close()
			// Alternate sizes: two writes in one timestamp granule must
			// still differ for polling.
			contents := [][]byte{[]byte("print('hello')\n"), []byte("print('hello, world')\n")}
			var total time.Duration
			n := 0
			for b.Loop() {
				if m.interval > 0 {
					time.Sleep(rand.N(m.interval))
				}
				start := time.Now()
				if err := os.WriteFile(path, contents[n%2], 0o644); err != nil {
					b.Fatal(err)
				}
				total += (<-changed).Sub(start)
				n++
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/change")
		})
	}
}
