package inotify

import (
	"errors"
	"strings"

	"github.com/gobwas/glob"
)

// globCompiler compiles --pattern/--exclude/--reload-only globs: '/' is the
// separator, so `*` and `?` stay within one segment and `**` crosses them;
// Globstar makes a `**/` that starts a segment match zero or more
// directories. That is exactly compiling each `**/` as `{**/,}` (the
// library does the rewrite on its parse tree, so escapes and groups are
// handled), which gives DESIGN.md's semantics: `src/**/*` matches src/a.py
// and src/x/y.py, `src/**/test_*` matches src/test_a.py.
var globCompiler = glob.Compiler{Separators: []rune{'/'}, Globstar: true}

// ValidateGlob reports whether pattern is a valid --pattern, --exclude or
// --reload-only glob, with a *GlobError (errors.Is ErrBadGlob) naming the
// reason and the byte offset if it is not. Globs match slash-separated paths
// relative to the watch root; a leading "./" is ignored, a leading "/" is an
// error since it could never match.
func ValidateGlob(pattern string) error {
	_, err := compileGlob(pattern)
	return err
}

func compileGlob(pattern string) (*glob.Pattern, error) {
	p := strings.TrimPrefix(pattern, "./")
	skipped := len(pattern) - len(p)
	switch {
	case p == "":
		return nil, &GlobError{Pattern: pattern, Offset: skipped, Reason: "empty glob"}
	case p[0] == '/':
		return nil, &GlobError{Pattern: pattern, Offset: skipped,
			Reason: "absolute path (globs match paths relative to the watch root)"}
	}
	g, err := globCompiler.Compile(collapseWildcards(p))
	if err != nil {
		ge := &GlobError{Pattern: pattern, Offset: skipped, Reason: err.Error(), Err: err}
		var se *glob.SyntaxError
		if errors.As(err, &se) {
			ge.Offset += se.Offset
			ge.Reason = se.Reason
		}
		return nil, ge
	}
	return g, nil
}

// collapseWildcards rewrites each run of single '*' and '?' (outside
// brackets, braces and escapes; a run holding "**" stays as it is) into
// its '?'s followed by one '*' if it had any: "*?*?" is "??*". The two
// match the same names, but the matcher takes time that grows as a power of
// the name's length with the number of stars (FuzzGlob found "*?*?*?*?"
// taking seconds on a 200-byte path).
func collapseWildcards(p string) string {
	var b strings.Builder
	depth := 0 // inside [...] or {...}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
			continue
		case c == '[' || c == '{':
			depth++
		case (c == ']' || c == '}') && depth > 0:
			depth--
		case depth == 0 && (c == '*' || c == '?'):
			j := i
			for j < len(p) && (p[j] == '*' || p[j] == '?') {
				j++
			}
			run := p[i:j]
			if strings.Contains(run, "**") {
				b.WriteString(run)
			} else {
				b.WriteString(strings.Repeat("?", strings.Count(run, "?")))
				if strings.Contains(run, "*") {
					b.WriteByte('*')
				}
			}
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Rules decides, from the command-line globs and the fixed built-in rules,
// which directories are watched and which files trigger. It does not know
// about .gitignore or .watchmanconfig, which depend on the tree (see
// WatchTree). A Rules is immutable and safe for concurrent use.
type Rules struct {
	patterns   []*glob.Pattern
	excludes   []*glob.Pattern
	reloadOnly []*glob.Pattern
	// triggerGlobs are the sources of patterns and reloadOnly, for
	// mayMatchUnder.
	triggerGlobs []string
	// dirExcludes match a directory path whose whole subtree is excluded.
	dirExcludes []*glob.Pattern
}

// NewRules compiles the globs; the first bad one is returned as a
// *GlobError.
//
// Glob syntax (github.com/gobwas/glob, '/' as separator): paths are
// relative to the watch root with '/' separators; `*` and `?` stay within
// one segment; `**/` matches zero or more directories; `[a-z]`, `[!a-z]`,
// `{a,b}` and `\` escapes work as usual. Dotfiles match like any other name.
// Note that `*.py` therefore matches only top-level files; `**/*.py`
// matches them at any depth.
//
// An exclude glob also prunes directories, which are then not watched at
// all. A directory D is pruned when an exclude glob
//   - matches D itself (`-x build`, `-x '**/dist'`, `-x '*.egg-info'`), or
//   - ends in "/**" or "/**/*" and its part before that matches D
//     (`-x 'build/**'` prunes build; `-x '**/gen/**'` prunes every gen), or
//   - ends in "/" and its part before that matches D (`-x build/` is read
//     as the directory build and everything under it).
//
// A glob matching a directory prunes it like any other: `-x 'build/*'`
// prunes every directory directly in build (build itself stays watched);
// `-x 'build/*.o'` prunes only directories named like that.
func NewRules(patterns, excludes, reloadOnly []string) (*Rules, error) {
	r := &Rules{}
	if len(patterns) > 0 {
		r.triggerGlobs = append(append(r.triggerGlobs, patterns...), reloadOnly...)
	}
	var err error
	if r.patterns, err = compileGlobs(patterns); err != nil {
		return nil, err
	}
	if r.reloadOnly, err = compileGlobs(reloadOnly); err != nil {
		return nil, err
	}
	for _, x := range excludes {
		dirOnly := strings.HasSuffix(x, "/") && strings.TrimRight(x, "/") != ""
		fileGlob := x
		if dirOnly {
			fileGlob = strings.TrimRight(x, "/") + "/**"
		}
		g, err := compileGlob(fileGlob)
		if err != nil {
			if ge, ok := err.(*GlobError); ok {
				ge.Pattern = x
			}
			return nil, err
		}
		r.excludes = append(r.excludes, g)
		if !dirOnly {
			r.dirExcludes = append(r.dirExcludes, g)
		}
		for _, suffix := range [...]string{"/**/*", "/**"} {
			if prefix, ok := strings.CutSuffix(fileGlob, suffix); ok && prefix != "" {
				if pg, err := compileGlob(prefix); err == nil {
					r.dirExcludes = append(r.dirExcludes, pg)
				}
				break
			}
		}
	}
	return r, nil
}

func compileGlobs(globs []string) ([]*glob.Pattern, error) {
	var out []*glob.Pattern
	for _, s := range globs {
		g, err := compileGlob(s)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// SkipDir reports whether the directory at rel (slash-separated, relative
// to the watch root, not "") is excluded by the globs; see NewRules. It does
// not check the fixed names (see NeverWatched).
func (r *Rules) SkipDir(rel string) bool {
	return matchAny(r.dirExcludes, rel)
}

// Match reports whether a change to the file at rel (slash-separated,
// relative to the watch root) triggers, and with what Action. A file never
// triggers when it is an editor temporary file (IsEditorTemp) or a file
// servers write themselves (NeverTriggers) — these built-in rules win even
// over a --pattern that names such files explicitly, to keep them simple
// and a Django database from restarting its own server — or when it matches
// an exclude glob or lies in a directory SkipDir prunes; otherwise it
// triggers with ReloadOnly when it matches a reload-only glob, else with
// Restart when there are no patterns or it matches one.
func (r *Rules) Match(rel string) (Action, bool) {
	if ignoredName(baseName(rel)) || r.excluded(rel) {
		return 0, false
	}
	if matchAny(r.reloadOnly, rel) {
		return ReloadOnly, true
	}
	if len(r.patterns) == 0 || matchAny(r.patterns, rel) {
		return Restart, true
	}
	return 0, false
}

// mayMatchUnder reports whether a file somewhere under the directory dir
// could trigger. A directory moved out of the tree takes its files along
// without an event for each: it counts as a change only if one of them
// could have mattered. Without --pattern any file matters; with patterns,
// a pattern matters when its leading segments match dir's and a segment is
// left for what lies under it, or when a `**` comes first. A pattern too
// complex to split (a '/' in a brace group, an escape) counts, to stay on
// the safe side.
func (r *Rules) mayMatchUnder(dir string) bool {
	if r.excluded(dir) || r.SkipDir(dir) {
		return false
	}
	if len(r.triggerGlobs) == 0 {
		return true
	}
	dsegs := strings.Split(dir, "/")
	for _, p := range r.triggerGlobs {
		if globMayMatchUnder(strings.TrimPrefix(p, "./"), dsegs) {
			return true
		}
	}
	return false
}

func globMayMatchUnder(p string, dsegs []string) bool {
	if strings.ContainsAny(p, "{\\") {
		return true
	}
	psegs := strings.Split(p, "/")
	for i, d := range dsegs {
		if i >= len(psegs) {
			return false
		}
		if strings.Contains(psegs[i], "**") {
			return true
		}
		g, err := compileGlob(psegs[i])
		if err != nil || !g.Match(d) {
			return err != nil
		}
	}
	return len(psegs) > len(dsegs)
}

// excluded reports whether rel matches an exclude glob or lies under a
// directory SkipDir prunes.
func (r *Rules) excluded(rel string) bool {
	if matchAny(r.excludes, rel) {
		return true
	}
	if len(r.dirExcludes) == 0 {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && matchAny(r.dirExcludes, rel[:i]) {
			return true
		}
	}
	return false
}

func matchAny(gs []*glob.Pattern, s string) bool {
	for _, g := range gs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

// neverWatchedDirs are the base names of directories that are never
// watched, whatever the options: version-control metadata, dependency
// trees, bytecode and tool caches, virtualenvs and framework build output
// that are large, never edited by hand, and written by the very tools the
// backend runs (a watched .next would restart Next.js on its own output).
var neverWatchedDirs = [...]string{
	".git", ".hg", ".svn",
	"node_modules", "__pycache__",
	".venv", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
	".next", ".nuxt", ".svelte-kit", ".parcel-cache", ".turbo",
}

// virtualenvMarker is the file every Python virtualenv has at its top
// (venv(7)-style, PEP 405): a directory holding it is never watched, so a
// virtualenv is skipped whatever its name.
const virtualenvMarker = "pyvenv.cfg"

// NeverWatchedDirs returns the base names of the directories that are
// never watched (a fresh copy, for --help). Directories holding a
// pyvenv.cfg file (virtualenvs by any name) are not watched either; a
// watch root itself always is.
func NeverWatchedDirs() []string {
	return append([]string(nil), neverWatchedDirs[:]...)
}

// NeverWatched reports whether a directory with this base name is never
// watched, whatever the options; see NeverWatchedDirs.
func NeverWatched(name string) bool {
	for _, n := range neverWatchedDirs {
		if name == n {
			return true
		}
	}
	return false
}

// neverTriggerSuffixes are the name endings of files that servers write
// themselves while serving requests: SQLite databases and their journals
// (Django's db.sqlite3 is opened for writing by every request), and logs.
// A change to one must not restart the server that wrote it.
var neverTriggerSuffixes = [...]string{
	".sqlite", ".sqlite3", ".db", "-journal", "-wal", "-shm", ".log",
}

// NeverTriggerGlobs returns the base-name globs of the files that never
// trigger (a fresh copy, for --help): "*.sqlite", "*.log" and so on. They
// win over --pattern and --reload-only, like the editor temporary files.
func NeverTriggerGlobs() []string {
	globs := make([]string, len(neverTriggerSuffixes))
	for i, s := range neverTriggerSuffixes {
		globs[i] = "*" + s
	}
	return globs
}

// NeverTriggers reports whether a file with this base name never triggers
// because servers write such files themselves; see NeverTriggerGlobs.
func NeverTriggers[S string | []byte](name S) bool {
	for _, s := range neverTriggerSuffixes {
		if hasSuffix(name, s) {
			return true
		}
	}
	return false
}

// ignoredName reports whether a file with this base name never triggers,
// whatever the globs: editor temporary files and files servers write.
func ignoredName[S string | []byte](name S) bool {
	return IsEditorTemp(name) || NeverTriggers(name)
}

// IsEditorTemp reports whether a file with this base name is an editor's
// or a build tool's temporary file, which never triggers: vim swap files
// (*.swp, *.swx) and its write probe "4913", backups (*~), Emacs auto-save
// (#*#) and lock (.#*) files, JetBrains safe-write files (*___jb_tmp___,
// *___jb_old___), and the probe `go build -o NAME` creates and removes
// beside its output (NAME-go-tmp-umask), so that `-x NAME` is enough to
// keep a build's output from cancelling the build.
func IsEditorTemp[S string | []byte](name S) bool {
	n := len(name)
	if n == 0 {
		return false
	}
	switch {
	case name[n-1] == '~':
		return true
	case name[0] == '#' && name[n-1] == '#' && n >= 2:
		return true
	case n >= 2 && name[0] == '.' && name[1] == '#':
		return true
	case string(name) == "4913":
		return true
	}
	return hasSuffix(name, ".swp") || hasSuffix(name, ".swx") ||
		hasSuffix(name, "___jb_tmp___") || hasSuffix(name, "___jb_old___") ||
		hasSuffix(name, "-go-tmp-umask")
}

func hasSuffix[S string | []byte](s S, suffix string) bool {
	return len(s) >= len(suffix) && string(s[len(s)-len(suffix):]) == suffix
}

// baseName returns the last segment of a slash-separated path.
func baseName(rel string) string {
	return rel[strings.LastIndexByte(rel, '/')+1:]
}

// joinRel joins a directory path relative to the root ("" for the root)
// and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
