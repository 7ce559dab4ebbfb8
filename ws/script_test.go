package ws

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestScriptTag(t *testing.T) {
	want := `<script src="/.reloadproxy/client.js" async></script>`
	if got := string(ScriptTag()); got != want {
		t.Errorf("ScriptTag: -want +got\n-%s\n+%s", want, got)
	}
	if !bytes.Equal(ScriptTag(), ScriptTag()) || len(ScriptTag()) != len(want) {
		t.Error("ScriptTag is not constant")
	}
}

func TestScriptsContent(t *testing.T) {
	tests := []struct {
		name   string
		script []byte
		want   []string
	}{
		{"client.js", ClientScript(), []string{"/.reloadproxy/ws", "location.reload()", "sessionStorage"}},
		{"livereload.js", LiveReloadScript(), []string{"/livereload", liveReloadProtocol, "location.reload()"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The client carries the build-failure overlay and its ANSI
			// colours: 12 KiB as served (comments and indentation dropped).
			if len(tt.script) == 0 || len(tt.script) > 12<<10 {
				t.Errorf("size %d bytes", len(tt.script))
			}
			for _, w := range tt.want {
				if !bytes.Contains(tt.script, []byte(w)) {
					t.Errorf("does not contain %q", w)
				}
			}
			for _, bad := range []string{"console.", "=>", "`", "let ", "const "} {
				if bytes.Contains(tt.script, []byte(bad)) {
					t.Errorf("contains %q (silent ES5 only)", bad)
				}
			}
			// Text from the server (paths, build output) is never parsed as
			// HTML.
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if bytes.Contains(tt.script, []byte(bad)) {
					t.Errorf("contains %q", bad)
				}
			}
		})
	}
}

func TestCompact(t *testing.T) {
	src := "// What this is.\n// Second line.\n(function () {\n  // a comment\n  var a = 1; // kept: not a whole line\n\n\t  var re = /\\/\\//;\n    return a\n})();\n// trailing\n"
	want := "// What this is.\n// Second line.\n(function () {\nvar a = 1; // kept: not a whole line\nvar re = /\\/\\//;\nreturn a\n})();\n"
	if got := string(compact([]byte(src))); got != want {
		t.Errorf("compact: -want +got\n-%q\n+%q", want, got)
	}
	for name, src := range map[string][]byte{"client.js": clientSource, "livereload.js": liveReloadSource} {
		served := withCommon(src)
		if got, full := len(compact(served)), len(served); got > full*3/4 {
			t.Errorf("%s: served %d bytes of %d", name, got, full)
		}
	}
}

// TestScriptsBehaviour runs the embedded clients, as served, in Node with a
// fake browser (testdata/harness.js): reconnect backoff, reload on a changed
// generation, reload kinds against each framework's own client, the badge,
// the build-failure overlay (text only, ANSI colours, dismissal, scrolling),
// the stylesheet swap, and silence.
func TestScriptsBehaviour(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is required in CI (.ci/run installs it): %v", err)
		}
		t.Skip("node not installed")
	}
	// The harness runs the scripts as served, common.js included.
	dir := t.TempDir()
	for file, src := range map[string][]byte{"client.js": ClientScript(), "livereload.js": LiveReloadScript()} {
		if bytes.Contains(src, []byte("/* common.js */")) || !bytes.Contains(src, []byte("function reloadCSS(")) || !bytes.Contains(src, []byte("function keepConnected(")) {
			t.Fatalf("%s is not assembled with common.js", file)
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(file, func(t *testing.T) {
			out, err := exec.Command(node, "testdata/harness.js", path).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "ok" {
				t.Errorf("harness: %v\n%s", err, out)
			}
		})
	}
}
