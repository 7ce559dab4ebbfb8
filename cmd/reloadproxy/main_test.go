package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestRestartLoopWarningQuotesForShell: the -x that the restart-loop
// warning suggests is pasted into a shell, so the suggestion, read by sh,
// must give exactly the glob that matches the path alone, whatever
// characters the path holds.
func TestRestartLoopWarningQuotesForShell(t *testing.T) {
	tests := []struct {
		name, path, glob string
	}{
		{"plain", "state/started.txt", "state/started.txt"},
		{"apostrophe and glob characters", "it's [1]*.txt", `it's \[1\]\*.txt`},
		{"apostrophes only", "''", "''"},
		{"apostrophe at the end", "logs/today'", "logs/today'"},
		{"shell expansions stay text", "$HOME $(id) `id` ~/x", "$HOME $(id) `id` ~/x"},
		{"double quotes and braces", `"a" {b,c}`, `"a" \{b,c\}`},
		{"backslash", `back\slash`, `back\\slash`},
		{"bang and question mark", "!why?", `\!why\?`},
		{"leading dash", "-rf", "-rf"},
		{"newline", "two\nlines", "two\nlines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := restartLoopWarning(tt.path)
			_, suggestion, ok := strings.Cut(msg, "exclude it: -x ")
			if !ok {
				t.Fatalf("no -x suggestion in %q", msg)
			}
			out, err := exec.Command("sh", "-c", "printf %s "+suggestion).CombinedOutput()
			if err != nil {
				t.Fatalf("sh cannot read the suggestion -x %s: %v: %s", suggestion, err, out)
			}
			if string(out) != tt.glob {
				t.Errorf("sh reads the suggestion -x %s as %q, want %q", suggestion, out, tt.glob)
			}
		})
	}
}

// TestProgramExcludes: with --build, --exec's program under a watched root
// is never a trigger, given as a path whether or not it exists yet (the
// build may create it), or as a bare name found in PATH. Without --build it
// is a file like any other.
func TestProgramExcludes(t *testing.T) {
	root := t.TempDir()
	writeProject(t, root, map[string]string{"tools/myserver": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(root, "tools", "myserver"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Join(root, "tools"))
	tests := []struct {
		name    string
		program string
		watch   []string
		want    []string // with --build; without it, nothing is excluded
	}{
		{"relative path, not built yet", "./app", []string{"."}, []string{"app"}},
		{"relative path in a subdirectory, not built yet", "bin/app", []string{"."}, []string{"bin/app"}},
		{"absolute path, not built yet", filepath.Join(root, "bin", "app"), []string{root}, []string{"bin/app"}},
		{"glob characters are escaped", filepath.Join(root, "[x]", "app*"), []string{root}, []string{`\[x\]/app\*`}},
		{"under two watched roots", filepath.Join(root, "bin", "app"), []string{root, filepath.Join(root, "bin")}, []string{"bin/app", "app"}},
		{"outside the watched roots", "/usr/bin/env", []string{root}, nil},
		{"bare name found in PATH", "myserver", []string{root}, []string{"tools/myserver"}},
		{"bare name not in PATH", "no-such-program-xyz", []string{root}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{o: &Options{Mode: ProxyMode, Command: []string{tt.program}, Watch: tt.watch, Build: "make"}}
			if got := a.programExcludes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("with --build: programExcludes() = %q, want %q", got, tt.want)
			}
			a.o.Build = ""
			if got := a.programExcludes(); got != nil {
				t.Errorf("without --build: programExcludes() = %q, want none", got)
			}
		})
	}
}

// TestBuildLoopWarning: the warning for a path that cancels the build it
// is written by suggests the -x for it and for its directory, each one
// word that sh reads back as the glob matching exactly that path.
func TestBuildLoopWarning(t *testing.T) {
	tests := []struct {
		path      string
		globs     []string
		wantWords string
	}{
		{"out/app.py", []string{"out/app.py", "out"}, "exclude it: -x 'out/app.py' (or its directory: -x 'out')"},
		{"app", []string{"app"}, "exclude it: -x 'app'"},
		{"target/debug/it's [1]", []string{`target/debug/it's \[1\]`, "target/debug"}, ""},
	}
	suggestion := regexp.MustCompile(`-x ('(?:[^']|'\\'')*')`)
	for _, tt := range tests {
		msg := buildLoopWarning(tt.path, false)
		if tt.wantWords != "" && !strings.Contains(msg, tt.wantWords) {
			t.Errorf("buildLoopWarning(%q) = %q, want it to contain %q", tt.path, msg, tt.wantWords)
		}
		var got []string
		for _, m := range suggestion.FindAllStringSubmatch(msg, -1) {
			out, err := exec.Command("sh", "-c", "printf %s "+m[1]).CombinedOutput()
			if err != nil {
				t.Fatalf("sh cannot read -x %s: %v: %s", m[1], err, out)
			}
			got = append(got, string(out))
		}
		if strings.Join(got, "|") != strings.Join(tt.globs, "|") {
			t.Errorf("buildLoopWarning(%q) = %q: sh reads the suggestions as %q, want %q", tt.path, msg, got, tt.globs)
		}
	}
	if msg := buildLoopWarning("src/gen", true); !strings.Contains(msg, "files in src/gen changed") || !strings.HasSuffix(msg, "exclude the directory: -x 'src/gen'") {
		t.Errorf("buildLoopWarning for a directory = %q", msg)
	}
}
