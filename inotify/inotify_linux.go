//go:build linux

package inotify

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchMask is what every directory watch asks for.
//
// A save must produce a change, one save should produce one change where
// that is cheap, and only real edits count: a file opened for writing and
// closed without a write (Django's runserver does that to db.sqlite3 on
// every request), a chmod or a chown is not a change.
//   - IN_MODIFY: marks the file "dirty" (see fileNote); it is not a change
//     by itself, as it fires on every write(2) and the first one arrives
//     while the file is still half written.
//   - IN_CLOSE_WRITE: the change, but only for a dirty file, i.e. one
//     written (or truncated, or created) since it was opened: every way
//     editors, git, cp and shells write a file ends with close(2) of a
//     descriptor opened for writing. What is missed: truncate(2) on a path,
//     and writers that keep the file open (logs, databases) until they
//     close.
//   - IN_MOVED_TO / IN_MOVED_FROM: atomic saves (write a temporary file,
//     rename it over the original) and moves of files and directories.
//   - IN_CREATE: needed for new directories (to watch them) and for
//     symlinks and hard links, which produce no IN_CLOSE_WRITE; a new
//     regular file is marked dirty and reported by its IN_CLOSE_WRITE, so
//     creating an empty file counts.
//   - IN_DELETE: deleted files.
//   - IN_ATTRIB: touch(1) on an existing file, a common way to force a
//     reload; but also chmod, chown (SQLite does it to its journal when run
//     as root), link count changes and xattrs, which are not changes. So an
//     IN_ATTRIB counts only when the file's mtime or size moved from what
//     was last seen of it, or, for a file not seen before, when its mtime
//     equals its ctime: touch sets both to the same "now", chmod and chown
//     move only ctime. See attribChanged.
//   - IN_DELETE_SELF / IN_MOVE_SELF: a watched directory (in particular a
//     root) went away; IN_IGNORED and IN_Q_OVERFLOW are always delivered.
//   - IN_ONLYDIR: never watch a file that replaced a directory in a race.
//   - IN_DONT_FOLLOW: never follow a symlink (no cycles, no escaping the
//     tree); symlinked directories are reported, not descended into. Roots
//     are resolved first, so a root given as a symlink is watched.
//   - IN_EXCL_UNLINK: no events for files unlinked while still open.
//
// Not asked for: IN_OPEN, IN_ACCESS, IN_CLOSE_NOWRITE (reads are never
// changes).
const watchMask = unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_CREATE | unix.IN_DELETE | unix.IN_ATTRIB |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

// Init wraps inotify_init1(2) with IN_CLOEXEC|IN_NONBLOCK. The descriptor
// is returned in an *os.File, so reads park on the runtime poller instead
// of a thread, and Close unblocks a pending Read with os.ErrClosed.
func Init() (*os.File, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	return os.NewFile(uintptr(fd), "inotify"), nil
}

// AddWatch wraps inotify_add_watch(2). Adding a watch for an inode that is
// already watched returns the existing descriptor (and replaces its mask).
func AddWatch(fd int, path string, mask uint32) (wd int32, err error) {
	w, err := unix.InotifyAddWatch(fd, path, mask)
	if err != nil {
		return -1, os.NewSyscallError("inotify_add_watch", err)
	}
	return int32(w), nil
}

// RemoveWatch wraps inotify_rm_watch(2). The kernel queues IN_IGNORED for
// the descriptor.
func RemoveWatch(fd int, wd int32) error {
	_, err := unix.InotifyRmWatch(fd, uint32(wd))
	return os.NewSyscallError("inotify_rm_watch", err)
}

// Event is one decoded inotify event.
type Event struct {
	WD     int32  // watch descriptor; -1 for IN_Q_OVERFLOW
	Mask   uint32 // IN_* bits
	Cookie uint32 // pairs IN_MOVED_FROM with IN_MOVED_TO
	// Name is the entry's name in the watched directory, empty for events
	// about the directory itself. It is a slice of the buffer given to
	// ParseEvent, trimmed of its NUL padding, and valid until that buffer
	// is reused.
	Name []byte
}

// ParseEvent decodes the event at the start of buf (bytes returned by a
// read(2) of an inotify descriptor) and returns it with its length n. It
// does not allocate. A truncated event is ErrShortEvent.
func ParseEvent(buf []byte) (ev Event, n int, err error) {
	const hdr = unix.SizeofInotifyEvent
	if len(buf) < hdr {
		return Event{}, 0, ErrShortEvent
	}
	nameLen := int(binary.NativeEndian.Uint32(buf[12:16]))
	n = hdr + nameLen
	if nameLen < 0 || len(buf) < n {
		return Event{}, 0, ErrShortEvent
	}
	name := buf[hdr:n]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return Event{
		WD:     int32(binary.NativeEndian.Uint32(buf[0:4])),
		Mask:   binary.NativeEndian.Uint32(buf[4:8]),
		Cookie: binary.NativeEndian.Uint32(buf[8:12]),
		Name:   name,
	}, n, nil
}

// Tree watches directory trees; see WatchTree. Its methods are safe for
// concurrent use.
type Tree struct {
	file     *os.File // the inotify descriptor; nil when nothing uses inotify
	rc       syscall.RawConn
	opts     Options
	rules    *Rules
	roots    []*watchRoot
	interval time.Duration // Options.PollInterval or its default
	stop     chan struct{} // closed by Close: wakes a reader that only polls
	done     chan struct{}

	count     atomic.Int64 // len(byWD), for WatchCount
	polledN   atomic.Int64 // polled directories, for PolledCount
	rootInfo  atomic.Pointer[[]RootInfo]
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// The rest is owned by the reader goroutine once WatchTree returns.

	byWD     map[int32]*watchDir // the wd → directory index (inotify)
	stamp    uint32              // walk generation, see watchDir.stamp
	limited  bool                // ENOSPC met during the current walk
	missing  int                 // directories polled because of it
	overflow bool                // IN_Q_OVERFLOW in the current batch
	reload   []*watchDir         // directories whose .gitignore changed in this batch
	changes  []Change            // the current batch's changes
	seen     map[changeKey]int   // index in changes, to merge duplicates
	warnings []error
	stack    []walkItem
	dirBuf   []byte   // getdents(2) buffer
	subdirs  []string // scratch for list
	files    []string // scratch for list
	kept     map[string]bool

	// Polling, see poll_linux.go.
	polled    []*watchDir // polled directories, mostly parents first; dropped ones leave at the next tick
	npolled   int         // live entries of polled
	tick      uint64      // poll tick number, see pollState.tick
	nextPoll  time.Time   // when the next tick is due, if anything is polled or waited for
	waiting   int         // roots that vanished and are looked for every tick
	noInotify string      // why t.file is nil: the Reason of every root then

	// Real-edit filtering, see edits_linux.go.
	noteCount int         // fileNotes held by all directories
	noted     []*watchDir // directories that hold (or held) notes

	mountinfoPath  string // /proc/self/mountinfo, or a test's sample
	watchLimit     int    // tests: a fake fs.inotify.max_user_watches (0 = the kernel's)
	hookBeforeRead func() // tests: called before each read(2)
}

// watchRoot is one of Options.Roots.
type watchRoot struct {
	given      string          // as in Options.Roots, for Change.Root
	path       string          // absolute, cleaned, as given: re-resolved when it reappears
	abs        string          // path with symlinks resolved: what is watched
	node       *watchDir       // nil while the root is not watched
	ign        *ignoreSet      // nil with NoGitignore
	ignoreDirs map[string]bool // .watchmanconfig ignore_dirs, relative to the root

	method  Method                // Inotify or Poll: how the root directory is watched
	reason  string                // why, for RootInfo
	mounts  map[string]mountEntry // polled mounts below the root, by relative path
	waiting bool                  // vanished: looked for at every poll tick
}

// watchDir is a watched directory: an entry of the wd index (or of the
// polled list) and a node of the directory tree, so that a moved or
// deleted directory's subtree can be dropped without scanning the whole
// index.
type watchDir struct {
	wd       int32 // -1 when polled
	root     *watchRoot
	parent   *watchDir // nil for a root
	name     string
	rel      string               // relative to the root, "" for the root
	children map[string]*watchDir // watched subdirectories by name; nil when none
	stamp    uint32               // the last walk that visited it
	dropped  bool                 // forgotten: no longer part of the tree

	poll  *pollState          // non-nil: polled instead of watched
	notes map[string]fileNote // inotify only: what is known of its files; see fileNote
}

// abs returns the directory's absolute path.
func (d *watchDir) abs() string {
	if d.rel == "" {
		return d.root.abs
	}
	return d.root.abs + "/" + d.rel
}

type changeKey struct {
	root *watchRoot
	path string
}

// walkItem is a directory to watch and list.
type walkItem struct {
	root   *watchRoot
	parent *watchDir // nil for a root
	name   string
	rel    string
}

func (it walkItem) abs() string {
	if it.rel == "" {
		return it.root.abs
	}
	return it.root.abs + "/" + it.rel
}

// walkMode says what a walk is for.
type walkMode uint8

const (
	walkSetup  walkMode = iota // add watches, report nothing
	walkNew                    // a new directory: add watches, report its files as Create
	walkRescan                 // reconcile: re-add missing watches, drop vanished ones, reload .gitignore
)

// WatchTree starts watching opts.Roots recursively and calls opts.OnChange
// for every relevant change until Close. Every watch is in place when it
// returns. It fails on a bad glob (*GlobError), a root that is missing or
// not a directory, or when inotify_init1 fails and opts.Method is Inotify;
// a watch limit reached (ENOSPC) is a warning (*WatchLimitError through
// OnWarning) and the directories beyond it are polled.
//
// Each root is watched with inotify or polled according to opts.Method
// (see Method and Roots). Polling reports the same kinds of changes with
// the same rules, found by comparing each file's size, mtime, inode and
// type every PollInterval: a chmod is no change there either.
//
// Never watched: the directories named by NeverWatchedDirs, directories
// holding a pyvenv.cfg (virtualenvs), directories listed in the root's
// .watchmanconfig "ignore_dirs", directories pruned by the exclude globs
// (see NewRules) and, unless NoGitignore, .gitignored directories. Never a
// trigger: editor temporary files and NeverTriggerGlobs. Symlinks are
// reported but not followed (a root given as a symlink is resolved). A
// .gitignore that is created, edited or deleted while watching is reloaded
// and its directory rescanned. A root that vanishes is looked for every
// PollInterval and watched again when it reappears.
func WatchTree(opts Options) (*Tree, error) {
	if opts.OnChange == nil {
		return nil, errors.New("inotify: Options.OnChange is nil")
	}
	rules, err := NewRules(opts.Patterns, opts.Excludes, opts.ReloadOnly)
	if err != nil {
		return nil, err
	}
	given := opts.Roots
	if len(given) == 0 {
		given = []string{"."}
	}
	t := &Tree{
		opts:           opts,
		rules:          rules,
		interval:       opts.PollInterval,
		stop:           make(chan struct{}),
		done:           make(chan struct{}),
		byWD:           make(map[int32]*watchDir),
		seen:           make(map[changeKey]int),
		dirBuf:         make([]byte, 32<<10),
		mountinfoPath:  testMountinfoPath,
		watchLimit:     testWatchLimit,
		hookBeforeRead: testHookBeforeRead,
	}
	if t.interval <= 0 {
		t.interval = DefaultPollInterval
	}
	if t.mountinfoPath == "" {
		t.mountinfoPath = "/proc/self/mountinfo"
	}
	for _, g := range given {
		r, err := newWatchRoot(g, opts.NoGitignore)
		if err != nil {
			return nil, err
		}
		t.roots = append(t.roots, r)
	}
	if opts.Method == Poll {
		t.noInotify = "--poll"
	} else if t.file, err = Init(); err != nil {
		if opts.Method == Inotify {
			return nil, err
		}
		// Out of inotify instances (fs.inotify.max_user_instances) is
		// the usual cause: polling still works.
		t.file = nil
		t.noInotify = "inotify unavailable: " + err.Error()
	} else if t.rc, err = t.file.SyscallConn(); err != nil {
		t.file.Close()
		return nil, err
	}
	var mounts []mountEntry
	if t.file != nil && opts.Method == Auto {
		mounts = t.readMounts()
	}
	setup := func(fd int) {
		for _, r := range t.roots {
			t.chooseMethod(r, mounts)
			t.walk(fd, walkItem{root: r}, walkSetup)
		}
	}
	if t.file == nil {
		setup(-1)
	} else if err := t.rc.Control(func(fd uintptr) { setup(int(fd)) }); err != nil {
		t.file.Close()
		return nil, err
	}
	t.count.Store(int64(len(t.byWD)))
	t.polledN.Store(int64(t.npolled))
	t.publishRoots()
	t.nextPoll = time.Now().Add(t.interval)
	for _, w := range t.warnings {
		t.warn(w)
	}
	clear(t.warnings)
	t.warnings = t.warnings[:0]
	go t.run()
	return t, nil
}

// Test hooks, read by WatchTree.
var (
	testHookBeforeRead func() // called by the reader goroutine before each read(2)
	testMountinfoPath  string // replaces /proc/self/mountinfo
	testWatchLimit     int    // inotify_add_watch fails with ENOSPC once the Tree holds that many
)

// newWatchRoot checks a root and loads its .watchmanconfig and the
// .gitignore files above it.
func newWatchRoot(given string, noGitignore bool) (*watchRoot, error) {
	path, err := filepath.Abs(given)
	if err != nil {
		return nil, fmt.Errorf("inotify: watch root %q: %w", given, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("inotify: watch root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("inotify: watch root %q is not a directory", given)
	}
	r := &watchRoot{given: given, path: path, abs: resolveRoot(path)}
	r.ignoreDirs = readWatchmanIgnoreDirs(r.abs)
	if !noGitignore {
		r.ign = &ignoreSet{above: gitignoresAbove(r.abs)}
	}
	return r, nil
}

// resolveRoot resolves the symlinks in path: watches never follow
// symlinks (IN_DONT_FOLLOW, O_NOFOLLOW), and the mount table names real
// paths.
func resolveRoot(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// readWatchmanIgnoreDirs reads "ignore_dirs" from root/.watchmanconfig:
// directories, relative to the root, that are never watched.
func readWatchmanIgnoreDirs(root string) map[string]bool {
	data, err := os.ReadFile(filepath.Join(root, ".watchmanconfig"))
	if err != nil {
		return nil
	}
	var cfg struct {
		IgnoreDirs []string `json:"ignore_dirs"`
	}
	if json.Unmarshal(data, &cfg) != nil || len(cfg.IgnoreDirs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(cfg.IgnoreDirs))
	for _, d := range cfg.IgnoreDirs {
		d = strings.Trim(filepath.ToSlash(filepath.Clean(d)), "/")
		if d != "" && d != "." {
			m[d] = true
		}
	}
	return m
}

// gitignoresAbove loads the .gitignore files of root's parent directories
// up to the repository's top directory (the nearest one holding .git),
// nearest first, then the top's .git/info/exclude. Outside a repository
// there are none.
func gitignoresAbove(root string) []aboveIgnore {
	if _, err := os.Lstat(filepath.Join(root, ".git")); err == nil {
		return readInfoExclude(root, "")
	}
	var dirs []string
	for dir := root; ; {
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil // no repository above
		}
		dir = parent
		dirs = append(dirs, dir)
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			break
		}
	}
	var above []aboveIgnore
	for _, dir := range dirs {
		rel, err := filepath.Rel(dir, root)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
		if err != nil {
			continue
		}
		if g := ParseGitignore(data); len(g.rules) > 0 {
			above = append(above, aboveIgnore{prefix: filepath.ToSlash(rel) + "/", g: g})
		}
	}
	top := dirs[len(dirs)-1]
	rel, _ := filepath.Rel(top, root)
	return append(above, readInfoExclude(top, filepath.ToSlash(rel)+"/")...)
}

func readInfoExclude(top, prefix string) []aboveIgnore {
	data, err := os.ReadFile(filepath.Join(top, ".git", "info", "exclude"))
	if err != nil {
		return nil
	}
	if g := ParseGitignore(data); len(g.rules) > 0 {
		return []aboveIgnore{{prefix: prefix, g: g}}
	}
	return nil
}

// WatchCount returns the current number of inotify watches (directories
// watched with inotify).
func (t *Tree) WatchCount() int {
	return int(t.count.Load())
}

// PolledCount returns the current number of polled directories.
func (t *Tree) PolledCount() int {
	return int(t.polledN.Load())
}

// Roots tells, for each watch root in Options order, how it is watched
// and why (for the start-up log). It changes when a root vanishes and when
// it reappears.
func (t *Tree) Roots() []RootInfo {
	return slices.Clone(*t.rootInfo.Load())
}

// Close stops watching and waits for the reader goroutine to exit; no
// OnChange call starts after it returns. It is idempotent and safe to call
// from any goroutine except the one running OnChange.
func (t *Tree) Close() error {
	t.closeOnce.Do(func() {
		t.closing.Store(true)
		close(t.stop)
		if t.file != nil {
			t.closeErr = t.file.Close()
		}
	})
	<-t.done
	return t.closeErr
}

// run is the reader goroutine: one read(2) per batch, parked on the
// runtime poller in between, so an idle tree costs no wake-ups. While
// something is polled (or a vanished root is waited for) the read has a
// deadline at the next poll tick, so the same goroutine polls: no timer
// goroutine, no locks around the tree.
func (t *Tree) run() {
	defer close(t.done)
	if t.file == nil {
		t.runPollOnly()
		return
	}
	// Room for at least one event with a NAME_MAX name; larger to drain
	// bursts (a git checkout) in few reads.
	buf := make([]byte, 64<<10)
	var deadline time.Time // the read deadline in force
	for {
		if want := t.pollDeadline(); !want.Equal(deadline) {
			deadline = want
			t.file.SetReadDeadline(deadline)
		}
		if t.hookBeforeRead != nil {
			t.hookBeforeRead()
		}
		n, err := t.file.Read(buf)
		switch {
		case err == nil:
			// Control keeps the descriptor open (not reused) while the
			// batch adds and removes watches, even if Close runs
			// meanwhile.
			err = t.rc.Control(func(fd uintptr) { t.handleBatch(int(fd), buf[:n]) })
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = nil
			deadline = time.Time{} // set again below or next round
			t.file.SetReadDeadline(deadline)
		default:
			if !t.closing.Load() && !errors.Is(err, os.ErrClosed) {
				t.warn(fmt.Errorf("inotify: read: %w; watching stopped", err))
			}
			return
		}
		// Also after a batch: a steady stream of events must not starve
		// polling.
		if err == nil && t.pollDue() {
			err = t.rc.Control(func(fd uintptr) { t.pollTick(int(fd)) })
		}
		if err != nil {
			return
		}
		t.deliver()
	}
}

// runPollOnly is run when no inotify descriptor exists: every root is
// polled.
func (t *Tree) runPollOnly() {
	timer := time.NewTimer(time.Until(t.nextPoll))
	defer timer.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-timer.C:
		}
		t.pollTick(-1)
		t.deliver()
		timer.Reset(time.Until(t.nextPoll))
	}
}

// deliver calls OnChange and OnWarning for the current batch, outside
// Control.
func (t *Tree) deliver() {
	for _, w := range t.warnings {
		t.warn(w)
	}
	for _, c := range t.changes {
		if t.closing.Load() {
			break
		}
		t.opts.OnChange(c)
	}
	clear(t.changes) // drop the strings
	t.changes = t.changes[:0]
	clear(t.warnings)
	t.warnings = t.warnings[:0]
	clear(t.seen)
}

func (t *Tree) warn(err error) {
	if t.opts.OnWarning != nil && !t.closing.Load() {
		t.opts.OnWarning(err)
	}
}

// handleBatch applies the events of one read(2).
func (t *Tree) handleBatch(fd int, buf []byte) {
	for len(buf) > 0 {
		ev, n, err := ParseEvent(buf)
		if err != nil {
			break
		}
		buf = buf[n:]
		t.handleEvent(fd, ev)
	}
	t.finishBatch(fd)
}

// finishBatch does what a batch of events or a poll tick left to do once
// all of it is known: reload changed .gitignore files, rescan after an
// overflow, publish the counts.
func (t *Tree) finishBatch(fd int) {
	for _, d := range t.reload {
		if !d.dropped {
			// Rescan reloads the .gitignore and reconciles the subtree:
			// newly ignored directories lose their watches, newly
			// re-included ones get them.
			t.walk(fd, walkItem{root: d.root, parent: d.parent, name: d.name, rel: d.rel}, walkRescan)
		}
	}
	clear(t.reload)
	t.reload = t.reload[:0]
	if t.overflow {
		t.overflow = false
		for _, r := range t.roots {
			t.changes = append(t.changes, Change{Root: r.given, Op: Overflow})
		}
		for _, r := range t.roots {
			if !r.waiting {
				t.walk(fd, walkItem{root: r}, walkRescan)
			}
		}
	}
	if t.npolled == 0 && len(t.polled) > 0 {
		// No tick will run to drop the forgotten nodes from the list.
		clear(t.polled)
		t.polled = t.polled[:0]
	}
	t.count.Store(int64(len(t.byWD)))
	t.polledN.Store(int64(t.npolled))
}

func (t *Tree) handleEvent(fd int, ev Event) {
	if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
		t.overflow = true
		return
	}
	d := t.byWD[ev.WD]
	if d == nil {
		return // a watch we already dropped
	}
	if ev.Mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0 {
		// The directory itself is gone or moved. A move we saw from its
		// parent (IN_MOVED_FROM) already dropped it; this is a root, or a
		// move we missed. After IN_MOVE_SELF the kernel still watches the
		// inode at its new place: remove that watch too.
		t.forget(fd, d, ev.Mask&unix.IN_MOVE_SELF != 0)
		if d.parent == nil {
			t.rootVanished(d.root)
		}
		return
	}
	if len(ev.Name) == 0 {
		return
	}
	if ev.Mask&unix.IN_ISDIR != 0 {
		t.handleDirEvent(fd, d, ev)
		return
	}
	if string(ev.Name) == virtualenvMarker && d.parent != nil &&
		ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		// This directory just became a virtualenv (python -m venv writes
		// pyvenv.cfg right after making its directories): stop watching
		// it before pip fills it.
		t.forget(fd, d, true)
		return
	}
	if ignoredName(ev.Name) {
		return // before building a path: no allocation for them
	}
	op := t.fileOp(d, ev)
	if op == 0 {
		return
	}
	rel := joinRel(d.rel, string(ev.Name))
	if d.root.ign != nil && string(ev.Name) == ".gitignore" && !slices.Contains(t.reload, d) {
		t.reload = append(t.reload, d)
	}
	t.report(d.root, rel, op)
}

// handleDirEvent handles a subdirectory created, moved in, moved out or
// deleted in the watched directory d.
func (t *Tree) handleDirEvent(fd int, d *watchDir, ev Event) {
	switch {
	case ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		name := string(ev.Name)
		rel := joinRel(d.rel, name)
		if !t.skipDir(d.root, rel, name) {
			// Watch it, then list it: files may have been created (or it
			// was moved in full) before the watch existed.
			t.walk(fd, walkItem{root: d.root, parent: d, name: name, rel: rel}, walkNew)
		}
	case ev.Mask&unix.IN_MOVED_FROM != 0:
		c := d.children[string(ev.Name)]
		if c == nil {
			return // was not watched: excluded
		}
		t.forget(fd, c, true)
		// The files under it left the tree without events of their own.
		// Report the directory itself, to the conservative side: with
		// patterns, a file matching them may have been inside.
		if t.rules.mayMatchUnder(c.rel) {
			t.add(d.root, c.rel, Rename, Restart)
		}
	case ev.Mask&unix.IN_DELETE != 0:
		// A watched subdirectory's files were reported one by one, and
		// its IN_IGNORED drops the watch. A polled one's deletions were
		// not seen: report what polling knew of it.
		if c := d.children[string(ev.Name)]; c != nil && c.poll != nil {
			t.reportPolledFiles(c, Remove)
			t.forget(fd, c, true)
		}
	}
}

// skipDir reports whether the directory rel (named name) must not be
// watched. Its parents are known not to be skipped. Virtualenvs are found
// when the directory is listed.
func (t *Tree) skipDir(r *watchRoot, rel, name string) bool {
	return NeverWatched(name) || r.ignoreDirs[rel] || t.rules.SkipDir(rel) ||
		(r.ign != nil && r.ign.match(rel, true))
}

// report adds a change to a file to the batch if the rules let it trigger.
func (t *Tree) report(r *watchRoot, rel string, op Op) {
	action, ok := t.rules.Match(rel)
	if !ok || (r.ign != nil && r.ign.ignored(rel, false)) {
		return
	}
	t.add(r, rel, op, action)
}

// add adds a change to the batch, merging it with an earlier one for the
// same path.
func (t *Tree) add(r *watchRoot, rel string, op Op, action Action) {
	k := changeKey{r, rel}
	if i, ok := t.seen[k]; ok {
		t.changes[i].Op |= op
		return
	}
	t.seen[k] = len(t.changes)
	t.changes = append(t.changes, Change{Root: r.given, Path: rel, Op: op, Action: action})
}

// forget drops d and its subtree from the index and the polled list, and
// removes their watches (d's own only if rmSelf: it is already gone after
// IN_DELETE_SELF, or reused for a new node).
func (t *Tree) forget(fd int, d *watchDir, rmSelf bool) {
	if d.parent != nil {
		if d.parent.children[d.name] == d {
			delete(d.parent.children, d.name)
		}
	} else if d.root.node == d {
		d.root.node = nil
	}
	var drop func(n *watchDir)
	drop = func(n *watchDir) {
		if n.poll != nil {
			if !n.dropped {
				t.npolled--
			}
		} else if t.byWD[n.wd] == n {
			delete(t.byWD, n.wd)
			if n != d || rmSelf {
				RemoveWatch(fd, n.wd) // EINVAL if already gone: nothing to do
			}
		}
		n.dropped = true
		t.noteCount -= len(n.notes)
		n.notes = nil
		for _, c := range n.children {
			drop(c)
		}
		n.children = nil
	}
	drop(d)
}

// link makes n the node at its path: its parent's child, or its root's
// node.
func link(n *watchDir) {
	if n.parent != nil {
		if n.parent.children == nil {
			n.parent.children = make(map[string]*watchDir)
		}
		n.parent.children[n.name] = n
	} else {
		n.root.node = n
	}
}

// nodeAt returns the node currently at item's path, if any.
func nodeAt(item walkItem) *watchDir {
	if item.parent != nil {
		return item.parent.children[item.name]
	}
	return item.root.node
}

// attach records the watch wd for item in the index. It returns the node
// and whether it is new; nil when the directory is already watched through
// another root (overlapping roots).
func (t *Tree) attach(fd int, item walkItem, wd int32) (*watchDir, bool) {
	if e := t.byWD[wd]; e != nil {
		if e.parent == item.parent && e.name == item.name && e.root == item.root {
			return e, false
		}
		if e.root != item.root || e.stamp == t.stamp {
			// Another root's, or seen at another path in this very walk
			// (a bind mount loop): do not descend twice.
			return nil, false
		}
		// The same inode under another path of this root: a move we did
		// not see (overflow). Its watch is reused by the new node.
		t.forget(fd, e, false)
	}
	// A stale node at this path (deleted and re-created unseen, or
	// polled until now).
	if old := nodeAt(item); old != nil {
		t.forget(fd, old, true)
	}
	n := &watchDir{wd: wd, root: item.root, parent: item.parent, name: item.name, rel: item.rel}
	link(n)
	t.byWD[wd] = n
	return n, true
}

// addWatch is AddWatch with watchMask, or ENOSPC past the test's fake
// limit.
func (t *Tree) addWatch(fd int, path string) (int32, error) {
	if t.watchLimit > 0 && len(t.byWD) >= t.watchLimit {
		return -1, os.NewSyscallError("inotify_add_watch", unix.ENOSPC)
	}
	return AddWatch(fd, path, watchMask)
}

// walk watches (or polls) and lists the directory of start and everything
// below it that is not skipped, depth first with an explicit stack. Each
// directory is watched before it is listed, so nothing created in it is
// missed.
func (t *Tree) walk(fd int, start walkItem, mode walkMode) {
	t.stamp++
	t.stack = append(t.stack[:0], start)
	t.drain(fd, mode)
}

// drain walks the directories on the stack, and those found below them.
func (t *Tree) drain(fd int, mode walkMode) {
	for len(t.stack) > 0 {
		item := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.walkOne(fd, item, mode)
	}
	clear(t.stack[:cap(t.stack)])
	if t.limited {
		limit := t.watchLimit
		if limit == 0 {
			limit, _ = readProcInt("/proc/sys/fs/inotify/max_user_watches")
		}
		t.warnings = append(t.warnings, &WatchLimitError{
			Watched:      len(t.byWD),
			Missing:      t.missing,
			Limit:        limit,
			Suggested:    suggestWatchLimit(limit, t.missing),
			PollInterval: t.interval,
		})
		t.limited, t.missing = false, 0
	}
}

func (t *Tree) walkOne(fd int, item walkItem, mode walkMode) {
	if t.polls(item) {
		t.walkPolled(fd, item, mode)
		return
	}
	r := item.root
	abs := item.abs()
	var d *watchDir
	fresh := true
	wd, err := t.addWatch(fd, abs)
	switch {
	case err == nil:
		d, fresh = t.attach(fd, item, wd)
		if d == nil || (!fresh && mode == walkNew) {
			return // watched elsewhere, or already walked
		}
		d.stamp = t.stamp
	case errors.Is(err, unix.ENOSPC):
		// Poll this one and, since the limit is reached, the rest of
		// this walk.
		t.limited = true
		t.walkPolled(fd, item, mode)
		return
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return // vanished or replaced since it was listed
	default:
		t.warnings = append(t.warnings, fmt.Errorf("inotify: watching %s: %w", abs, err))
		return
	}

	l, err := t.list(abs, mode == walkNew)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			t.warnings = append(t.warnings, fmt.Errorf("inotify: listing %s: %w", abs, err))
		}
		return
	}
	if l.virtualenv && item.parent != nil {
		t.forget(fd, d, true)
		return
	}
	if r.ign != nil {
		switch {
		case l.gitignore:
			data, _ := os.ReadFile(abs + "/.gitignore")
			r.ign.set(item.rel, data)
		case mode == walkRescan:
			r.ign.set(item.rel, nil)
		}
	}
	keep := mode == walkRescan && !fresh && len(d.children) > 0
	if keep {
		if t.kept == nil {
			t.kept = make(map[string]bool)
		}
		clear(t.kept)
	}
	for _, name := range t.subdirs {
		rel := joinRel(item.rel, name)
		if t.skipDir(r, rel, name) {
			continue
		}
		if keep {
			t.kept[name] = true
		}
		t.stack = append(t.stack, walkItem{root: r, parent: d, name: name, rel: rel})
	}
	if keep {
		for name, c := range d.children {
			if !t.kept[name] {
				t.forget(fd, c, true) // deleted, or now excluded/ignored
			}
		}
	}
	for _, name := range t.files {
		t.report(r, joinRel(item.rel, name), Create)
	}
}

// listing is what list found besides the names.
type listing struct {
	gitignore  bool // a .gitignore is there
	virtualenv bool // a pyvenv.cfg is there: the directory is a virtualenv
}

// list reads the directory at abs with getdents(2) into t.subdirs (names
// of subdirectories) and, when withFiles, t.files (names of everything
// else but files that never trigger). Only directory names (and file names
// when withFiles) allocate.
func (t *Tree) list(abs string, withFiles bool) (listing, error) {
	dfd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		clear(t.subdirs)
		t.subdirs = t.subdirs[:0]
		clear(t.files)
		t.files = t.files[:0]
		return listing{}, err
	}
	defer unix.Close(dfd)
	return t.listFD(dfd, withFiles)
}

// listFD is list on an open directory.
func (t *Tree) listFD(dfd int, withFiles bool) (l listing, err error) {
	clear(t.subdirs)
	t.subdirs = t.subdirs[:0]
	clear(t.files)
	t.files = t.files[:0]
	for {
		n, err := unix.Getdents(dfd, t.dirBuf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return l, err
		}
		if n <= 0 {
			return l, nil
		}
		buf := t.dirBuf[:n]
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for len(buf) >= 19 {
			reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
			if reclen < 19 || reclen > len(buf) {
				break
			}
			typ := buf[18]
			name := buf[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			buf = buf[reclen:]
			if len(name) == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if unix.Fstatat(dfd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				if st.Mode&unix.S_IFMT == unix.S_IFDIR {
					typ = unix.DT_DIR
				}
			}
			switch {
			case typ == unix.DT_DIR:
				t.subdirs = append(t.subdirs, string(name))
			case string(name) == ".gitignore":
				l.gitignore = true
				if withFiles {
					t.files = append(t.files, ".gitignore")
				}
			case string(name) == virtualenvMarker:
				l.virtualenv = true
				if withFiles {
					t.files = append(t.files, virtualenvMarker)
				}
			case withFiles && !ignoredName(name):
				t.files = append(t.files, string(name))
			}
		}
	}
}

func readProcInt(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}
