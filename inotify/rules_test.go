package inotify

import (
	"errors"
	"strings"
	"testing"
)

func TestGlobSemantics(t *testing.T) {
	tests := []struct {
		name string
		glob string
		path string
		want bool
	}{
		{"star stays in segment", "*.py", "a.py", true},
		{"star does not cross slash", "*.py", "src/a.py", false},
		{"globstar zero dirs", "src/**/*", "src/a.py", true},
		{"globstar one dir", "src/**/*", "src/x/y.py", true},
		{"globstar many dirs", "src/**/*", "src/x/y/z.py", true},
		{"globstar needs the prefix", "src/**/*", "lib/a.py", false},
		{"globstar prefix pattern zero dirs", "src/**/test_*", "src/test_a.py", true},
		{"globstar prefix pattern deep", "src/**/test_*", "src/x/test_b.py", true},
		{"globstar prefix pattern no match", "src/**/test_*", "src/x/a_test.py", false},
		{"leading globstar top level", "**/*.py", "a.py", true},
		{"leading globstar deep", "**/*.py", "a/b/c.py", true},
		{"dotfile matches star", "*", ".env", true},
		{"dotfile in globstar", "**/*", "a/.hidden/x", true},
		{"trailing globstar excludes the dir itself", "build/**", "build", false},
		{"trailing globstar matches inside", "build/**", "build/a/b", true},
		{"question mark one char", "a?.js", "ab.js", true},
		{"question mark not slash", "a?b", "a/b", false},
		{"class", "[ab].css", "b.css", true},
		{"negated class", "[!ab].css", "b.css", false},
		{"alternatives", "*.{css,scss}", "x.scss", true},
		{"escaped star literal", `\*.txt`, "*.txt", true},
		{"escaped star not wildcard", `\*.txt`, "a.txt", false},
		{"leading ./ ignored", "./src/*.go", "src/a.go", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.glob)
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tt.glob, err)
			}
			if got := g.Match(tt.path); got != tt.want {
				t.Errorf("glob %q match %q (-want +got):\n-%t\n+%t", tt.glob, tt.path, tt.want, got)
			}
		})
	}
}

func TestValidateGlob(t *testing.T) {
	tests := []struct {
		name    string
		glob    string
		wantErr string // substring of the message; "" for valid
	}{
		{"plain", "*.go", ""},
		{"globstar", "src/**/*.py", ""},
		{"unclosed brace", "src/{a,b", "unclosed `{` at byte 8"},
		{"unclosed class", "a[bc", "inotify: bad glob \"a[bc\""},
		{"empty class", "a[]", "bad glob"},
		{"empty", "", "empty glob"},
		{"absolute", "/src/*.py", "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGlob(tt.glob)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateGlob(%q) = %v, want nil", tt.glob, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateGlob(%q) = nil, want error containing %q", tt.glob, tt.wantErr)
			}
			if !errors.Is(err, ErrBadGlob) {
				t.Errorf("errors.Is(%v, ErrBadGlob) = false", err)
			}
			var ge *GlobError
			if !errors.As(err, &ge) || ge.Pattern != tt.glob {
				t.Errorf("error %#v is not a *GlobError for %q", err, tt.glob)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("message (-want +got):\n-%s\n+%s", tt.wantErr, err.Error())
			}
		})
	}
}

func TestRulesMatch(t *testing.T) {
	type opts struct{ patterns, excludes, reloadOnly []string }
	tests := []struct {
		name       string
		opts       opts
		path       string
		wantOK     bool
		wantAction Action
	}{
		{"no patterns every file", opts{}, "a/b/c.txt", true, Restart},
		{"no patterns dotfile", opts{}, ".env", true, Restart},
		{"pattern match", opts{patterns: []string{"src/**/*.py"}}, "src/x/y.py", true, Restart},
		{"pattern miss", opts{patterns: []string{"src/**/*.py"}}, "src/x/y.js", false, 0},
		{"exclude wins over pattern", opts{patterns: []string{"**/*.py"}, excludes: []string{"**/test_*"}}, "a/test_x.py", false, 0},
		{"exclude wins over reload-only", opts{reloadOnly: []string{"**/*.css"}, excludes: []string{"vendor/**"}}, "vendor/a.css", false, 0},
		{"reload-only", opts{reloadOnly: []string{"**/*.css"}}, "static/a.css", true, ReloadOnly},
		{"reload-only wins over restart", opts{patterns: []string{"**/*"}, reloadOnly: []string{"**/*.css"}}, "a.css", true, ReloadOnly},
		{"reload-only outside patterns", opts{patterns: []string{"**/*.py"}, reloadOnly: []string{"**/*.css"}}, "a.css", true, ReloadOnly},
		{"file under excluded dir", opts{excludes: []string{"build"}}, "build/x/y.js", false, 0},
		{"file under dir-slash exclude", opts{excludes: []string{"build/"}}, "build/y.js", false, 0},
		{"exclude star prunes the dirs it matches", opts{excludes: []string{"build/*"}}, "build/x/y.js", false, 0},
		{"exclude file glob keeps others", opts{excludes: []string{"build/*.o"}}, "build/x/y.js", true, Restart},
		{"vim swap", opts{}, "src/.x.py.swp", false, 0},
		{"vim swx", opts{}, ".x.swx", false, 0},
		{"vim probe", opts{}, "src/4913", false, 0},
		{"backup tilde", opts{}, "x.py~", false, 0},
		{"emacs autosave", opts{}, "#x.py#", false, 0},
		{"emacs lock", opts{}, ".#x.py", false, 0},
		{"jetbrains tmp", opts{}, "x.py___jb_tmp___", false, 0},
		{"jetbrains old", opts{}, "x.py___jb_old___", false, 0},
		{"temp even when pattern matches", opts{patterns: []string{"**/*"}}, "a/x~", false, 0},
		{"not a temp: 49130", opts{}, "49130", true, Restart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRules(tt.opts.patterns, tt.opts.excludes, tt.opts.reloadOnly)
			if err != nil {
				t.Fatal(err)
			}
			action, ok := r.Match(tt.path)
			if ok != tt.wantOK || action != tt.wantAction {
				t.Errorf("Match(%q) (-want +got):\n-%v %v\n+%v %v", tt.path, tt.wantAction, tt.wantOK, action, ok)
			}
		})
	}
}

func TestRulesSkipDir(t *testing.T) {
	tests := []struct {
		name     string
		excludes []string
		dir      string
		want     bool
	}{
		{"name", []string{"build"}, "build", true},
		{"name is anchored at the root", []string{"build"}, "a/build", false},
		{"globstar name", []string{"**/dist"}, "a/b/dist", true},
		{"trailing globstar", []string{"build/**"}, "build", true},
		{"trailing globstar star", []string{"build/**/*"}, "build", true},
		{"trailing globstar anywhere", []string{"**/gen/**"}, "x/gen", true},
		{"trailing slash", []string{"out/"}, "out", true},
		{"one level star does not prune", []string{"build/*"}, "build", false},
		{"file glob does not prune", []string{"**/*.js"}, "static", false},
		{"star prunes top level", []string{"*.egg-info"}, "x.egg-info", true},
		{"unrelated", []string{"build/**"}, "src", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRules(nil, tt.excludes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.SkipDir(tt.dir); got != tt.want {
				t.Errorf("SkipDir(%q) with %q (-want +got):\n-%t\n+%t", tt.dir, tt.excludes, tt.want, got)
			}
		})
	}
}

func TestNewRulesBadGlob(t *testing.T) {
	for _, tc := range []struct{ patterns, excludes, reloadOnly []string }{
		{patterns: []string{"{"}},
		{excludes: []string{"[a"}},
		{excludes: []string{"[a/"}},
		{reloadOnly: []string{""}},
	} {
		if _, err := NewRules(tc.patterns, tc.excludes, tc.reloadOnly); !errors.Is(err, ErrBadGlob) {
			t.Errorf("NewRules(%q, %q, %q) = %v, want ErrBadGlob", tc.patterns, tc.excludes, tc.reloadOnly, err)
		}
	}
}

func TestNeverWatched(t *testing.T) {
	for _, name := range []string{".git", ".hg", ".svn", "node_modules", "__pycache__"} {
		if !NeverWatched(name) {
			t.Errorf("NeverWatched(%q) = false", name)
		}
	}
	for _, name := range []string{"git", ".github", "src", "node_module"} {
		if NeverWatched(name) {
			t.Errorf("NeverWatched(%q) = true", name)
		}
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{0, "0"},
		{Create, "CREATE"},
		{Rename | Create, "CREATE|RENAME"},
		{Overflow, "OVERFLOW"},
		{Write | 0x80, "WRITE|0x80"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() (-want +got):\n-%s\n+%s", uint8(tt.op), tt.want, got)
		}
	}
}

func TestWatchLimitErrorMessage(t *testing.T) {
	err := error(&WatchLimitError{Watched: 100, Missing: 50, Limit: 100, Suggested: suggestWatchLimit(100, 50)})
	if !errors.Is(err, ErrWatchLimit) {
		t.Error("errors.Is(err, ErrWatchLimit) = false")
	}
	for _, want := range []string{"150 directories need watches", "sysctl fs.inotify.max_user_watches=524288", "other 50"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	if got := suggestWatchLimit(600000, 10); got != 1<<20 {
		t.Errorf("suggestWatchLimit(600000, 10) = %d, want %d", got, 1<<20)
	}
}

func TestMayMatchUnder(t *testing.T) {
	tests := []struct {
		patterns, reloadOnly, excludes []string
		dir                            string
		want                           bool
	}{
		{nil, nil, nil, "anything", true},
		{nil, nil, []string{"build"}, "build", false},
		{[]string{"vite.config.*"}, nil, nil, ".cache/deps_temp", false},
		{[]string{"*.py"}, nil, nil, "pkg", false},
		{[]string{"**/*.py"}, nil, nil, "pkg/sub", true},
		{[]string{"src/*.py"}, nil, nil, "src", true},
		{[]string{"src/*.py"}, nil, nil, "lib", false},
		{[]string{"src/*.py"}, nil, nil, "src/deeper", false},
		{[]string{"src/**/*.py"}, nil, nil, "src/a/b", true},
		{[]string{"s*/x/*.go"}, nil, nil, "src", true},
		{[]string{"s*/x/*.go"}, nil, nil, "src/x", true},
		{[]string{"s*/x/*.go"}, nil, nil, "src/y", false},
		{[]string{"{src/a,lib}/*.go"}, nil, nil, "other", true}, // too complex: safe side
		{[]string{"*.py"}, []string{"static/**/*.css"}, nil, "static/css", true},
		{[]string{"*.py"}, []string{"static/**/*.css"}, nil, "templates", false},
	}
	for _, tt := range tests {
		r, err := NewRules(tt.patterns, tt.excludes, tt.reloadOnly)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.mayMatchUnder(tt.dir); got != tt.want {
			t.Errorf("patterns %q, reload-only %q, excludes %q: mayMatchUnder(%q) = %v, want %v",
				tt.patterns, tt.reloadOnly, tt.excludes, tt.dir, got, tt.want)
		}
	}
}

func TestGoBuildProbeNeverTriggers(t *testing.T) {
	r, err := NewRules(nil, []string{"app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app-go-tmp-umask", "bin/server-go-tmp-umask"} {
		if _, ok := r.Match(p); ok {
			t.Errorf("%s triggers: go build's probe must not cancel the build", p)
		}
	}
	if _, ok := r.Match("app.go"); !ok {
		t.Error("app.go does not trigger")
	}
}

func TestCollapseWildcards(t *testing.T) {
	for in, want := range map[string]string{
		"*?*?*?*?":     "????*",
		"*?*?*?*?*U*?": "????*U?*",
		"src/*.py":     "src/*.py",
		"**/*.py":      "**/*.py",
		"a**?b":        "a**?b",
		`a\*?\?*`:      `a\*?\?*`,
		"[*?]*?x":      "[*?]?*x",
		"{*?,?}*?":     "{*?,?}?*",
		"??":           "??",
		"x/*?*/y":      "x/?*/y",
	} {
		if got := collapseWildcards(in); got != want {
			t.Errorf("collapseWildcards(%q) = %q, want %q", in, got, want)
		}
	}
	// The same names match before and after.
	names := []string{"", "a", "ab", "abc", "abcd", "abcdU", "abcdUx", "aaaaU", "x/ab/y", "x/a/y", "x/abc/y", "x/ab/z/y"}
	for _, p := range []string{"*?*?", "*?*?*U*?", "x/*?*/y", "*?a*"} {
		slow, err := globCompiler.Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := compileGlob(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if slow.Match(n) != fast.Match(n) {
				t.Errorf("%q on %q: %v before, %v after", p, n, slow.Match(n), fast.Match(n))
			}
		}
	}
}
