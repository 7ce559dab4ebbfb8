package inotify

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets' seeds run with every `go test ./inotify`. Longer runs:
//
//	go test ./inotify -run '^$' -fuzz FuzzGlob -fuzztime 10m
//	go test ./inotify -run '^$' -fuzz FuzzGitignore -fuzztime 10m
//	go test ./inotify -run '^$' -fuzz FuzzMountinfoLine -fuzztime 10m

// FuzzGlob compiles a glob as every kind of rule and matches a path with
// it: no panic, errors are *GlobError with an offset inside the glob, and
// a glob without metacharacters matches itself.
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"*.py", "a.py"}, {"src/**/*.py", "src/x/y.py"}, {"src/**/test_*", "src/test_a.py"},
		{"**/*", "a/.hidden/x"}, {"build/**", "build/a/b"}, {"build/", "build/x"}, {"{a,b}/*.css", "a/s.css"},
		{"[!ab].css", "c.css"}, {`\*.txt`, "*.txt"}, {"./src/*.go", "src/a.go"}, {"src/{a,b", ""},
		{"a[]", "a"}, {"/abs", "abs"}, {"", "x"}, {"**/dist", "a/dist"}, {"a/**/b/**/c", "a/b/c"},
		{"[[:alpha:]]", "a"}, {"*.{sqlite3,db}", "db.sqlite3"}, {"{,}", ""}, {"**", "a/b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		err := ValidateGlob(pattern)
		rules, rerr := NewRules([]string{pattern}, nil, nil)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("ValidateGlob(%q) = %v but NewRules = %v", pattern, err, rerr)
		}
		for _, e := range []error{err, rerr} {
			var ge *GlobError
			if e != nil && (!errors.As(e, &ge) || !errors.Is(e, ErrBadGlob) || ge.Offset < 0 || ge.Offset > len(pattern)) {
				t.Fatalf("error %#v for %q: want a *GlobError with an offset in [0, %d]", e, pattern, len(pattern))
			}
		}
		if err != nil {
			return
		}
		rules.Match(path)
		rules.SkipDir(path)
		if x, err := NewRules(nil, []string{pattern}, []string{pattern}); err == nil {
			if _, ok := x.Match(path); ok {
				// Excluded by the glob it also reloads with: excludes win.
				if g, _ := compileGlob(pattern); g.Match(path) {
					t.Fatalf("glob %q excludes %q but Match says it triggers", pattern, path)
				}
			}
			x.SkipDir(path)
		}
		literal := strings.TrimPrefix(pattern, "./")
		if !strings.ContainsAny(literal, `*?[]{}\`) && literal != "" {
			if _, ok := rules.Match(literal); !ok && !ignoredName(baseName(literal)) {
				t.Fatalf("glob %q does not match itself", pattern)
			}
		}
	})
}

// FuzzGitignore parses a .gitignore and matches a path with it: no panic,
// and a line that is a plain name ignores exactly that name at any depth.
func FuzzGitignore(f *testing.F) {
	for _, seed := range []struct {
		content, path string
		isDir         bool
	}{
		{"*.log\n!keep.log\n", "a/keep.log", false}, {"/build/\n", "build", true}, {"doc/frotz\n", "doc/frotz", false},
		{"**/foo\n", "x/y/foo", false}, {"abc/**\n", "abc/x", true}, {"a/**/b\n", "a/x/y/b", false},
		{"\\#x\n\\!y\nz\\ \n", "z ", false}, {"[[:digit:]]x\n[!a-c]\n[]]\n", "7x", false}, {"x\r\n   \n#c\n", "x", false},
		{"*a*b*c*d*e*f*g\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}, {"[", "[", false}, {"\\", "", false},
		{"node_modules", "web/node_modules", true},
	} {
		f.Add(seed.content, seed.path, seed.isDir)
	}
	f.Fuzz(func(t *testing.T, content, path string, isDir bool) {
		g := ParseGitignore([]byte(content))
		g.Match(path, isDir)
		var s ignoreSet
		s.set("", []byte(content))
		s.ignored(path, isDir)
		if name := strings.TrimSpace(content); name != "" && isPlainName(name) {
			if ign, ok := ParseGitignore([]byte(name)).Match("some/dir/"+name, false); !ign || !ok {
				t.Fatalf("%q does not ignore some/dir/%s", name, name)
			}
			if ign, _ := ParseGitignore([]byte(name)).Match(name+"x", false); ign {
				t.Fatalf("%q ignores %sx", name, name)
			}
		}
	})
}

// isPlainName reports whether s is a name with no gitignore syntax in it.
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return s[0] != '.' || len(s) > 1
}

// escapeMountinfo escapes a field as the kernel does in mountinfo.
func escapeMountinfo(s string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(s)
}

// FuzzMountinfoLine parses a mountinfo line: no panic, and what it gives
// survives being written back the kernel's way and parsed again.
func FuzzMountinfoLine(f *testing.F) {
	samples, _ := filepath.Glob("testdata/mountinfo-*.txt")
	for _, name := range samples {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			f.Add(line)
		}
	}
	for _, line := range []string{
		"36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
		`1 0 0:1 / /a\040b\011c\012d\134e rw - ext4 x rw`, "1 0 0:1 / /x rw - tmpfs  rw", `1 0 0:1 / /a\477 rw - ext4 x rw`,
		"1 0 0:1 / /x rw a b c d e f g - fuse.sshfs h:/ rw", "- - - - - - - - -", "1 1 1 1 /", "",
	} {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := parseMountinfoLine(line)
		if err != nil {
			if !errors.Is(err, errBadMountinfo) {
				t.Fatalf("error %v, want errBadMountinfo", err)
			}
			return
		}
		if !strings.HasPrefix(m.Point, "/") || m.FSType == "" {
			t.Fatalf("parsed %+v from %q: mount point not absolute or no type", m, line)
		}
		again := "7 1 0:9 / " + escapeMountinfo(m.Point) + " rw shared:1 - " + escapeMountinfo(m.FSType) + " " +
			escapeMountinfo(m.Source) + " rw"
		m2, err := parseMountinfoLine([]byte(again))
		if err != nil || m2 != m {
			t.Fatalf("round trip of %q through %q (-want +got):\n-%+v\n+%+v, %v", line, again, m, m2, err)
		}
		mountFor([]mountEntry{m}, m.Point)
		polledMountsBelow([]mountEntry{m}, "/")
		PollsFSType(m.FSType)
	})
}
