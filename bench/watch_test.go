//go:build linux

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"reloadproxy/inotify"
)

// watchTreeShape is the tree BenchmarkWatchTreeSetup watches: 100 top
// directories × 100 subdirectories each holding 10 empty files, i.e.
// 10,100 directories (10,101 watches with the root) and 101,000 files.
const (
	watchTop   = 100
	watchSub   = 100
	watchFiles = 10
)

// buildWatchTree creates the tree under root.
func buildWatchTree(b *testing.B, root string) {
	b.Helper()
	for i := range watchTop {
		top := filepath.Join(root, fmt.Sprintf("d%03d", i))
		for j := range watchSub {
			sub := filepath.Join(top, fmt.Sprintf("s%03d", j))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
			for k := range watchFiles {
				f, err := os.Create(filepath.Join(sub, "f"+strconv.Itoa(k)+".go"))
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

// ensureWatchLimit raises fs.inotify.max_user_watches to at least need
// more than its current value when it is lower than that (possible as
// root), restoring it when the benchmark ends.
func ensureWatchLimit(b *testing.B, need int) {
	b.Helper()
	const limitFile = "/proc/sys/fs/inotify/max_user_watches"
	orig, err := os.ReadFile(limitFile)
	if err != nil {
		return
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(orig)))
	if err != nil || limit >= need+8192 {
		return
	}
	if err := os.WriteFile(limitFile, []byte(strconv.Itoa(need+8192)), 0); err != nil {
		b.Logf("max_user_watches is %d and cannot be raised (%v); expect a watch limit warning", limit, err)
		return
	}
	b.Cleanup(func() { os.WriteFile(limitFile, orig, 0) })
}

// BenchmarkWatchTreeSetup times WatchTree (every directory watched and
// listed) plus Close over 10,100 directories and 101,000 files. Target:
// under 300 ms per op.
func BenchmarkWatchTreeSetup(b *testing.B) {
	root := b.TempDir()
	buildWatchTree(b, root)
	ensureWatchLimit(b, watchTop*watchSub+watchTop+1)
	b.Run(fmt.Sprintf("dirs=%d/files=%d", watchTop*watchSub+watchTop, watchTop*watchSub*watchFiles), func(b *testing.B) {
		b.ReportAllocs()
		watches := 0
		for b.Loop() {
			tree, err := inotify.WatchTree(inotify.Options{
				Roots:     []string{root},
				OnChange:  func(inotify.Change) {},
				OnWarning: func(err error) { b.Error(err) },
			})
			if err != nil {
				b.Fatal(err)
			}
			watches = tree.WatchCount()
			tree.Close()
		}
		if want := watchTop*watchSub + watchTop + 1; watches != want {
			b.Errorf("watches = %d, want %d", watches, want)
		}
		b.ReportMetric(float64(watches), "watches")
	})
}

// BenchmarkWriteToEvent measures the latency from os.WriteFile of a
// watched file to OnChange being called for it (ns/op, the write itself
// included). It runs in the test's temporary directory (a disk file system:
// rewriting a file there can flush on close) and, when available, on tmpfs
// (/dev/shm), where the write is cheap and ns/op is mostly the
// inotify → poller → reader goroutine → OnChange path.
func BenchmarkWriteToEvent(b *testing.B) {
	dirs := []struct{ name, parent string }{{"fs=tempdir", ""}}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dirs = append(dirs, struct{ name, parent string }{"fs=tmpfs", "/dev/shm"})
	}
	for _, d := range dirs {
		b.Run(d.name, func(b *testing.B) {
			root := b.TempDir()
			if d.parent != "" {
				var err error
				if root, err = os.MkdirTemp(d.parent, "watchbench"); err != nil {
					b.Skip(err)
				}
				b.Cleanup(func() { os.RemoveAll(root) })
			}
			benchWriteToEvent(b, root)
		})
	}
}

func benchWriteToEvent(b *testing.B, root string) {
	path := filepath.Join(root, "app.py")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	changed := make(chan inotify.Change, 1)
	tree, err := inotify.WatchTree(inotify.Options{
		Roots:    []string{root},
		OnChange: func(c inotify.Change) { changed <- c },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer tree.Close()
	data := []byte("print('hello')\n")
	b.ReportAllocs()
	for b.Loop() {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		if c := <-changed; c.Path != "app.py" || c.Op != inotify.Write {
			b.Fatalf("change = %v, want WRITE app.py", c)
		}
	}
}
