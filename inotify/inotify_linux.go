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

	"golang.org/x/sys/unix"
)

// watchMask is what every directory watch asks for.
//
// A save must produce a change, and one save should produce one change
// where that is cheap:
//   - IN_CLOSE_WRITE, not IN_MODIFY: IN_MODIFY fires on every write(2), so
//     one save of a large file would be many events, and the first one
//     arrives while the file is still half written. Every way editors,
//     git, cp and shells write a file ends with close(2) of a descriptor
//     opened for writing. What is missed: truncate(2) on a path, and
//     writers that keep the file open (logs, databases) until they close.
//   - IN_MOVED_TO / IN_MOVED_FROM: atomic saves (write a temporary file,
//     rename it over the original) and moves of files and directories.
//   - IN_CREATE: needed for new directories (to watch them) and for
//     symlinks and hard links, which produce no IN_CLOSE_WRITE; for a new
//     regular file it is dropped in user space, its IN_CLOSE_WRITE follows.
//   - IN_DELETE: deleted files.
//   - IN_ATTRIB: touch(1) on an existing file and chmod, a common way to
//     force a reload; it also reports the link count change of a file
//     deleted elsewhere.
//   - IN_DELETE_SELF / IN_MOVE_SELF: a watched directory (in particular a
//     root) went away; IN_IGNORED and IN_Q_OVERFLOW are always delivered.
//   - IN_ONLYDIR: never watch a file that replaced a directory in a race.
//   - IN_DONT_FOLLOW: never follow a symlink (no cycles, no escaping the
//     tree); symlinked directories are reported, not descended into.
//   - IN_EXCL_UNLINK: no events for files unlinked while still open.
const watchMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
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
	file  *os.File
	rc    syscall.RawConn
	opts  Options
	rules *Rules
	roots []*watchRoot
	done  chan struct{}

	count     atomic.Int64 // len(byWD), for WatchCount
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// The rest is owned by the reader goroutine once WatchTree returns.

	byWD     map[int32]*watchDir // the wd → directory index
	stamp    uint32              // walk generation, see watchDir.stamp
	limited  bool                // ENOSPC met during the current walk
	missing  int                 // directories not watched because of it
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

	hookBeforeRead func() // tests: called before each read(2)
}

// watchRoot is one of Options.Roots.
type watchRoot struct {
	given      string          // as in Options.Roots, for Change.Root
	abs        string          // absolute, cleaned
	node       *watchDir       // nil while the root is not watched
	ign        *ignoreSet      // nil with NoGitignore
	ignoreDirs map[string]bool // .watchmanconfig ignore_dirs, relative to the root
}

// watchDir is a watched directory: an entry of the wd index and a node of
// the directory tree, so that a moved or deleted directory's subtree can be
// dropped without scanning the whole index.
type watchDir struct {
	wd       int32
	root     *watchRoot
	parent   *watchDir // nil for a root
	name     string
	rel      string               // relative to the root, "" for the root
	children map[string]*watchDir // watched subdirectories by name; nil when none
	stamp    uint32               // the last walk that visited it
}

type changeKey struct {
	root *watchRoot
	path string
}

// walkItem is a directory to watch and list.
type walkItem struct {
	root   *watchRoot
	parent *watchDir // nil for a root, or when counting after ENOSPC
	name   string
	rel    string
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
// not a directory, or when inotify_init1 fails; a watch limit reached
// (ENOSPC) is a warning (*WatchLimitError through OnWarning) and watching
// continues for the directories that were added.
//
// Never watched: .git, .hg, .svn, node_modules, __pycache__, directories
// listed in the root's .watchmanconfig "ignore_dirs", directories pruned
// by the exclude globs (see NewRules) and, unless NoGitignore, .gitignored
// directories. Symlinks are reported but not followed. A .gitignore that is
// created, edited or deleted while watching is reloaded and its directory
// rescanned.
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
		done:           make(chan struct{}),
		byWD:           make(map[int32]*watchDir),
		seen:           make(map[changeKey]int),
		dirBuf:         make([]byte, 32<<10),
		hookBeforeRead: testHookBeforeRead,
	}
	for _, g := range given {
		r, err := newWatchRoot(g, opts.NoGitignore)
		if err != nil {
			return nil, err
		}
		t.roots = append(t.roots, r)
	}
	if t.file, err = Init(); err != nil {
		return nil, err
	}
	if t.rc, err = t.file.SyscallConn(); err != nil {
		t.file.Close()
		return nil, err
	}
	err = t.rc.Control(func(fd uintptr) {
		for _, r := range t.roots {
			t.walk(int(fd), walkItem{root: r}, walkSetup)
		}
	})
	if err != nil {
		t.file.Close()
		return nil, err
	}
	t.count.Store(int64(len(t.byWD)))
	for _, w := range t.warnings {
		t.warn(w)
	}
	t.warnings = t.warnings[:0]
	go t.run()
	return t, nil
}

// testHookBeforeRead, when set by a test, is called by the reader
// goroutine before each read(2).
var testHookBeforeRead func()

// newWatchRoot checks a root and loads its .watchmanconfig and the
// .gitignore files above it.
func newWatchRoot(given string, noGitignore bool) (*watchRoot, error) {
	abs, err := filepath.Abs(given)
	if err != nil {
		return nil, fmt.Errorf("inotify: watch root %q: %w", given, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("inotify: watch root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("inotify: watch root %q is not a directory", given)
	}
	r := &watchRoot{given: given, abs: abs}
	r.ignoreDirs = readWatchmanIgnoreDirs(abs)
	if !noGitignore {
		r.ign = &ignoreSet{above: gitignoresAbove(abs)}
	}
	return r, nil
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

// WatchCount returns the current number of watches (directories watched).
func (t *Tree) WatchCount() int {
	return int(t.count.Load())
}

// Close stops watching and waits for the reader goroutine to exit; no
// OnChange call starts after it returns. It is idempotent and safe to call
// from any goroutine except the one running OnChange.
func (t *Tree) Close() error {
	t.closeOnce.Do(func() {
		t.closing.Store(true)
		t.closeErr = t.file.Close()
	})
	<-t.done
	return t.closeErr
}

// run is the reader goroutine: one read(2) per batch, parked on the
// runtime poller in between, so an idle tree costs no wake-ups.
func (t *Tree) run() {
	defer close(t.done)
	// Room for at least one event with a NAME_MAX name; larger to drain
	// bursts (a git checkout) in few reads.
	buf := make([]byte, 64<<10)
	for {
		if t.hookBeforeRead != nil {
			t.hookBeforeRead()
		}
		n, err := t.file.Read(buf)
		if err != nil {
			if !t.closing.Load() && !errors.Is(err, os.ErrClosed) {
				t.warn(fmt.Errorf("inotify: read: %w; watching stopped", err))
			}
			return
		}
		// Control keeps the descriptor open (not reused) while the batch
		// adds and removes watches, even if Close runs meanwhile.
		err = t.rc.Control(func(fd uintptr) { t.handleBatch(int(fd), buf[:n]) })
		if err != nil {
			return
		}
		t.deliver()
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
	for _, d := range t.reload {
		if t.byWD[d.wd] == d {
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
			t.walk(fd, walkItem{root: r}, walkRescan)
		}
	}
	t.count.Store(int64(len(t.byWD)))
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
		if d.parent == nil {
			t.warnings = append(t.warnings, fmt.Errorf("%w: %s", ErrRootVanished, d.root.given))
		}
		t.forget(fd, d, ev.Mask&unix.IN_MOVE_SELF != 0)
		return
	}
	if len(ev.Name) == 0 {
		return
	}
	if ev.Mask&unix.IN_ISDIR != 0 {
		t.handleDirEvent(fd, d, ev)
		return
	}
	if IsEditorTemp(ev.Name) {
		return // before building a path: no allocation for them
	}
	var op Op
	switch {
	case ev.Mask&(unix.IN_CLOSE_WRITE|unix.IN_ATTRIB) != 0:
		op = Write
	case ev.Mask&unix.IN_MOVED_TO != 0:
		op = Create
	case ev.Mask&unix.IN_MOVED_FROM != 0:
		op = Rename
	case ev.Mask&unix.IN_DELETE != 0:
		op = Remove
	case ev.Mask&unix.IN_CREATE != 0:
		// A new regular file is reported by its IN_CLOSE_WRITE, unless it
		// is a hard link (no write follows). Symlinks and others: now.
		var st unix.Stat_t
		path := d.root.abs + "/" + joinRel(d.rel, string(ev.Name))
		if unix.Lstat(path, &st) != nil || (st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1) {
			return
		}
		op = Create
	default:
		return
	}
	rel := joinRel(d.rel, string(ev.Name))
	if d.root.ign != nil && string(ev.Name) == ".gitignore" && ev.Mask&unix.IN_ATTRIB == 0 && !slices.Contains(t.reload, d) {
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
		if !t.rules.excluded(c.rel) {
			t.add(d.root, c.rel, Rename, Restart)
		}
	}
	// IN_DELETE: its files were reported one by one, and its IN_IGNORED
	// drops the watch.
}

// skipDir reports whether the directory rel (named name) must not be
// watched. Its parents are known not to be skipped.
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

// forget drops d and its subtree from the index and removes their watches
// (d's own only if rmSelf: it is already gone after IN_DELETE_SELF, or
// reused for a new node).
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
		if t.byWD[n.wd] == n {
			delete(t.byWD, n.wd)
			if n != d || rmSelf {
				RemoveWatch(fd, n.wd) // EINVAL if already gone: nothing to do
			}
		}
		for _, c := range n.children {
			drop(c)
		}
		n.children = nil
	}
	drop(d)
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
	// A stale node at this path (deleted and re-created unseen).
	if item.parent != nil {
		if old := item.parent.children[item.name]; old != nil {
			t.forget(fd, old, true)
		}
	} else if old := item.root.node; old != nil {
		t.forget(fd, old, true)
	}
	n := &watchDir{wd: wd, root: item.root, parent: item.parent, name: item.name, rel: item.rel}
	if item.parent != nil {
		if item.parent.children == nil {
			item.parent.children = make(map[string]*watchDir)
		}
		item.parent.children[item.name] = n
	} else {
		item.root.node = n
	}
	t.byWD[wd] = n
	return n, true
}

// walk watches and lists the directory of start and everything below it
// that is not skipped, depth first with an explicit stack. Each directory
// is watched before it is listed, so nothing created in it is missed.
func (t *Tree) walk(fd int, start walkItem, mode walkMode) {
	t.stamp++
	t.stack = append(t.stack[:0], start)
	for len(t.stack) > 0 {
		item := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.walkOne(fd, item, mode)
	}
	clear(t.stack[:cap(t.stack)])
	if t.limited {
		limit, _ := readProcInt("/proc/sys/fs/inotify/max_user_watches")
		t.warnings = append(t.warnings, &WatchLimitError{
			Watched:   len(t.byWD),
			Missing:   t.missing,
			Limit:     limit,
			Suggested: suggestWatchLimit(limit, t.missing),
		})
		t.limited, t.missing = false, 0
	}
}

func (t *Tree) walkOne(fd int, item walkItem, mode walkMode) {
	r := item.root
	abs := r.abs
	if item.rel != "" {
		abs = r.abs + "/" + item.rel
	}
	var d *watchDir
	fresh := true
	counting := t.limited || (item.parent == nil && item.rel != "")
	if counting {
		t.missing++
	} else {
		wd, err := AddWatch(fd, abs, watchMask)
		switch {
		case err == nil:
			d, fresh = t.attach(fd, item, wd)
			if d == nil || (!fresh && mode == walkNew) {
				return // watched elsewhere, or already walked
			}
			d.stamp = t.stamp
		case errors.Is(err, unix.ENOSPC):
			// Keep walking without watches, to count what is missing.
			t.limited = true
			t.missing++
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return // vanished or replaced since it was listed
		default:
			t.warnings = append(t.warnings, fmt.Errorf("inotify: watching %s: %w", abs, err))
			return
		}
	}

	hasGitignore, err := t.list(abs, mode == walkNew)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			t.warnings = append(t.warnings, fmt.Errorf("inotify: listing %s: %w", abs, err))
		}
		return
	}
	if r.ign != nil {
		switch {
		case hasGitignore:
			data, _ := os.ReadFile(abs + "/.gitignore")
			r.ign.set(item.rel, data)
		case mode == walkRescan:
			r.ign.set(item.rel, nil)
		}
	}
	keep := mode == walkRescan && d != nil && !fresh && len(d.children) > 0
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

// list reads the directory at abs with getdents(2) into t.subdirs (names
// of subdirectories) and, when withFiles, t.files (names of everything
// else but editor temporary files). It reports whether a .gitignore is
// there. Only directory names (and file names when withFiles) allocate.
func (t *Tree) list(abs string, withFiles bool) (hasGitignore bool, err error) {
	clear(t.subdirs)
	t.subdirs = t.subdirs[:0]
	clear(t.files)
	t.files = t.files[:0]
	dfd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(dfd)
	for {
		n, err := unix.Getdents(dfd, t.dirBuf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return false, err
		}
		if n <= 0 {
			return hasGitignore, nil
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
				hasGitignore = true
				if withFiles {
					t.files = append(t.files, ".gitignore")
				}
			case withFiles && !IsEditorTemp(name):
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
