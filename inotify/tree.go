// Package inotify watches directory trees for file changes with Linux
// inotify(7): one non-blocking inotify descriptor read through the runtime
// poller, one reader goroutine, recursive watches added at start and for
// every new directory, exclusion decided before a watch is added, overflow
// recovery by rescanning, and the "never watched" / "never a trigger" rules
// of reloadproxy (editor temporary files, VCS directories, tool caches,
// virtualenvs, files servers write themselves, .gitignore, .watchmanconfig,
// --pattern/--exclude/--reload-only globs).
//
// Only real edits count: a file opened for writing and closed unwritten, a
// chmod or a chown is not a change; a write, a touch, a create, a delete or
// a rename is.
//
// Where inotify cannot see (network and VM mounts, see [Method]) and for
// directories beyond the inotify watch limit, the same reader goroutine
// polls with stat(2) instead, with the same rules and the same [Change]
// values. A watch root that is deleted is waited for and watched again when
// it reappears.
//
// The rules (rules.go, gitignore.go) and the mount table parser
// (mountinfo.go) are platform independent; watching itself needs Linux,
// elsewhere [WatchTree] returns [ErrNotSupported].
package inotify

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors reported by the package. Test them with errors.Is.
var (
	// ErrNotSupported is returned by WatchTree on systems without inotify.
	ErrNotSupported = errors.New("inotify: file watching needs Linux inotify")

	// ErrBadGlob is matched by every *GlobError.
	ErrBadGlob = errors.New("inotify: bad glob")

	// ErrWatchLimit is matched by *WatchLimitError: inotify_add_watch(2)
	// failed with ENOSPC, fs.inotify.max_user_watches is exhausted.
	ErrWatchLimit = errors.New("inotify: watch limit reached")

	// ErrRootVanished is reported through Options.OnWarning when a watch
	// root is deleted or moved away. Its path is then checked every
	// PollInterval, and when a directory is there again it is watched
	// again and the files in it are reported as Create.
	ErrRootVanished = errors.New("inotify: watch root vanished")

	// ErrShortEvent is returned by ParseEvent for a truncated event.
	ErrShortEvent = errors.New("inotify: short event")
)

// Op tells what happened to a path. It is a bit set: changes to one path
// seen in the same read(2) batch are merged into one Change whose Op has
// every bit that happened (for example Rename|Create for an editor's
// rename-over-the-original save).
type Op uint8

// The operations.
const (
	// Create: the path appeared (moved in, new symlink or hard link, a
	// file found in a directory that was just created or moved in or in a
	// watch root that reappeared, or a new file found by polling).
	Create Op = 1 << iota
	// Write: a file was written and closed, or created (inotify), or its
	// modification time moved (touch), or polling found its size or
	// modification time changed. A close without a write, chmod and chown
	// are not changes.
	Write
	// Remove: the path was deleted.
	Remove
	// Rename: the path was moved away (the old name of a rename). The new
	// name, if inside a watched tree, is reported as Create.
	Rename
	// Overflow: the kernel queue overflowed and events were lost; anything
	// under Root may have changed. Path is "". The tree is rescanned right
	// after it is reported.
	Overflow
)

// String returns the set bits joined by "|", e.g. "RENAME|CREATE".
func (op Op) String() string {
	if op == 0 {
		return "0"
	}
	names := [...]string{"CREATE", "WRITE", "REMOVE", "RENAME", "OVERFLOW"}
	var b strings.Builder
	for i, name := range names {
		if op&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(name)
		}
	}
	if rest := op &^ (1<<len(names) - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", uint8(rest))
	}
	return b.String()
}

// Action tells the consumer what a change calls for.
type Action uint8

// The actions.
const (
	// Restart: restart the backend (the default for a triggering file).
	Restart Action = iota
	// ReloadOnly: the path matches a --reload-only glob; refresh the
	// browser without restarting the backend.
	ReloadOnly
)

// String returns "restart" or "reload-only".
func (a Action) String() string {
	switch a {
	case Restart:
		return "restart"
	case ReloadOnly:
		return "reload-only"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Change is one relevant change reported to Options.OnChange.
type Change struct {
	Root   string // the watch root as given in Options.Roots
	Path   string // slash-separated, relative to Root ("" for Overflow)
	Op     Op
	Action Action
}

// String formats c for logs: "OP root/path (action)".
func (c Change) String() string {
	p := c.Root
	if c.Path != "" {
		p = strings.TrimSuffix(c.Root, "/") + "/" + c.Path
	}
	return c.Op.String() + " " + p + " (" + c.Action.String() + ")"
}

// Options configures WatchTree. The zero value watches "." and reports
// every file that is not an editor temporary file, not in a never-watched
// directory and not .gitignored.
type Options struct {
	// Roots are the directories to watch; default ["."] when empty. Each
	// must exist and be a directory when WatchTree is called.
	Roots []string
	// Patterns: when non-empty, only files matching one of these globs
	// (or a ReloadOnly glob) trigger. See [NewRules] for the syntax.
	Patterns []string
	// Excludes: matching files never trigger and matching directories are
	// not watched at all; wins over Patterns and ReloadOnly.
	Excludes []string
	// ReloadOnly: matching files trigger with Action ReloadOnly (this wins
	// over Restart), even when they do not match Patterns.
	ReloadOnly []string
	// NoGitignore disables .gitignore handling (files and directories).
	NoGitignore bool

	// Method chooses between inotify and polling; the zero value Auto
	// decides per root from the mount table. See [Method].
	Method Method
	// PollInterval is how often polled directories are checked, and how
	// often a vanished root is looked for; zero means
	// DefaultPollInterval.
	PollInterval time.Duration

	// OnChange is called on the watcher's own goroutine, one call per
	// relevant change, in kernel order (changes to one path within one
	// read(2) batch are merged). It must not block long and must not call
	// Tree.Close (Close waits for this goroutine). Required.
	OnChange func(Change)
	// OnWarning receives problems that do not stop watching: a
	// *WatchLimitError, ErrRootVanished, unreadable directories, an
	// unreadable mount table. Called
	// on the watcher's goroutine, or on WatchTree's caller's goroutine for
	// problems met during the initial scan. May be nil.
	OnWarning func(error)
}

// GlobError is a glob rejected by ValidateGlob or NewRules.
type GlobError struct {
	Pattern string // the glob as given
	Offset  int    // byte offset in Pattern where the problem was found
	Reason  string // e.g. "unclosed `{`"
	Err     error  // the underlying *glob.SyntaxError, if any
}

// Error reads like: inotify: bad glob "src/{a,b": unclosed `{` at byte 8.
func (e *GlobError) Error() string {
	return fmt.Sprintf("inotify: bad glob %q: %s at byte %d", e.Pattern, e.Reason, e.Offset)
}

// Unwrap returns the underlying syntax error.
func (e *GlobError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBadGlob) true.
func (e *GlobError) Is(target error) bool { return target == ErrBadGlob }

// WatchLimitError reports that some directories could not be watched
// with inotify because fs.inotify.max_user_watches is exhausted. They are
// polled instead (and stay polled), so no change is missed, only seen later
// and at some CPU cost.
type WatchLimitError struct {
	Watched      int           // watches this Tree holds
	Missing      int           // directories that could not be watched: polled instead
	Limit        int           // fs.inotify.max_user_watches when it happened (0 if unknown)
	Suggested    int           // a value for the sysctl that leaves room
	PollInterval time.Duration // how often the Missing directories are polled
}

// Needed is the number of watches the Tree needs: Watched + Missing.
func (e *WatchLimitError) Needed() int { return e.Watched + e.Missing }

// Error names the counts and the fix.
func (e *WatchLimitError) Error() string {
	limit := "unknown"
	if e.Limit > 0 {
		limit = fmt.Sprint(e.Limit)
	}
	return fmt.Sprintf("inotify: watch limit reached (fs.inotify.max_user_watches=%s): "+
		"%d directories need watches, %d are watched, the other %d are polled every %v instead "+
		"(slower to notice, costs CPU); "+
		"raise the limit with: sudo sysctl fs.inotify.max_user_watches=%d "+
		"(add it to /etc/sysctl.d/ to keep it)",
		limit, e.Needed(), e.Watched, e.Missing, e.PollInterval, e.Suggested)
}

// Is makes errors.Is(err, ErrWatchLimit) true.
func (e *WatchLimitError) Is(target error) bool { return target == ErrWatchLimit }

// suggestWatchLimit returns a sysctl value for a user who hit limit with
// missing watches short: at least 524288 (the value IDEs recommend, about
// 0.5 GiB of kernel memory at most), else the next power of two that fits.
func suggestWatchLimit(limit, missing int) int {
	need := limit + missing
	s := 524288
	for s < need {
		s *= 2
	}
	return s
}

// DefaultPollInterval is the PollInterval used when Options leaves it zero.
const DefaultPollInterval = time.Second

// Method says how a watch root is watched.
type Method uint8

// The methods.
const (
	// Auto chooses per watch root from /proc/self/mountinfo: roots on
	// network and VM mounts, where inotify sees only the changes made
	// through this kernel (NFS, SMB/CIFS, 9p as in WSL2's /mnt/c,
	// VirtualBox shared folders, Docker Desktop's bind mounts, virtiofs,
	// FUSE), are polled; other roots use inotify, and a mount of one of
	// those kinds inside such a root is polled. See PollsFSType.
	Auto Method = iota
	// Inotify watches every root with inotify whatever its mount (the
	// "--no-poll" choice). Directories beyond the inotify watch limit are
	// still polled.
	Inotify
	// Poll polls every root (the "--poll" choice).
	Poll
)

// String returns "auto", "inotify" or "poll".
func (m Method) String() string {
	switch m {
	case Auto:
		return "auto"
	case Inotify:
		return "inotify"
	case Poll:
		return "poll"
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// RootInfo tells how one watch root is watched, for the start-up log.
type RootInfo struct {
	Root   string // the watch root as given in Options.Roots
	Method Method // Inotify or Poll, never Auto
	// Reason says why, for people: "ext4 mount at /", "nfs4 mount at
	// /mnt/share", "--poll", "--no-poll", "inotify unavailable: ...",
	// "inotify watch limit reached (...)", or "missing: waiting for it to
	// reappear"; an inotify root's is followed by "; polling 9p mount at
	// /x/y" for each polled mount inside it.
	Reason string
}
