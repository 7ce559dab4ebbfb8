//go:build linux

package inotify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitTimeout bounds every wait for an event.
const waitTimeout = 5 * time.Second

// recorder collects what a Tree reports.
type recorder struct {
	mu       sync.Mutex
	changes  []Change
	warnings []error
	cursor   int // changes before it were consumed by until
	notify   chan struct{}
	barriers int
	root     string
}

func (r *recorder) onChange(c Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) onWarning(err error) {
	r.mu.Lock()
	r.warnings = append(r.warnings, err)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// startTree starts a Tree on opts with a recorder. The first root is where
// barrier files go; when opts has Patterns, "zz-barrier-*" is added to them
// so barriers trigger.
func startTree(t *testing.T, opts Options) (*Tree, *recorder) {
	t.Helper()
	rec := &recorder{notify: make(chan struct{}, 1), root: opts.Roots[0]}
	opts.OnChange = rec.onChange
	opts.OnWarning = rec.onWarning
	if len(opts.Patterns) > 0 {
		opts.Patterns = append(slices.Clip(opts.Patterns), "zz-barrier-*")
	}
	tree, err := WatchTree(opts)
	if err != nil {
		t.Fatalf("WatchTree: %v", err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree, rec
}

// until waits for a change after the cursor that satisfies pred and returns
// the changes from the cursor up to and including it, moving the cursor
// past it.
func (r *recorder) until(t *testing.T, what string, pred func(Change) bool) []Change {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for i := r.cursor; i < len(r.changes); i++ {
			if pred(r.changes[i]) {
				got := slices.Clone(r.changes[r.cursor : i+1])
				r.cursor = i + 1
				r.mu.Unlock()
				return got
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no change for %s within %v; got since last wait: %v", what, waitTimeout, r.changes[r.cursor:])
		}
	}
}

// waitPath waits for a change to path with any of the op bits.
func (r *recorder) waitPath(t *testing.T, path string, op Op) []Change {
	t.Helper()
	return r.until(t, fmt.Sprintf("%s %v", path, op), func(c Change) bool {
		return c.Path == path && c.Op&op != 0
	})
}

// barrier writes a new file in the first root and waits for it: inotify
// queues events in order, so every change to the events before it has been
// reported by then. It returns those changes (without the barrier's). With
// polling use settle.
func (r *recorder) barrier(t *testing.T) []Change {
	t.Helper()
	r.barriers++
	name := fmt.Sprintf("zz-barrier-%d", r.barriers)
	writeFile(t, filepath.Join(r.root, name), "b")
	got := r.waitPath(t, name, Write|Create) // Create when polled
	return got[:len(got)-1]
}

// settle is barrier twice, without the first barrier's change: a poll
// tick that finds the first barrier has looked at every file changed
// before it, but may report some after the barrier in the same batch;
// the second barrier's tick comes after that whole batch was delivered.
func (r *recorder) settle(t *testing.T) []Change {
	t.Helper()
	first := fmt.Sprintf("zz-barrier-%d", r.barriers+1)
	got := append(r.barrier(t), r.barrier(t)...)
	return slices.DeleteFunc(got, func(c Change) bool { return c.Path == first })
}

func (r *recorder) warningsCopy() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.warnings)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirAll(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

// paths returns the sorted distinct paths of changes.
func paths(changes []Change) []string {
	var ps []string
	for _, c := range changes {
		ps = append(ps, c.Path)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

func checkPaths(t *testing.T, changes []Change, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := paths(changes); !slices.Equal(got, want) {
		t.Errorf("changed paths (-want +got):\n-%q\n+%q\nchanges: %v", want, got, changes)
	}
}

func TestParseEvent(t *testing.T) {
	event := func(wd int32, mask, cookie uint32, name string, pad int) []byte {
		b := make([]byte, 16+len(name)+pad)
		binary.NativeEndian.PutUint32(b[0:], uint32(wd))
		binary.NativeEndian.PutUint32(b[4:], mask)
		binary.NativeEndian.PutUint32(b[8:], cookie)
		binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
		copy(b[16:], name)
		return b
	}
	buf := slices.Concat(
		event(3, unix.IN_CLOSE_WRITE, 0, "a.txt", 11),
		event(-1, unix.IN_Q_OVERFLOW, 0, "", 0),
		event(7, unix.IN_MOVED_TO|unix.IN_ISDIR, 42, "dir", 13),
	)
	want := []Event{
		{WD: 3, Mask: unix.IN_CLOSE_WRITE, Name: []byte("a.txt")},
		{WD: -1, Mask: unix.IN_Q_OVERFLOW, Name: []byte{}},
		{WD: 7, Mask: unix.IN_MOVED_TO | unix.IN_ISDIR, Cookie: 42, Name: []byte("dir")},
	}
	var got []Event
	for b := buf; len(b) > 0; {
		ev, n, err := ParseEvent(b)
		if err != nil {
			t.Fatalf("ParseEvent at %d: %v", len(buf)-len(b), err)
		}
		got = append(got, ev)
		b = b[n:]
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("events (-want +got):\n-%+v\n+%+v", want, got)
	}
	// Every truncation of the first event is short.
	first := event(3, unix.IN_CLOSE_WRITE, 0, "a.txt", 11)
	for i := range len(first) {
		if _, _, err := ParseEvent(first[:i]); !errors.Is(err, ErrShortEvent) {
			t.Errorf("ParseEvent of %d/%d bytes: err = %v, want ErrShortEvent", i, len(first), err)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { ParseEvent(buf) }); allocs != 0 {
		t.Errorf("ParseEvent allocates %v times, want 0", allocs)
	}
}

func TestWatchTreeErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeFile(t, file, "")
	nop := func(Change) {}
	tests := []struct {
		name string
		opts Options
		want string
		is   error
	}{
		{"missing root", Options{Roots: []string{filepath.Join(dir, "nope")}, OnChange: nop}, "no such file", os.ErrNotExist},
		{"root is a file", Options{Roots: []string{file}, OnChange: nop}, "not a directory", nil},
		{"bad glob", Options{Roots: []string{dir}, Patterns: []string{"{a"}, OnChange: nop}, "unclosed", ErrBadGlob},
		{"no OnChange", Options{Roots: []string{dir}}, "OnChange is nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := WatchTree(tt.opts)
			if err == nil {
				tree.Close()
				t.Fatal("WatchTree succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("error (-want +got):\n-%q (is %v)\n+%v", tt.want, tt.is, err)
			}
		})
	}
}

func TestWriteReported(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "a/b"))
	writeFile(t, filepath.Join(root, "a/b/c.txt"), "old")
	tree, rec := startTree(t, Options{Roots: []string{root}})
	if got := tree.WatchCount(); got != 3 {
		t.Errorf("WatchCount() = %d, want 3", got)
	}
	writeFile(t, filepath.Join(root, "a/b/c.txt"), "new")
	got := rec.waitPath(t, "a/b/c.txt", Write)
	want := Change{Root: root, Path: "a/b/c.txt", Op: Write, Action: Restart}
	if got[len(got)-1] != want {
		t.Errorf("change (-want +got):\n-%v\n+%v", want, got[len(got)-1])
	}
	remove(t, filepath.Join(root, "a/b/c.txt"))
	rec.waitPath(t, "a/b/c.txt", Remove)
	if err := os.Chtimes(filepath.Join(root, "a/b"), time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	checkPaths(t, rec.barrier(t)) // IN_ATTRIB of a directory is not a change
}

func TestDefaultRootIsDot(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	rec := &recorder{notify: make(chan struct{}, 1), root: "."}
	tree, err := WatchTree(Options{OnChange: rec.onChange})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	writeFile(t, "x.go", "package x")
	got := rec.waitPath(t, "x.go", Write)
	if c := got[len(got)-1]; c.Root != "." {
		t.Errorf("Root (-want +got):\n-%q\n+%q", ".", c.Root)
	}
}

func TestNeverWatchedAndExcludedDirs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{".git/objects", ".hg", ".svn", "node_modules/pkg", "a/__pycache__", "build/x",
		"dist/x/y", "dist/z", "gen", "src/gen2", "out"} {
		mkdirAll(t, filepath.Join(root, d))
	}
	writeFile(t, filepath.Join(root, ".watchmanconfig"), `{"ignore_dirs": ["dist/x"]}`)
	writeFile(t, filepath.Join(root, ".gitignore"), "/gen/\n*.out\n")
	writeFile(t, filepath.Join(root, "src/.gitignore"), "gen2\n")
	opts := Options{Roots: []string{root}, Excludes: []string{"build/**"}}
	// Watched: root, a, dist, dist/z, src, out.
	tree, rec := startTree(t, opts)
	if got := tree.WatchCount(); got != 6 {
		t.Errorf("WatchCount() = %d, want 6 (root a dist dist/z src out)", got)
	}
	for _, f := range []string{".git/objects/o", ".hg/h", ".svn/s", "node_modules/pkg/index.js", "a/__pycache__/m.pyc",
		"build/x/out.js", "dist/x/y/f", "gen/g.go", "src/gen2/g.go", "out/app.out", "top.out", "dist/z/ok", "src/ok.py"} {
		writeFile(t, filepath.Join(root, f), "x")
	}
	checkPaths(t, rec.barrier(t), "dist/z/ok", "src/ok.py")

	t.Run("NoGitignore", func(t *testing.T) {
		opts.NoGitignore = true
		tree, rec := startTree(t, opts)
		// Also watched now: gen, src/gen2.
		if got := tree.WatchCount(); got != 8 {
			t.Errorf("WatchCount() = %d, want 8", got)
		}
		for _, f := range []string{"gen/g.go", "src/gen2/g.go", "top.out", "build/x/out.js"} {
			writeFile(t, filepath.Join(root, f), "y")
		}
		checkPaths(t, rec.barrier(t), "gen/g.go", "src/gen2/g.go", "top.out")
	})
}

func TestGitignoreAboveRoot(t *testing.T) {
	repo := t.TempDir()
	mkdirAll(t, filepath.Join(repo, ".git/info"))
	mkdirAll(t, filepath.Join(repo, "frontend/dist"))
	writeFile(t, filepath.Join(repo, ".gitignore"), "/frontend/dist/\n")
	writeFile(t, filepath.Join(repo, ".git/info/exclude"), "*.secret\n")
	root := filepath.Join(repo, "frontend")
	tree, rec := startTree(t, Options{Roots: []string{root}})
	if got := tree.WatchCount(); got != 1 {
		t.Errorf("WatchCount() = %d, want 1 (dist is ignored by the repository's .gitignore)", got)
	}
	writeFile(t, filepath.Join(root, "dist/app.js"), "x")
	writeFile(t, filepath.Join(root, "key.secret"), "x")
	writeFile(t, filepath.Join(root, "app.ts"), "x")
	checkPaths(t, rec.barrier(t), "app.ts")
}

func TestPatternsExcludesReloadOnly(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "src/x"))
	mkdirAll(t, filepath.Join(root, "static"))
	_, rec := startTree(t, Options{
		Roots:      []string{root},
		Patterns:   []string{"src/**/*.py"},
		Excludes:   []string{"**/test_*"},
		ReloadOnly: []string{"static/**/*.css"},
	})
	for _, f := range []string{"src/a.py", "src/x/test_b.py", "src/x/y.js", "static/s.css", "top.py", "src/x/c.py"} {
		writeFile(t, filepath.Join(root, f), "x")
	}
	got := rec.barrier(t)
	want := []Change{
		{Root: root, Path: "src/a.py", Op: Write, Action: Restart},
		{Root: root, Path: "static/s.css", Op: Write, Action: ReloadOnly},
		{Root: root, Path: "src/x/c.py", Op: Write, Action: Restart},
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes (-want +got):\n-%v\n+%v", want, got)
	}
}

// TestVimSave replays vim's save of x.py with 'writebackup' and
// backupcopy=no: swap file, the 4913 probe, original renamed to the backup
// x.py~, new x.py written, backup deleted.
func TestVimSave(t *testing.T) {
	root := t.TempDir()
	x := filepath.Join(root, "x.py")
	writeFile(t, x, "v1")
	_, rec := startTree(t, Options{Roots: []string{root}})

	swp := filepath.Join(root, ".x.py.swp")
	writeFile(t, swp, "swap")
	probe := filepath.Join(root, "4913")
	writeFile(t, probe, "")
	remove(t, probe)
	rename(t, x, x+"~")
	writeFile(t, x, "v2")
	remove(t, x+"~")
	writeFile(t, swp, "swap2")
	writeFile(t, filepath.Join(root, ".x.py.swx"), "")
	got := rec.barrier(t)
	checkPaths(t, got, "x.py")
	var op Op
	for _, c := range got {
		op |= c.Op
	}
	if op&Write == 0 {
		t.Errorf("x.py ops = %v, want WRITE among them", op)
	}
	remove(t, swp)
	checkPaths(t, rec.barrier(t))
}

// TestVimSaveBackupCopy replays vim with backupcopy=yes: the backup is a
// copy and x.py is overwritten in place.
func TestVimSaveBackupCopy(t *testing.T) {
	root := t.TempDir()
	x := filepath.Join(root, "x.py")
	writeFile(t, x, "v1")
	_, rec := startTree(t, Options{Roots: []string{root}})
	writeFile(t, filepath.Join(root, ".x.py.swp"), "swap")
	writeFile(t, filepath.Join(root, "4913"), "")
	remove(t, filepath.Join(root, "4913"))
	writeFile(t, x+"~", "v1")
	writeFile(t, x, "v2")
	remove(t, x+"~")
	got := rec.barrier(t)
	want := []Change{{Root: root, Path: "x.py", Op: Write, Action: Restart}}
	if !slices.Equal(got, want) {
		t.Errorf("changes (-want +got):\n-%v\n+%v", want, got)
	}
}

// TestJetBrainsSafeWrite replays IntelliJ's "safe write".
func TestJetBrainsSafeWrite(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "src"))
	x := filepath.Join(root, "src/App.java")
	writeFile(t, x, "v1")
	_, rec := startTree(t, Options{Roots: []string{root}})
	writeFile(t, x+"___jb_tmp___", "v2")
	rename(t, x, x+"___jb_old___")
	rename(t, x+"___jb_tmp___", x)
	remove(t, x+"___jb_old___")
	got := rec.barrier(t)
	checkPaths(t, got, "src/App.java")
	var op Op
	for _, c := range got {
		op |= c.Op
	}
	if op&Create == 0 {
		t.Errorf("ops = %v, want CREATE (the new file renamed in)", op)
	}
}

func TestEmacsFiles(t *testing.T) {
	root := t.TempDir()
	_, rec := startTree(t, Options{Roots: []string{root}})
	writeFile(t, filepath.Join(root, "#a.el#"), "")
	if err := os.Symlink("user@host.1234", filepath.Join(root, ".#a.el")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a.el"), "")
	checkPaths(t, rec.barrier(t), "a.el")
}

// TestBurst500 writes 500 files as a git checkout would (some modified,
// some new in new directories): all are reported.
func TestBurst500(t *testing.T) {
	root := t.TempDir()
	for i := range 5 {
		mkdirAll(t, filepath.Join(root, fmt.Sprintf("pkg%d", i)))
	}
	_, rec := startTree(t, Options{Roots: []string{root}})
	want := map[string]bool{}
	for i := range 500 {
		var rel string
		if i%2 == 0 {
			rel = fmt.Sprintf("pkg%d/f%03d.go", i%5, i)
		} else {
			rel = fmt.Sprintf("new%d/sub/f%03d.go", i%5, i)
			mkdirAll(t, filepath.Join(root, filepath.Dir(rel)))
		}
		writeFile(t, filepath.Join(root, rel), "package p")
		want[rel] = true
	}
	rec.until(t, "all 500 files", func(c Change) bool {
		delete(want, c.Path)
		return len(want) == 0
	})
}

func TestNewDirMovedIn(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "incoming")
	mkdirAll(t, filepath.Join(outside, "sub/deeper"))
	writeFile(t, filepath.Join(outside, "a.txt"), "a")
	writeFile(t, filepath.Join(outside, "sub/deeper/b.txt"), "b")
	writeFile(t, filepath.Join(outside, "sub/x.swp"), "")
	mkdirAll(t, filepath.Join(outside, "node_modules/m"))
	writeFile(t, filepath.Join(outside, "node_modules/m/i.js"), "")
	tree, rec := startTree(t, Options{Roots: []string{root}})
	rename(t, outside, filepath.Join(root, "moved"))
	got := rec.barrier(t)
	checkPaths(t, got, "moved/a.txt", "moved/sub/deeper/b.txt")
	for _, c := range got {
		if c.Op != Create {
			t.Errorf("%v: want CREATE", c)
		}
	}
	if n := tree.WatchCount(); n != 4 {
		t.Errorf("WatchCount() = %d, want 4 (root moved moved/sub moved/sub/deeper)", n)
	}
	writeFile(t, filepath.Join(root, "moved/sub/deeper/c.txt"), "c")
	rec.waitPath(t, "moved/sub/deeper/c.txt", Write)
}

func TestMkdirPWriteQuickly(t *testing.T) {
	root := t.TempDir()
	_, rec := startTree(t, Options{Roots: []string{root}})
	for i := range 20 {
		dir := filepath.Join(root, fmt.Sprintf("n%d/a/b/c", i))
		mkdirAll(t, dir)
		writeFile(t, filepath.Join(dir, "x.txt"), "x")
	}
	got := rec.barrier(t)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("n%d/a/b/c/x.txt", i))
	}
	checkPaths(t, got, want...)
	// The new directories are watched: a later write is seen.
	writeFile(t, filepath.Join(root, "n7/a/b/c/y.txt"), "y")
	rec.waitPath(t, "n7/a/b/c/y.txt", Write)
}

func TestDirDeletedAndRecreated(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "d/e"))
	writeFile(t, filepath.Join(root, "d/e/f.txt"), "")
	tree, rec := startTree(t, Options{Roots: []string{root}})
	remove(t, filepath.Join(root, "d"))
	checkPaths(t, rec.barrier(t), "d/e/f.txt")
	if n := tree.WatchCount(); n != 1 {
		t.Errorf("after delete: WatchCount() = %d, want 1", n)
	}
	mkdirAll(t, filepath.Join(root, "d/e"))
	writeFile(t, filepath.Join(root, "d/e/g.txt"), "")
	rec.waitPath(t, "d/e/g.txt", Create|Write) // found by the scan or written after the watch
	writeFile(t, filepath.Join(root, "d/e/h.txt"), "")
	rec.waitPath(t, "d/e/h.txt", Write)
	if n := tree.WatchCount(); n != 3 {
		t.Errorf("after re-create: WatchCount() = %d, want 3", n)
	}
}

func TestDirRenamedWithinTree(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "a/b"))
	tree, rec := startTree(t, Options{Roots: []string{root}})
	rename(t, filepath.Join(root, "a"), filepath.Join(root, "c"))
	checkPaths(t, rec.barrier(t), "a")
	writeFile(t, filepath.Join(root, "c/b/y.txt"), "")
	got := rec.waitPath(t, "c/b/y.txt", Write)
	checkPaths(t, got, "c/b/y.txt")
	if n := tree.WatchCount(); n != 3 {
		t.Errorf("WatchCount() = %d, want 3", n)
	}
}

func TestDirMovedOut(t *testing.T) {
	root := t.TempDir()
	away := filepath.Join(t.TempDir(), "away")
	mkdirAll(t, filepath.Join(root, "a/b"))
	tree, rec := startTree(t, Options{Roots: []string{root}, Patterns: []string{"**/*.py"}})
	rename(t, filepath.Join(root, "a"), away)
	got := rec.barrier(t)
	want := []Change{{Root: root, Path: "a", Op: Rename, Action: Restart}}
	if !slices.Equal(got, want) {
		t.Errorf("changes (-want +got):\n-%v\n+%v", want, got)
	}
	if n := tree.WatchCount(); n != 1 {
		t.Errorf("WatchCount() = %d, want 1", n)
	}
	writeFile(t, filepath.Join(away, "b/z.py"), "")
	checkPaths(t, rec.barrier(t))
}

func TestGitignoreReloaded(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "gen"))
	tree, rec := startTree(t, Options{Roots: []string{root}})
	writeFile(t, filepath.Join(root, "a.out"), "")
	rec.waitPath(t, "a.out", Write)

	writeFile(t, filepath.Join(root, ".gitignore"), "*.out\ngen/\n")
	rec.waitPath(t, ".gitignore", Write)
	writeFile(t, filepath.Join(root, "b.out"), "")
	writeFile(t, filepath.Join(root, "gen/g.go"), "")
	checkPaths(t, rec.barrier(t))
	if n := tree.WatchCount(); n != 1 {
		t.Errorf("gen ignored: WatchCount() = %d, want 1", n)
	}

	// Re-included: watched again.
	writeFile(t, filepath.Join(root, ".gitignore"), "*.out\n")
	rec.waitPath(t, ".gitignore", Write)
	writeFile(t, filepath.Join(root, "gen/h.go"), "")
	rec.waitPath(t, "gen/h.go", Write)

	// A nested .gitignore created while watching.
	writeFile(t, filepath.Join(root, "gen/.gitignore"), "*.tmp\n")
	rec.waitPath(t, "gen/.gitignore", Write)
	writeFile(t, filepath.Join(root, "gen/x.tmp"), "")
	writeFile(t, filepath.Join(root, "y.tmp"), "")
	checkPaths(t, rec.barrier(t), "y.tmp")

	// Deleted: the rules go with it.
	remove(t, filepath.Join(root, ".gitignore"))
	rec.waitPath(t, ".gitignore", Remove)
	writeFile(t, filepath.Join(root, "c.out"), "")
	rec.waitPath(t, "c.out", Write)
}

func TestSymlinksAndHardLinks(t *testing.T) {
	root := t.TempDir()
	target := t.TempDir()
	mkdirAll(t, filepath.Join(target, "inner"))
	writeFile(t, filepath.Join(root, "orig"), "")
	tree, rec := startTree(t, Options{Roots: []string{root}})
	if err := os.Symlink(target, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "orig"), filepath.Join(root, "hard")); err != nil {
		t.Fatal(err)
	}
	checkPaths(t, rec.barrier(t), "hard", "link")
	if n := tree.WatchCount(); n != 1 {
		t.Errorf("WatchCount() = %d, want 1 (symlinks are not followed)", n)
	}
}

func TestRootVanished(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	mkdirAll(t, filepath.Join(root, "sub"))
	tree, rec := startTree(t, Options{Roots: []string{root}})
	remove(t, root)
	deadline := time.Now().Add(waitTimeout)
	for {
		if ws := rec.warningsCopy(); len(ws) > 0 {
			if !errors.Is(ws[0], ErrRootVanished) || !strings.Contains(ws[0].Error(), root) {
				t.Errorf("warning = %v, want ErrRootVanished naming %s", ws[0], root)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warning within %v", waitTimeout)
		}
		<-rec.notify
	}
	deadline = time.Now().Add(waitTimeout)
	for tree.WatchCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("WatchCount() = %d, want 0", tree.WatchCount())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseIdempotent(t *testing.T) {
	root := t.TempDir()
	var mu sync.Mutex
	closed := false
	tree, err := WatchTree(Options{Roots: []string{root}, OnChange: func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			t.Errorf("OnChange(%v) after Close returned", c)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Let the reader park in read(2), then Close must unblock it.
	time.Sleep(10 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- tree.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close() = %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return")
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	writeFile(t, filepath.Join(root, "late"), "")
	if err := tree.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
}

// TestOverflow stops the reader, floods the queue past
// fs.inotify.max_queued_events, creates a directory while events are being
// dropped, and checks the Overflow change and that the rescan watches the
// new directory.
func TestOverflow(t *testing.T) {
	maxQueued, err := readProcInt("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skip("cannot read max_queued_events:", err)
	}
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeFile(t, a, "")
	writeFile(t, b, "")
	// The reader waits on paused before each read while the test holds it.
	var paused sync.RWMutex
	testHookBeforeRead = func() { paused.RLock(); defer paused.RUnlock() }
	t.Cleanup(func() { testHookBeforeRead = nil })
	tree, rec := startTree(t, Options{Roots: []string{root}})
	testHookBeforeRead = nil

	paused.Lock()
	now := time.Now()
	for i := range maxQueued + 1000 {
		// Alternate two files: the kernel merges an event identical to the
		// previous one.
		p := a
		if i%2 == 1 {
			p = b
		}
		if err := os.Chtimes(p, now, now); err != nil {
			paused.Unlock()
			t.Fatal(err)
		}
	}
	mkdirAll(t, filepath.Join(root, "late/sub"))
	paused.Unlock()

	rec.until(t, "OVERFLOW", func(c Change) bool { return c.Op == Overflow && c.Root == root && c.Path == "" })
	writeFile(t, filepath.Join(root, "late/sub/after.txt"), "")
	rec.waitPath(t, "late/sub/after.txt", Write)
	if n := tree.WatchCount(); n != 3 {
		t.Errorf("WatchCount() = %d, want 3", n)
	}
}
