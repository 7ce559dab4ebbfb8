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
			if len(tt.script) == 0 || len(tt.script) > 8<<10 {
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
		})
	}
}

// TestScriptsBehaviour runs the embedded clients in Node with a fake
// browser (testdata/harness.js): reconnect backoff, reload on a changed
// generation, the badge, the stylesheet swap, and silence.
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
