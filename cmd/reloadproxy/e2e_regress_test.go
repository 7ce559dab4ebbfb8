package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Regressions: two bugs found while writing the build and framework tests.

// TestE2EGoBuildProbeDoesNotCancelBuild: `--build 'go build -o app .' -x app
// --exec ./app`: go build creates and removes app-go-tmp-umask beside its
// output to learn the umask; that is not an edit, and must not cancel the
// build that makes it.
func TestE2EGoBuildProbeDoesNotCancelBuild(t *testing.T) {
	requireTool(t, "go")
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"go.mod": goModule, "main.go": goServer("version 1", "")})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--build", "go build -o app .", "-x", "app", "--exec", "./app")
	p.waitOutput("ready in", 1, projectTimeout)
	writeProject(t, dir, map[string]string{"main.go": goServer("version 2", "")})
	waitBody(t, p, p.url("/"), "<h1>version 2</h1>", projectTimeout)
	if n := outputCount(p, "build cancelled"); n != 0 {
		t.Fatalf("%d build(s) cancelled with no edit during them (want 0):\n%s", n, p.out)
	}
}

// TestE2EDirectoryRenameHonoursPatterns: with -p 'vite.config.*' (only a
// top-level file can match), renaming a directory that can hold no
// matching file restarts nothing (Vite's .vite/deps_temp_* → .vite/deps).
func TestE2EDirectoryRenameHonoursPatterns(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"index.html": "v1\n"})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+backend, "-p", "vite.config.*",
		"--exec", python, "-m", "http.server", "--bind", "127.0.0.1", backend)
	p.waitOutput("ready in", 1, restartTimeout)
	writeProject(t, dir, map[string]string{".cache/deps_temp/chunk.js": "x\n"})
	time.Sleep(300 * time.Millisecond)
	if err := os.Rename(filepath.Join(dir, ".cache/deps_temp"), filepath.Join(dir, ".cache/deps")); err != nil {
		t.Fatal(err)
	}
	stayedQuiet(t, p, 1500*time.Millisecond)
}
