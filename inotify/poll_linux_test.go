//go:build linux

package inotify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitWarning waits for a warning that satisfies pred.
func (r *recorder) waitWarning(t *testing.T, what string, pred func(error) bool) error {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		for _, w := range r.warningsCopy() {
			if pred(w) {
				return w
			}
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("no warning %s within %v; got %v", what, waitTimeout, r.warningsCopy())
		}
	}
}

// waitFor polls cond (state published by the reader) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func opsOf(changes []Change, path string) Op {
	var op Op
	for _, c := range changes {
		if c.Path == path {
			op |= c.Op
		}
	}
	return op
}

// TestPollChanges: what polling reports, with which Op.
func TestPollChanges(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "a/b"))
	mkdirAll(t, filepath.Join(root, "d"))
	for _, f := range []string{"x.txt", "a/b/y.txt", "d/z.txt", "d/w.txt"} {
		writeFile(t, filepath.Join(root, f), "v1")
		aged(t, filepath.Join(root, f))
	}
	tree, rec := startTree(t, Options{Roots: []string{root}, Method: Poll, PollInterval: testPollInterval})
	if w, p := tree.WatchCount(), tree.PolledCount(); w != 0 || p != 4 {
		t.Errorf("watched/polled = %d/%d, want 0/4", w, p)
	}
	if got, want := tree.Roots(), []RootInfo{{Root: root, Method: Poll, Reason: "--poll"}}; !slices.Equal(got, want) {
		t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
	}
	tests := []struct {
		name string
		do   func(t *testing.T)
		want map[string]Op // path → ops that must all be there
	}{
		{"modify same size", func(t *testing.T) { writeFile(t, filepath.Join(root, "a/b/y.txt"), "v2") },
			map[string]Op{"a/b/y.txt": Write}},
		{"create", func(t *testing.T) { writeFile(t, filepath.Join(root, "a/new.txt"), "n") },
			map[string]Op{"a/new.txt": Create}},
		{"delete", func(t *testing.T) { remove(t, filepath.Join(root, "x.txt")) },
			map[string]Op{"x.txt": Remove}},
		{"rename file", func(t *testing.T) { rename(t, filepath.Join(root, "a/new.txt"), filepath.Join(root, "a/b/moved.txt")) },
			map[string]Op{"a/new.txt": Remove, "a/b/moved.txt": Create}},
		{"atomic save", func(t *testing.T) {
			writeFile(t, filepath.Join(root, "a/b/y.txt.swp"), "v3")
			rename(t, filepath.Join(root, "a/b/y.txt.swp"), filepath.Join(root, "a/b/y.txt"))
		}, map[string]Op{"a/b/y.txt": Create}},
		{"new nested directories", func(t *testing.T) {
			mkdirAll(t, filepath.Join(root, "n/m/o"))
			writeFile(t, filepath.Join(root, "n/m/o/deep.txt"), "x")
		}, map[string]Op{"n/m/o/deep.txt": Create}},
		{"directory renamed", func(t *testing.T) { rename(t, filepath.Join(root, "d"), filepath.Join(root, "e")) },
			map[string]Op{"d/z.txt": Remove, "d/w.txt": Remove, "e/z.txt": Create, "e/w.txt": Create}},
		{"directory removed", func(t *testing.T) { remove(t, filepath.Join(root, "n")) },
			map[string]Op{"n/m/o/deep.txt": Remove}},
		{"file replaced by a directory", func(t *testing.T) {
			remove(t, filepath.Join(root, "e/w.txt"))
			mkdirAll(t, filepath.Join(root, "e/w.txt"))
			writeFile(t, filepath.Join(root, "e/w.txt/in.txt"), "x")
		}, map[string]Op{"e/w.txt": Remove, "e/w.txt/in.txt": Create}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do(t)
			got := rec.settle(t)
			want := slices.Sorted(func(yield func(string) bool) {
				for p := range tt.want {
					if !yield(p) {
						return
					}
				}
			})
			checkPaths(t, got, want...)
			for p, op := range tt.want {
				if opsOf(got, p)&op != op {
					t.Errorf("%s: ops %v, want %v among them", p, opsOf(got, p), op)
				}
			}
		})
	}
	// Polled directories follow: a, a/b, e, e/w.txt, root (d and n gone).
	waitFor(t, "PolledCount 5", func() bool { return tree.PolledCount() == 5 })
}

// TestPollRules: patterns, excludes, .gitignore (reloaded when it
// changes) and never-watched directories apply to polling too.
func TestPollRules(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"src", "gen", "build", "node_modules/m"} {
		mkdirAll(t, filepath.Join(root, d))
	}
	tree, rec := startTree(t, Options{
		Roots: []string{root}, Method: Poll, PollInterval: testPollInterval,
		Patterns: []string{"**/*.py"}, Excludes: []string{"build/**"}, ReloadOnly: []string{"**/*.css"},
	})
	if got := tree.PolledCount(); got != 3 {
		t.Errorf("PolledCount() = %d, want 3 (root src gen)", got)
	}
	for _, f := range []string{"src/a.py", "src/a.js", "build/b.py", "node_modules/m/c.py", "gen/g.py", "src/s.css"} {
		writeFile(t, filepath.Join(root, f), "x")
	}
	got := rec.settle(t)
	checkPaths(t, got, "gen/g.py", "src/a.py", "src/s.css")
	for _, c := range got {
		if want := map[bool]Action{true: ReloadOnly, false: Restart}[c.Path == "src/s.css"]; c.Action != want {
			t.Errorf("%v: action %v, want %v", c, c.Action, want)
		}
	}
	// The .gitignore is no trigger here (it does not match the pattern)
	// but is reloaded; files changed in the same tick are judged by the
	// rules before it, as with inotify's batches.
	writeFile(t, filepath.Join(root, ".gitignore"), "gen/\n*.gen.py\n")
	waitFor(t, "gen no longer polled", func() bool { return tree.PolledCount() == 2 })
	writeFile(t, filepath.Join(root, "gen/h.py"), "x")
	writeFile(t, filepath.Join(root, "src/y.gen.py"), "x")
	checkPaths(t, rec.settle(t))
	remove(t, filepath.Join(root, ".gitignore"))
	waitFor(t, "gen polled again", func() bool { return tree.PolledCount() == 3 })
	writeFile(t, filepath.Join(root, "gen/i.py"), "x")
	checkPaths(t, rec.settle(t), "gen/i.py")
}

// TestRootReplaced: a root deleted and made again (rm -rf dist && mkdir
// dist) is watched again, and what the build put there is reported.
func TestRootReplaced(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "dist")
			mkdirAll(t, filepath.Join(root, "js"))
			writeFile(t, filepath.Join(root, "js/a.js"), "a")
			tree, rec := startTree(t, withMethod(m.opts, root))
			want := []RootInfo{{Root: root, Method: m.opts.Method, Reason: map[Method]string{Inotify: "--no-poll", Poll: "--poll"}[m.opts.Method]}}
			if got := tree.Roots(); !slices.Equal(got, want) {
				t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
			}

			remove(t, root)
			rec.waitPath(t, "js/a.js", Remove)
			w := rec.waitWarning(t, "ErrRootVanished", func(err error) bool { return errors.Is(err, ErrRootVanished) })
			if !strings.Contains(w.Error(), root) {
				t.Errorf("warning %q does not name %s", w, root)
			}
			waitFor(t, "Roots() says missing", func() bool {
				return tree.Roots()[0].Reason == "missing: waiting for it to reappear"
			})

			// Made again, slowly: found by looking for it.
			mkdirAll(t, filepath.Join(root, "css"))
			writeFile(t, filepath.Join(root, "css/b.css"), "b")
			rec.waitPath(t, "css/b.css", Create|Write)
			writeFile(t, filepath.Join(root, "c.js"), "c")
			rec.waitPath(t, "c.js", Create|Write)
			waitFor(t, "Roots() back", func() bool { return slices.Equal(tree.Roots(), want) })
			if got := tree.WatchCount() + tree.PolledCount(); got != 2 {
				t.Errorf("directories watched or polled = %d, want 2", got)
			}

			// Replaced at once, as build tools do.
			remove(t, root)
			mkdirAll(t, root)
			writeFile(t, filepath.Join(root, "d.js"), "d")
			rec.waitPath(t, "d.js", Create|Write)
			writeFile(t, filepath.Join(root, "e.js"), "e")
			rec.waitPath(t, "e.js", Create|Write)
			checkPaths(t, rec.settle(t))
		})
	}
}

// TestRootVanishedAndBack is TestRootVanished carried on: the root comes
// back as a symlink to another directory, which is what gets watched.
func TestRootReplacedBySymlink(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "current")
	mkdirAll(t, root)
	tree, rec := startTree(t, Options{Roots: []string{root}, PollInterval: testPollInterval})
	remove(t, root)
	rec.waitWarning(t, "ErrRootVanished", func(err error) bool { return errors.Is(err, ErrRootVanished) })
	release := filepath.Join(parent, "release-2")
	mkdirAll(t, release)
	writeFile(t, filepath.Join(release, "app.py"), "x")
	if err := os.Symlink("release-2", root); err != nil {
		t.Fatal(err)
	}
	rec.waitPath(t, "app.py", Create)
	writeFile(t, filepath.Join(release, "app2.py"), "x")
	rec.waitPath(t, "app2.py", Write)
	if n := tree.WatchCount(); n != 1 {
		t.Errorf("WatchCount() = %d, want 1", n)
	}
}

// TestSymlinkRoot: a root given as a symlink is watched (it used to be
// silently not watched: IN_DONT_FOLLOW applied to the root too).
func TestSymlinkRoot(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			mkdirAll(t, filepath.Join(dir, "real/sub"))
			link := filepath.Join(dir, "link")
			if err := os.Symlink("real", link); err != nil {
				t.Fatal(err)
			}
			tree, rec := startTree(t, withMethod(m.opts, link))
			if got := tree.WatchCount() + tree.PolledCount(); got != 2 {
				t.Errorf("directories watched or polled = %d, want 2", got)
			}
			writeFile(t, filepath.Join(dir, "real/sub/x.py"), "x")
			got := rec.waitPath(t, "sub/x.py", Write|Create)
			if c := got[len(got)-1]; c.Root != link {
				t.Errorf("Root = %q, want %q as given", c.Root, link)
			}
		})
	}
}

// TestWatchLimitPolls forces ENOSPC with the Tree's fake limit: the
// directories beyond it are polled, and changes in them are reported.
func TestWatchLimitPolls(t *testing.T) {
	root := t.TempDir()
	const dirs = 10
	for i := range dirs {
		mkdirAll(t, filepath.Join(root, fmt.Sprintf("d%02d", i)))
	}
	testWatchLimit = 4
	t.Cleanup(func() { testWatchLimit = 0 })
	tree, rec := startTree(t, Options{Roots: []string{root}, PollInterval: testPollInterval})
	testWatchLimit = 0

	ws := rec.warningsCopy()
	var le *WatchLimitError
	if len(ws) != 1 || !errors.As(ws[0], &le) {
		t.Fatalf("warnings = %v, want one *WatchLimitError", ws)
	}
	if le.Watched != 4 || le.Missing != dirs+1-4 || le.Limit != 4 {
		t.Errorf("watched/missing/limit = %d/%d/%d, want 4/%d/4", le.Watched, le.Missing, le.Limit, dirs+1-4)
	}
	for _, want := range []string{"11 directories need watches, 4 are watched, the other 7 are polled every 20ms",
		"sudo sysctl fs.inotify.max_user_watches=524288"} {
		if !strings.Contains(le.Error(), want) {
			t.Errorf("warning lacks %q: %s", want, le)
		}
	}
	if w, p := tree.WatchCount(), tree.PolledCount(); w != 4 || p != 7 {
		t.Errorf("watched/polled = %d/%d, want 4/7", w, p)
	}
	if got := tree.Roots(); got[0].Method != Inotify {
		t.Errorf("Roots() = %v, want the root on inotify", got)
	}
	want := map[string]bool{}
	for i := range dirs {
		p := fmt.Sprintf("d%02d/f.txt", i)
		writeFile(t, filepath.Join(root, p), "x")
		want[p] = true
	}
	rec.until(t, "a change in every directory", func(c Change) bool {
		delete(want, c.Path)
		return len(want) == 0
	})
	// A new directory at the limit is polled too.
	mkdirAll(t, filepath.Join(root, "later/sub"))
	writeFile(t, filepath.Join(root, "later/sub/x.txt"), "x")
	rec.waitPath(t, "later/sub/x.txt", Create|Write)
	waitFor(t, "PolledCount 9", func() bool { return tree.PolledCount() == 9 })
	// Removed while polled, from a watched parent.
	remove(t, filepath.Join(root, "later"))
	rec.waitPath(t, "later/sub/x.txt", Remove)
	waitFor(t, "PolledCount 7", func() bool { return tree.PolledCount() == 7 })
}

// fakeMountinfo makes the Trees started by the test read lines as the
// mount table.
func fakeMountinfo(t *testing.T, lines ...string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mountinfo")
	writeFile(t, p, strings.Join(lines, "\n")+"\n")
	testMountinfoPath = p
	t.Cleanup(func() { testMountinfoPath = "" })
}

// TestAutoMethodFromMountinfo: with Method Auto, a root on a network mount
// is polled, and so is a network mount inside an inotify root.
func TestAutoMethodFromMountinfo(t *testing.T) {
	t.Run("root on nfs4", func(t *testing.T) {
		root, err := filepath.EvalSymlinks(filepath.Join(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		root = filepath.Join(root, "my share") // escaped as \040
		mkdirAll(t, filepath.Join(root, "sub"))
		fakeMountinfo(t,
			"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
			"310 27 0:58 / "+escapeMountinfo(root)+" rw,relatime shared:190 - nfs4 fileserver:/export rw,vers=4.2")
		tree, rec := startTree(t, Options{Roots: []string{root}, PollInterval: testPollInterval})
		want := []RootInfo{{Root: root, Method: Poll, Reason: "nfs4 mount at " + root}}
		if got := tree.Roots(); !slices.Equal(got, want) {
			t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
		}
		if w, p := tree.WatchCount(), tree.PolledCount(); w != 0 || p != 2 {
			t.Errorf("watched/polled = %d/%d, want 0/2", w, p)
		}
		writeFile(t, filepath.Join(root, "sub/app.py"), "x")
		rec.waitPath(t, "sub/app.py", Create)
	})
	t.Run("9p mount inside", func(t *testing.T) {
		root, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		mkdirAll(t, filepath.Join(root, "share/deeper"))
		mkdirAll(t, filepath.Join(root, "local"))
		fakeMountinfo(t,
			"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
			`85 27 0:61 / `+root+`/share rw,noatime - 9p C:\134 rw,aname=drvfs;path=C:\;uid=1000`)
		tree, rec := startTree(t, Options{Roots: []string{root}, PollInterval: testPollInterval})
		want := []RootInfo{{Root: root, Method: Inotify, Reason: "ext4 mount at /; polling 9p mount at " + root + "/share"}}
		if got := tree.Roots(); !slices.Equal(got, want) {
			t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
		}
		if w, p := tree.WatchCount(), tree.PolledCount(); w != 2 || p != 2 {
			t.Errorf("watched/polled = %d/%d, want 2/2 (root local / share share/deeper)", w, p)
		}
		writeFile(t, filepath.Join(root, "share/deeper/a.py"), "x")
		rec.waitPath(t, "share/deeper/a.py", Create)
		writeFile(t, filepath.Join(root, "local/b.py"), "x")
		rec.waitPath(t, "local/b.py", Write)
	})
	t.Run("--no-poll", func(t *testing.T) {
		root, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		fakeMountinfo(t, "310 27 0:58 / "+root+" rw - nfs4 fileserver:/export rw")
		tree, _ := startTree(t, Options{Roots: []string{root}, Method: Inotify})
		want := []RootInfo{{Root: root, Method: Inotify, Reason: "--no-poll"}}
		if got := tree.Roots(); !slices.Equal(got, want) {
			t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
		}
	})
	t.Run("unreadable mount table", func(t *testing.T) {
		root := t.TempDir()
		testMountinfoPath = filepath.Join(root, "nope")
		t.Cleanup(func() { testMountinfoPath = "" })
		tree, rec := startTree(t, Options{Roots: []string{root}})
		want := []RootInfo{{Root: root, Method: Inotify, Reason: "inotify"}}
		if got := tree.Roots(); !slices.Equal(got, want) {
			t.Errorf("Roots() (-want +got):\n-%v\n+%v", want, got)
		}
		if ws := rec.warningsCopy(); len(ws) != 1 || !strings.Contains(ws[0].Error(), "reading the mount table") {
			t.Errorf("warnings = %v, want one about the mount table", ws)
		}
	})
	t.Run("this machine", func(t *testing.T) {
		root := t.TempDir()
		tree, _ := startTree(t, Options{Roots: []string{root}})
		got := tree.Roots()
		if len(got) != 1 || got[0].Root != root || !strings.Contains(got[0].Reason, " mount at /") {
			t.Errorf("Roots() = %v, want the root's mount named", got)
		}
	})
}

// TestPollRacyListing: an entry created in the same timestamp granule as
// the directory's last listing leaves its mtime unchanged (here: put back
// by hand); polling must list it again anyway while that listing is
// recent, or the file would never be seen.
func TestPollRacyListing(t *testing.T) {
	root := t.TempDir()
	mkdirAll(t, filepath.Join(root, "d"))
	_, rec := startTree(t, Options{Roots: []string{root}, Method: Poll, PollInterval: testPollInterval})
	writeFile(t, filepath.Join(root, "d/first.txt"), "x")
	rec.waitPath(t, "d/first.txt", Create)
	fi, err := os.Stat(filepath.Join(root, "d"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "d/second.txt"), "x")
	if err := os.Chtimes(filepath.Join(root, "d"), fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	rec.waitPath(t, "d/second.txt", Create)
}

// TestWatchLimitAtRoot: a root beyond the watch limit is polled, and
// Roots says so.
func TestWatchLimitAtRoot(t *testing.T) {
	root := t.TempDir()
	testWatchLimit = 1
	t.Cleanup(func() { testWatchLimit = 0 })
	tree, rec := startTree(t, Options{Roots: []string{t.TempDir(), root}, PollInterval: testPollInterval})
	testWatchLimit = 0
	got := tree.Roots()
	if len(got) != 2 || got[0].Method != Inotify || got[1].Method != Poll ||
		!strings.HasPrefix(got[1].Reason, "inotify watch limit reached (") {
		t.Errorf("Roots() = %v, want the second root polled because of the limit", got)
	}
	writeFile(t, filepath.Join(root, "x.py"), "x")
	rec.until(t, "x.py in the second root", func(c Change) bool { return c.Root == root && c.Path == "x.py" })
}
