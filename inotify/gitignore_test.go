package inotify

import (
	"testing"
)

func TestWildmatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		text    string
		want    bool
	}{
		{"literal", "foo", "foo", true},
		{"literal mismatch", "foo", "bar", false},
		{"star", "*.o", "a.o", true},
		{"star not slash", "*.o", "a/b.o", false},
		{"star empty", "a*", "a", true},
		{"question", "a?c", "abc", true},
		{"question not slash", "a?c", "a/c", false},
		{"class", "[abc]x", "bx", true},
		{"class range", "[a-c]x", "dx", false},
		{"class negated bang", "[!a]x", "bx", true},
		{"class negated caret", "[^a]x", "ax", false},
		{"class never slash", "a[!b]c", "a/c", false},
		{"class bracket first literal", "[]]", "]", true},
		{"posix class", "[[:digit:]]x", "7x", true},
		{"posix class miss", "[[:upper:]]x", "ax", false},
		{"unclosed class never matches", "[ab", "a", false},
		{"escape star", `\*`, "*", true},
		{"escape star literal only", `\*`, "a", false},
		{"trailing backslash", `a\`, "a", false},
		{"leading starstar zero", "**/foo", "foo", true},
		{"leading starstar deep", "**/foo", "a/b/foo", true},
		{"trailing starstar", "foo/**", "foo/a/b", true},
		{"trailing starstar not dir", "foo/**", "foo", false},
		{"middle starstar zero", "a/**/b", "a/b", true},
		{"middle starstar many", "a/**/b", "a/x/y/b", true},
		{"middle starstar no partial", "a/**/b", "a/xb", false},
		{"starstar not segment is star", "a**b", "a/b", false},
		{"starstar not segment matches", "a**b", "axxb", true},
		{"star slash", "*/b", "a/b", true},
		{"star slash not deeper", "*/b", "a/c/b", false},
		{"backtracking", "*a*b", "xaxxaxb", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wildmatch(tt.pattern, tt.text); got != tt.want {
				t.Errorf("wildmatch(%q, %q) (-want +got):\n-%t\n+%t", tt.pattern, tt.text, tt.want, got)
			}
		})
	}
}

func TestGitignoreMatch(t *testing.T) {
	tests := []struct {
		name    string
		content string
		path    string
		isDir   bool
		want    bool // ignored
	}{
		{"basename any depth", "*.log\n", "a/b/x.log", false, true},
		{"comment", "#x\n", "#x", false, false},
		{"escaped hash", "\\#x\n", "#x", false, true},
		{"blank lines", "\n\n*.o\n\n", "a.o", false, true},
		{"trailing spaces ignored", "x.txt   \n", "x.txt", false, true},
		{"escaped trailing space kept", "x\\ \n", "x ", false, true},
		{"escaped trailing space literal", "x\\ \n", "x", false, false},
		{"crlf", "x.txt\r\n", "x.txt", false, true},
		{"negation", "*.log\n!keep.log\n", "keep.log", false, false},
		{"escaped bang literal", "\\!x\n", "!x", false, true},
		{"later rule overrides", "!a.txt\na.txt\n", "a.txt", false, true},
		{"dir only matches dir", "build/\n", "build", true, true},
		{"dir only skips file", "build/\n", "build", false, false},
		{"dir only any depth", "build/\n", "x/build", true, true},
		{"leading slash anchors", "/todo\n", "todo", false, true},
		{"leading slash not deeper", "/todo\n", "a/todo", false, false},
		{"middle slash anchors", "doc/frotz\n", "a/doc/frotz", false, false},
		{"middle slash at base", "doc/frotz\n", "doc/frotz", false, true},
		{"leading starstar", "**/foo\n", "x/y/foo", false, true},
		{"starstar slash name", "**/foo/bar\n", "x/foo/bar", false, true},
		{"trailing starstar", "abc/**\n", "abc/x/y", false, true},
		{"middle starstar", "a/**/b\n", "a/x/b", false, true},
		{"only spaces", "   \n", "x", false, false},
		{"bare bang ignored", "!\n", "x", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ParseGitignore([]byte(tt.content))
			got, _ := g.Match(tt.path, tt.isDir)
			if got != tt.want {
				t.Errorf("%q matching %q dir=%t (-want +got):\n-%t\n+%t", tt.content, tt.path, tt.isDir, tt.want, got)
			}
		})
	}
}

func TestIgnoreSetNested(t *testing.T) {
	s := &ignoreSet{}
	s.set("", []byte("*.log\nbuild/\n/secret\n"))
	s.set("sub", []byte("!important.log\n*.tmp\n"))
	s.set("sub/deep", []byte("*.txt\n"))
	above := &ignoreSet{above: []aboveIgnore{{prefix: "frontend/", g: ParseGitignore([]byte("/frontend/dist/\n*.bak\n"))}}}
	tests := []struct {
		name  string
		set   *ignoreSet
		path  string
		isDir bool
		want  bool
	}{
		{"root rule at depth", s, "a/x.log", false, true},
		{"nested negation overrides root", s, "sub/important.log", false, false},
		{"nested negation only in its dir", s, "other/important.log", false, true},
		{"nested rule only below its dir", s, "x.tmp", false, false},
		{"nested rule applies", s, "sub/a/x.tmp", false, true},
		{"deeper nested", s, "sub/deep/a.txt", false, true},
		{"deeper nested not above", s, "sub/a.txt", false, false},
		{"ignored dir", s, "build", true, true},
		{"file in ignored dir stays ignored", s, "build/keep.log", false, true},
		{"file in ignored dir, plain name", s, "a/build/main.go", false, true},
		{"anchored to its file", s, "secret", false, true},
		{"anchored not deeper", s, "sub/secret", false, false},
		{"not ignored", s, "src/main.go", false, false},
		{"gitignore above the root anchored", above, "dist", true, true},
		{"gitignore above the root file in dir", above, "dist/app.js", false, true},
		{"gitignore above the root basename", above, "x/a.bak", false, true},
		{"gitignore above the root miss", above, "src/a.js", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.ignored(tt.path, tt.isDir); got != tt.want {
				t.Errorf("ignored(%q, %t) (-want +got):\n-%t\n+%t", tt.path, tt.isDir, tt.want, got)
			}
		})
	}
}

func FuzzWildmatch(f *testing.F) {
	f.Add("a/**/b*[!x]?", "a/c/bd_y")
	f.Add("[[:alpha:]-z]\\", "q")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		wildmatch(pattern, text) // must not panic or hang
	})
}
