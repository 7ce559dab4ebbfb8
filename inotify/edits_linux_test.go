//go:build linux

package inotify

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testPollInterval keeps polling tests short.
const testPollInterval = 20 * time.Millisecond

// methods are the ways every behaviour test runs: the same changes must be
// seen by inotify and by polling.
var methods = []struct {
	name string
	opts Options
}{
	{"inotify", Options{Method: Inotify, PollInterval: testPollInterval}},
	{"poll", Options{Method: Poll, PollInterval: testPollInterval}},
}

// withMethod returns opts watching roots with the method's options.
func withMethod(base Options, roots ...string) Options {
	base.Roots = roots
	return base
}

// aged sets path's mtime an hour back, so that a change made by a test
// cannot fall in the same timestamp granule as the file's creation.
func aged(t *testing.T, paths ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// touch does what touch(1) does to an existing file: atime and mtime to
// "now" (utimensat with UTIME_NOW, as futimens(fd, NULL)).
func touch(t *testing.T, path string) {
	t.Helper()
	now := []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, now, 0); err != nil {
		t.Fatal(err)
	}
}

// openClose opens path with flag and closes it without writing.
func openClose(t *testing.T, path string, flag int) {
	t.Helper()
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// tmpfsTempDir is t.TempDir on tmpfs (/dev/shm) when there is one.
func tmpfsTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "inotify-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOnlyRealEditsCount runs every kind of file operation on a watched
// tree, with inotify and with polling, and checks which paths changed.
// Django's runserver opening db.sqlite3 read-write at every request and
// SQLite chowning its journal as root are the cases that restarted servers
// forever.
func TestOnlyRealEditsCount(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, root string)
		want []string // changed paths; none for "no change"
	}{
		{"read", func(t *testing.T, root string) {
			_, err := os.ReadFile(filepath.Join(root, "f.txt"))
			must(t, err)
		}, nil},
		{"open O_RDWR and close without a write", func(t *testing.T, root string) {
			openClose(t, filepath.Join(root, "f.txt"), os.O_RDWR)
		}, nil},
		{"open O_WRONLY and close without a write", func(t *testing.T, root string) {
			openClose(t, filepath.Join(root, "sub/g.txt"), os.O_WRONLY)
		}, nil},
		{"chmod", func(t *testing.T, root string) {
			must(t, os.Chmod(filepath.Join(root, "f.txt"), 0o600))
		}, nil},
		{"chown", func(t *testing.T, root string) {
			if err := os.Chown(filepath.Join(root, "f.txt"), 1234, 1234); errors.Is(err, os.ErrPermission) {
				t.Skip("chown needs root:", err)
			} else {
				must(t, err)
			}
		}, nil},
		{"xattr", func(t *testing.T, root string) {
			err := unix.Setxattr(filepath.Join(root, "f.txt"), "user.reloadproxy", []byte("x"), 0)
			if errors.Is(err, unix.ENOTSUP) {
				t.Skip("no user xattrs here")
			}
			must(t, err)
		}, nil},
		{"chmod and touch a directory", func(t *testing.T, root string) {
			must(t, os.Chmod(filepath.Join(root, "sub"), 0o700))
			touch(t, filepath.Join(root, "sub"))
		}, nil},
		{"empty directory created", func(t *testing.T, root string) {
			mkdirAll(t, filepath.Join(root, "empty"))
		}, nil},
		{"write", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "f.txt"), "v2")
		}, []string{"f.txt"}},
		{"write the same content", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "f.txt"), "v1")
		}, []string{"f.txt"}},
		{"append", func(t *testing.T, root string) {
			f, err := os.OpenFile(filepath.Join(root, "sub/g.txt"), os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString("more")
			must(t, err)
			must(t, f.Close())
		}, []string{"sub/g.txt"}},
		{"touch", func(t *testing.T, root string) {
			touch(t, filepath.Join(root, "f.txt"))
		}, []string{"f.txt"}},
		{"touch in a subdirectory", func(t *testing.T, root string) {
			touch(t, filepath.Join(root, "sub/g.txt"))
		}, []string{"sub/g.txt"}},
		{"create", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "new.txt"), "n")
		}, []string{"new.txt"}},
		{"create empty", func(t *testing.T, root string) {
			openClose(t, filepath.Join(root, "sub/empty.txt"), os.O_WRONLY|os.O_CREATE)
		}, []string{"sub/empty.txt"}},
		{"delete", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "f.txt"))
		}, []string{"f.txt"}},
		{"rename", func(t *testing.T, root string) {
			rename(t, filepath.Join(root, "f.txt"), filepath.Join(root, "moved.txt"))
		}, []string{"f.txt", "moved.txt"}},
		{"rename over (atomic save)", func(t *testing.T, root string) {
			tmp := filepath.Join(root, "f.txt___jb_tmp___")
			writeFile(t, tmp, "v2")
			rename(t, tmp, filepath.Join(root, "f.txt"))
		}, []string{"f.txt"}},
		{"hard link", func(t *testing.T, root string) {
			must(t, os.Link(filepath.Join(root, "f.txt"), filepath.Join(root, "link.txt")))
		}, []string{"link.txt"}},
		{"symlink", func(t *testing.T, root string) {
			must(t, os.Symlink("f.txt", filepath.Join(root, "sym")))
		}, []string{"sym"}},
		{"directory with a file", func(t *testing.T, root string) {
			mkdirAll(t, filepath.Join(root, "n/m"))
			writeFile(t, filepath.Join(root, "n/m/x.txt"), "x")
		}, []string{"n/m/x.txt"}},
		{"directory removed", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "sub"))
		}, []string{"sub/g.txt"}},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					root := t.TempDir()
					mkdirAll(t, filepath.Join(root, "sub"))
					writeFile(t, filepath.Join(root, "f.txt"), "v1")
					writeFile(t, filepath.Join(root, "sub/g.txt"), "v1")
					aged(t, filepath.Join(root, "f.txt"), filepath.Join(root, "sub/g.txt"))
					_, rec := startTree(t, withMethod(m.opts, root))
					tt.do(t, root)
					checkPaths(t, rec.settle(t), tt.want...)
				})
			}
		})
	}
}

// TestTouchToATimeAfterAWrite: once a file was seen, any move of its
// mtime counts, also to an explicit time (touch -d, tar, cp -p).
func TestTouchToATimeAfterAWrite(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			f := filepath.Join(root, "f.txt")
			writeFile(t, f, "v1")
			aged(t, f)
			_, rec := startTree(t, withMethod(m.opts, root))
			writeFile(t, f, "v2")
			rec.waitPath(t, "f.txt", Write)
			then := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			must(t, os.Chtimes(f, then, then))
			rec.waitPath(t, "f.txt", Write)
			must(t, os.Chmod(f, 0o600))
			checkPaths(t, rec.settle(t))
		})
	}
}

// TestVimSaveWithChmod replays vim's save with backupcopy=no, which
// restores the permissions of the new file after writing it: still only
// x.py, and no stray second change from the chmod once it is done.
func TestVimSaveWithChmod(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			x := filepath.Join(root, "x.py")
			writeFile(t, x, "v1")
			aged(t, x)
			_, rec := startTree(t, withMethod(m.opts, root))
			swp := filepath.Join(root, ".x.py.swp")
			writeFile(t, swp, "swap")
			writeFile(t, filepath.Join(root, "4913"), "")
			remove(t, filepath.Join(root, "4913"))
			rename(t, x, x+"~")
			writeFile(t, x, "v2")
			must(t, os.Chmod(x, 0o640))
			remove(t, x+"~")
			remove(t, swp)
			checkPaths(t, rec.settle(t), "x.py")
			must(t, os.Chmod(x, 0o644))
			checkPaths(t, rec.settle(t))
		})
	}
}

// TestDirtyNotesBounded keeps more files open after a write than the
// Tree remembers: the ones it has no room for are reported at once, the
// others when closed, and nothing is lost.
func TestDirtyNotesBounded(t *testing.T) {
	root := tmpfsTempDir(t) // thousands of files: a disk makes it slow
	tree, rec := startTree(t, Options{Roots: []string{root}})
	const n = maxFileNotes + 50
	files := make([]*os.File, 0, n)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	want := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("f%05d.txt", i)
		f, err := os.Create(filepath.Join(root, name))
		must(t, err)
		files = append(files, f)
		_, err = f.WriteString("x")
		must(t, err)
		want[name] = true
	}
	// Some are reported while all are still open.
	rec.until(t, "a file reported before its close", func(c Change) bool {
		delete(want, c.Path)
		return true
	})
	for _, f := range files {
		must(t, f.Close())
	}
	files = nil
	rec.until(t, fmt.Sprintf("all %d files", n), func(c Change) bool {
		delete(want, c.Path)
		return len(want) == 0
	})
	// Stamps are evicted for new dirty notes: new files still count.
	writeFile(t, filepath.Join(root, "later.txt"), "x")
	rec.waitPath(t, "later.txt", Write)
	tree.Close() // the reader is done: its fields can be read
	if tree.noteCount > maxFileNotes || tree.noteCount < 0 {
		t.Errorf("noteCount = %d, want within [0, %d]", tree.noteCount, maxFileNotes)
	}
}

// TestBuiltinIgnores: files servers write and tool caches and
// virtualenvs never trigger, whatever the method, even with a pattern
// that names them.
func TestBuiltinIgnores(t *testing.T) {
	dirs := append(NeverWatchedDirs(), "myenv", "src/.venv")
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range dirs {
				mkdirAll(t, filepath.Join(root, d, "lib"))
			}
			mkdirAll(t, filepath.Join(root, "src"))
			writeFile(t, filepath.Join(root, "myenv/pyvenv.cfg"), "home = /usr/bin\n")
			opts := withMethod(m.opts, root)
			opts.Patterns = []string{"**/*"}
			tree, rec := startTree(t, opts)
			// Watched: root, src. Not: every NeverWatchedDirs entry, myenv
			// (a virtualenv by its pyvenv.cfg), src/.venv.
			if got := tree.WatchCount() + tree.PolledCount(); got != 2 {
				t.Errorf("directories watched or polled = %d, want 2 (root src)", got)
			}
			var written []string
			for _, d := range dirs {
				written = append(written, filepath.Join(d, "lib/x.py"))
			}
			for _, g := range NeverTriggerGlobs() {
				name := strings.Replace(g, "*", "db", 1)
				written = append(written, name, "src/"+name)
			}
			for _, f := range written {
				writeFile(t, filepath.Join(root, f), "x")
			}
			// A virtualenv created while watching: its directory exists
			// before its pyvenv.cfg.
			mkdirAll(t, filepath.Join(root, "src/env2"))
			writeFile(t, filepath.Join(root, "src/env2/pyvenv.cfg"), "home = /usr/bin\n")
			mkdirAll(t, filepath.Join(root, "src/env2/lib/site-packages"))
			writeFile(t, filepath.Join(root, "src/env2/lib/site-packages/pkg.py"), "x")
			writeFile(t, filepath.Join(root, "src/app.py"), "x")
			checkPaths(t, rec.settle(t), "src/app.py")
			writeFile(t, filepath.Join(root, "src/env2/lib/site-packages/pkg2.py"), "x")
			checkPaths(t, rec.settle(t))
		})
	}
}

// TestNeverTriggerGlobsMatchNeverTriggers: the help text (the globs) and
// the check agree.
func TestNeverTriggerGlobsMatchNeverTriggers(t *testing.T) {
	names := []string{"db.sqlite3", "x.sqlite", "a.db", "db.sqlite3-journal", "x-wal", "x-shm", "app.log",
		"db", "log", "x.logs", "x.dbx", "journal", "x.sqlite3.bak", "app.py", "wal", "-wal", ".db"}
	for _, name := range names {
		matched := false
		for _, g := range NeverTriggerGlobs() {
			if ok, _ := path.Match(g, name); ok {
				matched = true
			}
		}
		if got := NeverTriggers(name); got != matched {
			t.Errorf("NeverTriggers(%q) = %t, but the globs %v say %t", name, got, NeverTriggerGlobs(), matched)
		}
	}
	for _, d := range []string{".venv", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".next", ".nuxt",
		".svelte-kit", ".parcel-cache", ".turbo", ".git", ".hg", ".svn", "node_modules", "__pycache__"} {
		if !NeverWatched(d) || !slices.Contains(NeverWatchedDirs(), d) {
			t.Errorf("%s: NeverWatched %t, in NeverWatchedDirs %t", d, NeverWatched(d), slices.Contains(NeverWatchedDirs(), d))
		}
	}
	// Copies: a caller cannot change the rules.
	NeverWatchedDirs()[0] = "src"
	NeverTriggerGlobs()[0] = "*.py"
	if NeverWatched("src") || NeverTriggers("a.py") {
		t.Error("changing the returned slices changed the rules")
	}
}
