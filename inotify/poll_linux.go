//go:build linux

package inotify

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Polling: directories inotify cannot see into (network and VM mounts, see
// Method) or could not watch (ENOSPC) are nodes of the same tree with a
// pollState instead of a watch descriptor. The reader goroutine syncs them
// at every poll tick (its read(2) has a deadline then), so changes found by
// polling go through the same rules, batches and OnChange as inotify's.
//
// A tick costs, per polled directory, an open, an fstat and a close, plus
// one fstatat per file that may trigger; the directory is listed again only
// when its mtime moved (an entry was created, deleted or renamed), or when
// its last listing was so recent that an entry added in the same clock
// tick would not have moved it visibly (racyWindow).

// racyWindow is how long after its mtime a directory listing is not
// trusted: an entry created in the same timestamp granule as the listing
// leaves the mtime unchanged. Two seconds cover file systems with coarse
// timestamps and some clock skew between an NFS server and this machine.
const racyWindow = 2 * time.Second

// pollState is what polling remembers of a directory.
type pollState struct {
	ino      uint64       // the directory's inode: another one means it was replaced
	mtime    int64        // its mtime (ns) before its last listing
	listedAt int64        // the wall clock (ns) just before that listing
	files    []polledFile // its entries that may trigger and are not directories, by name
	tick     uint64       // the last poll tick that synced it
	err      error        // the last error opening it (warned once)
}

// polledFile is one file of a polled directory.
type polledFile struct {
	name  string
	stamp fileStamp
}

// fileStamp is what polling compares. A chmod or chown changes none of it;
// a write changes mtime (and usually size), touch changes mtime, an atomic
// save (rename over) changes ino. Two writes of the same size within one
// timestamp granule look like one, which is enough to restart once.
type fileStamp struct {
	ino   uint64
	mtime int64  // ns since the epoch
	size  int64  // bytes
	typ   uint32 // S_IFMT bits
}

func stampOf(st *unix.Stat_t) fileStamp {
	return fileStamp{ino: st.Ino, mtime: st.Mtim.Nano(), size: st.Size, typ: st.Mode & unix.S_IFMT}
}

// polls reports whether the directory of item is to be polled rather than
// watched with inotify.
func (t *Tree) polls(item walkItem) bool {
	switch {
	case t.file == nil, t.limited:
		return true
	case item.parent == nil:
		return item.root.method == Poll
	case item.parent.poll != nil:
		// Below a polled directory everything is polled, even a local
		// mount inside a network one: rare, and simpler.
		return true
	}
	_, ok := item.root.mounts[item.rel]
	return ok
}

// walkPolled is walkOne for a polled directory: it makes (or finds) its
// node and syncs it, which pushes its new subdirectories on the stack.
func (t *Tree) walkPolled(fd int, item walkItem, mode walkMode) {
	d := nodeAt(item)
	fresh := d == nil || d.poll == nil
	if fresh {
		if d != nil {
			t.forget(fd, d, true) // watched with inotify until now
		}
		d = &watchDir{wd: -1, root: item.root, parent: item.parent, name: item.name, rel: item.rel, poll: &pollState{}}
		link(d)
		t.polled = append(t.polled, d)
		t.npolled++
	}
	if t.limited {
		t.missing++
	}
	t.syncPolled(fd, d, mode, fresh)
}

// syncPolled compares the polled directory d with what was seen of it and
// reports the differences. When it is fresh (just made), its files are
// reported as Create only in walkNew mode. New subdirectories are pushed
// on t.stack for the caller to drain; in walkRescan mode the existing ones
// too, to reconcile their .gitignore state.
func (t *Tree) syncPolled(fd int, d *watchDir, mode walkMode, fresh bool) {
	ps := d.poll
	ps.tick = t.tick
	abs := d.abs()
	dfd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			// Gone, or replaced by a file or a symlink.
			if !fresh {
				t.reportPolledFiles(d, Remove)
			}
			t.forget(fd, d, true)
			if d.parent == nil {
				t.rootVanished(d.root)
			}
			return
		}
		if err != ps.err {
			ps.err = err
			t.warnings = append(t.warnings, fmt.Errorf("inotify: polling %s: %w", abs, err))
		}
		return
	}
	defer unix.Close(dfd)
	ps.err = nil
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return
	}
	reportNew := mode == walkNew || (!fresh && mode != walkSetup)
	if !fresh && st.Ino != ps.ino {
		// Replaced between two ticks (rm -rf dist && mkdir dist): what
		// it held is gone, what it holds now is new.
		t.reportPolledFiles(d, Remove)
		for _, c := range d.children {
			t.forget(fd, c, true)
		}
		ps.files = nil
		fresh = true
	}
	ps.ino = st.Ino
	mtime := st.Mtim.Nano()
	if !fresh && mode != walkRescan && mtime == ps.mtime && mtime < ps.listedAt-int64(racyWindow) {
		// No entry was added, removed or renamed: only the files' own
		// stamps can have changed.
		for i := 0; i < len(ps.files); {
			if t.statPolledFile(d, dfd, &ps.files[i]) {
				i++
			} else {
				ps.files = slices.Delete(ps.files, i, i+1)
			}
		}
		return
	}
	listedAt := time.Now().UnixNano()
	l, err := t.listFD(dfd, true)
	if err != nil {
		t.warnings = append(t.warnings, fmt.Errorf("inotify: listing %s: %w", abs, err))
		return
	}
	if l.virtualenv && d.parent != nil {
		t.forget(fd, d, true) // a virtualenv: never watched
		return
	}
	ps.mtime, ps.listedAt = mtime, listedAt
	r := d.root
	if r.ign != nil {
		switch {
		case l.gitignore && (fresh || mode == walkRescan):
			data, _ := os.ReadFile(abs + "/.gitignore")
			r.ign.set(d.rel, data)
		case !l.gitignore && mode == walkRescan:
			r.ign.set(d.rel, nil)
		}
	}
	t.mergePolledFiles(d, dfd, reportNew)
	t.reconcilePolledDirs(fd, d, mode, fresh)
}

// mergePolledFiles updates d's files from the listing in t.files: the
// ones gone are reported as Remove, new ones as Create when reportNew, the
// others are compared with their stamps.
func (t *Tree) mergePolledFiles(d *watchDir, dfd int, reportNew bool) {
	// Only what may trigger is stat'ed at every tick; the globs do not
	// change, and .gitignore is needed to reload the rules. Whether a
	// file is .gitignored is checked when it is reported, as those rules
	// change.
	names := t.files[:0]
	for _, name := range t.files {
		if _, ok := t.rules.Match(joinRel(d.rel, name)); ok || name == ".gitignore" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	old := d.poll.files
	merged := make([]polledFile, 0, len(names))
	for i, j := 0, 0; i < len(old) || j < len(names); {
		switch {
		case j == len(names) || (i < len(old) && old[i].name < names[j]):
			t.polledFileChanged(d, old[i].name, Remove)
			i++
		case i == len(old) || names[j] < old[i].name:
			var st unix.Stat_t
			if unix.Fstatat(dfd, names[j], &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				merged = append(merged, polledFile{name: names[j], stamp: stampOf(&st)})
				if reportNew {
					t.polledFileChanged(d, names[j], Create)
				}
			}
			j++
		default:
			f := old[i]
			if t.statPolledFile(d, dfd, &f) {
				merged = append(merged, f)
			}
			i++
			j++
		}
	}
	d.poll.files = merged
}

// reconcilePolledDirs compares d's subdirectories listed in t.subdirs with
// its children: new ones are pushed on the stack (in walkRescan mode, the
// existing polled ones too), skipped ones are dropped, vanished ones are
// dropped and their files reported as Remove.
func (t *Tree) reconcilePolledDirs(fd int, d *watchDir, mode walkMode, fresh bool) {
	r := d.root
	if t.kept == nil {
		t.kept = make(map[string]bool)
	}
	clear(t.kept)
	for _, name := range t.subdirs {
		t.kept[name] = true
		rel := joinRel(d.rel, name)
		c := d.children[name]
		if t.skipDir(r, rel, name) {
			if c != nil {
				t.forget(fd, c, true) // now excluded or .gitignored
			}
			continue
		}
		if c == nil || (mode == walkRescan && c.poll != nil) {
			t.stack = append(t.stack, walkItem{root: r, parent: d, name: name, rel: rel})
		}
	}
	for name, c := range d.children {
		if !t.kept[name] {
			if !fresh {
				t.reportPolledFiles(c, Remove)
			}
			t.forget(fd, c, true)
		}
	}
}

// statPolledFile compares the file f of d with its stamp, reports a
// difference and updates the stamp. It returns false when the file is gone.
func (t *Tree) statPolledFile(d *watchDir, dfd int, f *polledFile) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, f.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			t.polledFileChanged(d, f.name, Remove)
			return false
		}
		return true // try again at the next tick
	}
	s := stampOf(&st)
	var op Op
	switch {
	case s == f.stamp:
		return true
	case s.typ == unix.S_IFDIR:
		// Replaced by a directory: the directory's mtime moved, so the
		// next listing walks it.
		t.polledFileChanged(d, f.name, Remove)
		return false
	case s.ino != f.stamp.ino || s.typ != f.stamp.typ:
		op = Create // another file under this name: an atomic save
	default:
		op = Write // mtime or size moved
	}
	f.stamp = s
	t.polledFileChanged(d, f.name, op)
	return true
}

// polledFileChanged reports a change found by polling in d, and has d's
// rules reloaded when it is its .gitignore.
func (t *Tree) polledFileChanged(d *watchDir, name string, op Op) {
	if name == ".gitignore" && d.root.ign != nil && !slices.Contains(t.reload, d) {
		t.reload = append(t.reload, d)
	}
	t.report(d.root, joinRel(d.rel, name), op)
}

// reportPolledFiles reports op for every file polling knows in d and
// below (a directory that vanished between two ticks).
func (t *Tree) reportPolledFiles(d *watchDir, op Op) {
	if d.poll != nil {
		for _, f := range d.poll.files {
			t.report(d.root, joinRel(d.rel, f.name), op)
		}
	}
	for _, c := range d.children {
		t.reportPolledFiles(c, op)
	}
}

// pollTick looks for vanished roots and syncs every polled directory,
// then drops the forgotten ones from the list. fd is -1 without inotify.
func (t *Tree) pollTick(fd int) {
	t.tick++
	for _, r := range t.roots {
		if r.waiting {
			t.lookForRoot(fd, r)
		}
	}
	// t.polled grows while this runs (new subdirectories): those were
	// synced when they were made, and their tick says so.
	for i := 0; i < len(t.polled); i++ {
		d := t.polled[i]
		if d.dropped || d.poll.tick == t.tick {
			continue
		}
		t.stamp++
		t.syncPolled(fd, d, walkNew, false)
		t.drain(fd, walkNew)
	}
	kept := t.polled[:0]
	for _, d := range t.polled {
		if !d.dropped {
			kept = append(kept, d)
		}
	}
	clear(t.polled[len(kept):])
	t.polled = kept
	t.finishBatch(fd)
	t.nextPoll = time.Now().Add(t.interval)
}

// pollDeadline returns when the next poll tick is due, or the zero time
// when nothing is polled or waited for.
func (t *Tree) pollDeadline() time.Time {
	if t.npolled == 0 && t.waiting == 0 {
		return time.Time{}
	}
	return t.nextPoll
}

func (t *Tree) pollDue() bool {
	d := t.pollDeadline()
	return !d.IsZero() && !time.Now().Before(d)
}

// rootVanished records that r's directory is gone: its path is looked for
// at every poll tick from now on.
func (t *Tree) rootVanished(r *watchRoot) {
	if r.waiting {
		return
	}
	r.waiting = true
	t.waiting++
	t.warnings = append(t.warnings, fmt.Errorf("%w: %s (looking for it every %v)", ErrRootVanished, r.given, t.interval))
	t.publishRoots()
}

// lookForRoot watches r again if a directory is at its path: a build tool
// replaced it (rm -rf dist && mkdir dist). What is in it is reported as
// Create, since a build just produced it.
func (t *Tree) lookForRoot(fd int, r *watchRoot) {
	var st unix.Stat_t
	if unix.Stat(r.path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	r.waiting = false
	t.waiting--
	r.abs = resolveRoot(r.path)
	r.ignoreDirs = readWatchmanIgnoreDirs(r.abs)
	if r.ign != nil {
		r.ign = &ignoreSet{above: gitignoresAbove(r.abs)}
	}
	var mounts []mountEntry
	if t.file != nil && t.opts.Method == Auto {
		mounts = t.readMounts() // it may be another mount now
	}
	t.chooseMethod(r, mounts)
	t.walk(fd, walkItem{root: r}, walkNew)
	if r.node == nil && unix.Stat(r.path, &st) != nil {
		// Gone again already.
		r.waiting = true
		t.waiting++
	}
	t.publishRoots()
}

// readMounts reads the mount table, with a warning when it cannot.
func (t *Tree) readMounts() []mountEntry {
	data, err := os.ReadFile(t.mountinfoPath)
	if err != nil {
		t.warnings = append(t.warnings, fmt.Errorf("inotify: reading the mount table: %w; using inotify on every root", err))
		return nil
	}
	return parseMountinfo(data)
}

// chooseMethod sets r's method and reason, and the polled mounts below
// it, from the options and the mount table.
func (t *Tree) chooseMethod(r *watchRoot, mounts []mountEntry) {
	r.mounts = nil
	switch {
	case t.file == nil:
		r.method, r.reason = Poll, t.noInotify
		return
	case t.opts.Method == Inotify:
		r.method, r.reason = Inotify, "--no-poll"
		return
	}
	r.method, r.reason = Inotify, "inotify"
	if m, ok := mountFor(mounts, r.abs); ok {
		r.reason = m.FSType + " mount at " + m.Point
		if PollsFSType(m.FSType) {
			r.method = Poll
			return
		}
	}
	r.mounts = polledMountsBelow(mounts, r.abs)
	rels := make([]string, 0, len(r.mounts))
	for rel := range r.mounts {
		rels = append(rels, rel)
	}
	slices.Sort(rels)
	var b strings.Builder
	b.WriteString(r.reason)
	for _, rel := range rels {
		m := r.mounts[rel]
		b.WriteString("; polling " + m.FSType + " mount at " + m.Point)
	}
	r.reason = b.String()
}

// publishRoots stores what Roots returns.
func (t *Tree) publishRoots() {
	infos := make([]RootInfo, len(t.roots))
	for i, r := range t.roots {
		infos[i] = RootInfo{Root: r.given, Method: r.method, Reason: r.reason}
		if r.node != nil && r.node.poll != nil && r.method == Inotify {
			infos[i].Method = Poll
			infos[i].Reason = "inotify watch limit reached (" + r.reason + ")"
		}
		if r.waiting {
			infos[i].Method = Poll
			infos[i].Reason = "missing: waiting for it to reappear"
		}
	}
	t.rootInfo.Store(&infos)
}
