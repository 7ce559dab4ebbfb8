package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The build step (--build) through the binary, with real compilers: a Go
// server rebuilt by `go build`, a Rust one by `cargo build`, and a static
// site by `npm run build` (that one in e2e_overlay_test.go, in Chromium).

// goModule is the go.mod of the Go servers the tests build.
const goModule = "module app\n\ngo 1.22\n"

// goServer is the main.go of a tiny net/http server that answers every
// request with its version and its pid, on $PORT: what the README's
// `--exec bin/app` runs. extra is added to the file, to break the build.
func goServer(version, extra string) string {
	return `package main

import (
	"fmt"
	"net/http"
	"os"
)

const version = "` + version + `"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>app</title></head><body><h1>%s</h1><p>pid %d</p></body></html>\n", version, os.Getpid())
	})
	fmt.Println("app", version, "listening on", os.Getenv("PORT"))
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
` + extra
}

// pidOf extracts the server's pid from a goServer page.
func pidOf(t *testing.T, body string) int {
	t.Helper()
	m := regexp.MustCompile(`pid (\d+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no pid in %q", body)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// TestE2EBuildGo runs the README's Go example of "Build step":
//
//	reloadproxy 8000 8001 --build 'go build -o bin/app .' -x bin --exec bin/app
//
// The first start builds; an edit rebuilds and the new version serves; a
// SIGHUP rebuilds and restarts without an edit; a compile error keeps the
// old server answering with the same page (same pid) while the compiler's
// message is in the output; fixing it serves the fix.
func TestE2EBuildGo(t *testing.T) {
	requireTool(t, "go")
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"go.mod": goModule, "main.go": goServer("version 1", "")})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--build", "go build -o bin/app .", "-x", "bin", "--exec", "bin/app")

	// The first start builds.
	p.waitOutput("ready in", 1, projectTimeout)
	p.waitOutput("reloadproxy: building: go build -o bin/app .", 1, time.Second)
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 1, time.Second)
	v1 := get200(t, p, p.url("/"))
	if !strings.Contains(v1, "<h1>version 1</h1>") {
		t.Fatalf("first page %q", v1)
	}

	// An edit rebuilds, and the new program serves.
	writeProject(t, dir, map[string]string{"main.go": goServer("version 2", "")})
	v2 := waitBody(t, p, p.url("/"), "<h1>version 2</h1>", projectTimeout)
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 2, time.Second)
	if pidOf(t, v2) == pidOf(t, v1) {
		t.Fatalf("version 2 is served by the old pid %d", pidOf(t, v1))
	}

	// SIGHUP: rebuild and restart by hand, no file touched.
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitOutput("SIGHUP: rebuilding and restarting by hand", 1, 5*time.Second)
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 3, projectTimeout)
	p.waitOutput("restarting: restart requested", 1, projectTimeout)
	p.waitOutput("ready in", 3, projectTimeout)
	hup := get200(t, p, p.url("/"))
	if !strings.Contains(hup, "<h1>version 2</h1>") || pidOf(t, hup) == pidOf(t, v2) {
		t.Fatalf("after SIGHUP: %q, want version 2 from a new pid (was %d)", hup, pidOf(t, v2))
	}

	// A compile error: the old server keeps serving the same page, and
	// the compiler's message is in reloadproxy's output.
	startsBefore := starts(p)
	writeProject(t, dir, map[string]string{"main.go": goServer("version 3", "var broken = notDefinedAnywhere\n")})
	matchOutput(t, p, `reloadproxy: error: build failed \(exit 1\) in \d+\.\d s\n`, 1, projectTimeout)
	p.waitOutput("undefined: notDefinedAnywhere", 1, time.Second)
	for i := 0; i < 3; i++ {
		if got := get200(t, p, p.url("/")); got != hup {
			t.Fatalf("after a failed build the page is %q, want the old server's %q", got, hup)
		}
	}
	if starts(p) != startsBefore {
		t.Fatalf("a failed build restarted the server:\n%s", p.out)
	}

	// The fix serves.
	writeProject(t, dir, map[string]string{"main.go": goServer("version 4", "")})
	waitBody(t, p, p.url("/"), "<h1>version 4</h1>", projectTimeout)
	if n := outputCount(p, "build cancelled"); n != 0 {
		t.Fatalf("%d build(s) cancelled without an edit during them:\n%s", n, p.out)
	}
}

// TestE2EBuildCancelledByEdit: an edit during a slow build cancels it (its
// whole process group is gone) and the latest edit is what runs. The build
// is the README's `go build -o bin/app .` behind a script that records its
// process group and sleeps while a marker file outside the project exists.
func TestE2EBuildCancelledByEdit(t *testing.T) {
	requireTool(t, "go")
	dir, side := t.TempDir(), t.TempDir()
	pgids, slow := filepath.Join(side, "pgids"), filepath.Join(side, "slow")
	writeProject(t, dir, map[string]string{"go.mod": goModule, "main.go": goServer("version 1", "")})
	backend := strconv.Itoa(freePort(t))
	build := "echo $$ >> " + shq(pgids) + "; if [ -e " + shq(slow) + " ]; then sleep 60; fi; go build -o bin/app ."
	p := startReloadproxy(t, dir, "LISTEN", backend, "--build", build, "-x", "bin", "--exec", "bin/app")
	p.waitOutput("ready in", 1, projectTimeout)
	waitBody(t, p, p.url("/"), "<h1>version 1</h1>", time.Second)

	// A slow build of version 2.
	writeProject(t, side, map[string]string{"slow": ""})
	writeProject(t, dir, map[string]string{"main.go": goServer("version 2", "")})
	slowPgid := waitPgid(t, p, pgids, 2)
	if groupGone(slowPgid) {
		t.Fatalf("the slow build's group %d is gone before the next edit:\n%s", slowPgid, p.out)
	}

	// Version 3 while it sleeps: it is cancelled, and version 3 serves.
	if err := os.Remove(slow); err != nil {
		t.Fatal(err)
	}
	writeProject(t, dir, map[string]string{"main.go": goServer("version 3", "")})
	p.waitOutput("reloadproxy: build cancelled: main.go changed", 1, 10*time.Second)
	// Well before the slow build would have ended.
	waitBody(t, p, p.url("/"), "<h1>version 3</h1>", 30*time.Second)
	if !groupGone(slowPgid) {
		t.Fatalf("the cancelled build's process group %d is still there", slowPgid)
	}
	// Two builds ran to their end: the first and version 3's.
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 2, time.Second)
	if n := outputCount(p, "build ok in"); n != 2 {
		t.Fatalf("%d builds succeeded, want 2 (version 2's was cancelled):\n%s", n, p.out)
	}
}

// waitPgid waits until the build script has recorded n process groups in
// file and returns the nth.
func waitPgid(t *testing.T, p *proc, file string, n int) int {
	t.Helper()
	deadline := time.Now().Add(projectTimeout)
	for {
		if f, err := os.Open(file); err == nil {
			var lines []string
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			f.Close()
			if len(lines) >= n {
				pgid, err := strconv.Atoi(strings.TrimSpace(lines[n-1]))
				if err != nil || pgid <= 1 {
					t.Fatalf("bad pgid %q in %s", lines[n-1], file)
				}
				return pgid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %d did not start within %v:\n%s", n, projectTimeout, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rustServer is src/main.rs of a tiny HTTP server on std alone (no crate
// to download): it answers every request with its version and pid.
func rustServer(version string) string {
	return `use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn main() {
    let port = std::env::var("PORT").expect("PORT");
    let listener = TcpListener::bind(format!("127.0.0.1:{}", port)).expect("bind");
    println!("app listening on {}", port);
    for stream in listener.incoming() {
        let mut stream = match stream { Ok(s) => s, Err(_) => continue };
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = false;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 { break; }
            if line.starts_with("HEAD ") { head = true; }
            if line == "\r\n" || line == "\n" { break; }
        }
        let body = format!("<h1>` + version + `</h1><p>pid {}</p>\n", std::process::id());
        let mut out = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        if !head { out.push_str(&body); }
        let _ = stream.write_all(out.as_bytes());
    }
}
`
}

// TestE2EBuildRust runs the README's Rust example of "Build step":
//
//	reloadproxy 8000 8001 --build 'cargo build' -x target --exec ./target/debug/app
//
// on a crate with no dependencies (nothing to download): the first start
// builds, an edit rebuilds and serves, a compile error keeps the old
// server and shows rustc's message.
func TestE2EBuildRust(t *testing.T) {
	requireTool(t, "cargo")
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{
		"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
		"src/main.rs": rustServer("version 1"),
	})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--build", "cargo build", "-x", "target", "--exec", "./target/debug/app")
	p.waitOutput("ready in", 1, 2*projectTimeout)
	waitBody(t, p, p.url("/"), "<h1>version 1</h1>", time.Second)

	writeProject(t, dir, map[string]string{"src/main.rs": rustServer("version 2")})
	v2 := waitBody(t, p, p.url("/"), "<h1>version 2</h1>", projectTimeout)

	startsBefore := starts(p)
	writeProject(t, dir, map[string]string{"src/main.rs": rustServer("version 3") + "fn broken() -> u32 { not_defined_anywhere }\n"})
	matchOutput(t, p, `reloadproxy: error: build failed \(exit 101\) in \d+\.\d s\n`, 1, projectTimeout)
	p.waitOutput("not_defined_anywhere", 1, time.Second)
	if got := get200(t, p, p.url("/")); got != v2 {
		t.Fatalf("after a failed build the page is %q, want the old server's %q", got, v2)
	}
	if starts(p) != startsBefore {
		t.Fatalf("a failed build restarted the server:\n%s", p.out)
	}
	// The first build writes Cargo.lock, a change during that build: it
	// is cancelled once and built again. Nothing else was: two successful
	// builds in all so far.
	if n := outputCount(p, "build ok in"); n != 2 {
		t.Fatalf("%d successful builds, want 2:\n%s", n, p.out)
	}
}

// TestE2EBadDirectories: a --root or -w that is not a directory is the
// user's mistake, told before anything starts, with exit status 2 like every
// other bad argument: none exists (and no build makes it), it is a file, it
// is empty, or the build that would make --root has only that missing root
// to watch. A --root that a build makes is fine: see
// TestE2EBuildStaticOutputNeverTriggers.
func TestE2EBadDirectories(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"server.js": "x\n", "src/index.html": "<h1>app</h1>\n"})
	backend := strconv.Itoa(freePort(t))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"root missing", []string{"--root", "missing"}, `--root "missing": no such directory`},
		{"root missing, absolute", []string{"--root", "/nonexistent-reloadproxy-test"}, `--root "/nonexistent-reloadproxy-test": no such directory`},
		{"root a file", []string{"--root", "server.js"}, `--root "server.js": not a directory`},
		{"root empty", []string{"--root", ""}, "--root needs a directory, such as --root public"},
		{"root made by the build is the only watched directory", []string{"--root", "dist", "--build", "true", "-w", "dist"},
			`--root "dist" does not exist yet: the build makes it, so watch the sources it is built from with -w (for example -w src)`},
		{"watch missing", []string{"-w", "/nonexistent-reloadproxy-test"}, `--watch "/nonexistent-reloadproxy-test": no such directory`},
		{"watch a file", []string{"-w", "server.js"}, `--watch "server.js": not a directory (watch the directory that holds it; -p picks files)`},
		{"watch under a file", []string{"-w", "server.js/sub"}, `--watch "server.js/sub": not a directory`},
		{"watch empty", []string{"-w", ""}, "--watch needs a directory, such as --watch src"},
		{"watch missing among others, attach mode", []string{"-w", "src", "-w", "missing", backend}, `--watch "missing": no such directory`},
		{"watch missing, proxy mode", []string{"-w", "missing", backend, "--exec", "sh", "-c", "touch started; sleep 60"}, `--watch "missing": no such directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each must exit at once; one that serves instead is killed.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, append([]string{"--livereload-port", "0", "127.0.0.1:0"}, tt.args...)...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("want exit status 2, got %v:\n%s", err, out)
			}
			first, _, _ := strings.Cut(string(out), "\n")
			if first != "reloadproxy: "+tt.want {
				t.Errorf("first line %q, want %q", first, "reloadproxy: "+tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				t.Errorf("the backend was started:\n%s", out)
			}
		})
	}
}

// TestE2EBuildStaticOutputNeverTriggers runs the issue's own static-site
// command, `reloadproxy LISTEN --root dist --build CMD` with no -w: the
// project is watched, and what the build writes into dist is not a change
// (it would start the next build, without end). An edit in src builds once.
func TestE2EBuildStaticOutputNeverTriggers(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"src/page.html": "<p>one</p>\n"})
	p := startReloadproxy(t, dir, "LISTEN", "--root", "dist", "--build", "mkdir -p dist && cp src/page.html dist/index.html && date +%s%N > dist/stamp")
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 1, 10*time.Second)
	stayedQuiet(t, p, time.Second)

	writeProject(t, dir, map[string]string{"src/page.html": "<p>two</p>\n"})
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 2, 10*time.Second)
	stayedQuiet(t, p, time.Second)
	resp, err := http.Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<p>two</p>") {
		t.Errorf("GET / after the edit: %d %q", resp.StatusCode, body)
	}
}

// TestE2EBuildCreatesExecProgram: a build that creates --exec's program,
// on a fresh checkout where the program does not exist yet, runs once and
// starts the server. The program lies in the watched directory and is never
// a trigger (README, "Never a trigger"), even though it did not exist when
// reloadproxy started: writing it must not cancel the build that writes it.
// An edit then rebuilds and restarts once.
func TestE2EBuildCreatesExecProgram(t *testing.T) {
	python := pythonExe(t)
	backend := "127.0.0.1:" + strconv.Itoa(freePort(t))
	script := []string{"#!/bin/sh", "exec " + shq(python) + ` -m http.server --bind 127.0.0.1 "$PORT"`}
	tests := []struct {
		name    string
		files   map[string]string
		build   string
		program string
	}{
		{"program in the project", nil,
			"printf '%s\\n' " + shq(script[0]) + " " + shq(script[1]) + " > app && chmod +x app", "./app"},
		{"program in a subdirectory", map[string]string{"app.src": strings.Join(script, "\n") + "\n", "bin/README": "the build writes app here\n"},
			"cp app.src bin/app && chmod +x bin/app", "bin/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeProject(t, dir, map[string]string{"index.html": "<h1>one</h1>\n"})
			writeProject(t, dir, tt.files)
			p := startReloadproxy(t, dir, "LISTEN", backend, "--build", tt.build, "--exec", tt.program)
			p.waitOutput("ready in", 1, restartTimeout)
			if body := get200(t, p, p.url("/index.html")); body != "<h1>one</h1>\n" {
				t.Fatalf("page %q", body)
			}

			writeProject(t, dir, map[string]string{"index.html": "<h1>two</h1>\n"})
			p.waitOutput("ready in", 2, restartTimeout)
			stayedQuiet(t, p, time.Second)
			if n := outputCount(p, "build cancelled"); n != 0 {
				t.Fatalf("%d build(s) cancelled with no edit during them (want 0):\n%s", n, p.out)
			}
			if n := outputCount(p, "build ok in"); n != 2 {
				t.Fatalf("%d successful builds, want 2 (the first and the edit's):\n%s", n, p.out)
			}
		})
	}
}

// TestE2EBuildStaticFirstBuildPages: in static mode, while the first build
// has yet to make --root, requests get a 503 saying so rather than a 404;
// when that build fails, a 503 with its output (README, "Build step": with
// no old server, a 503 page with that output); once a build made --root,
// the files.
func TestE2EBuildStaticFirstBuildPages(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{
		"src/a.txt": "version 1\n",
		"build.sh":  "sleep 2; echo 'src/a.txt:1: syntax error' >&2; exit 1\n",
	})
	p := startReloadproxy(t, dir, "LISTEN", "--root", "dist", "-w", "src", "--build", "sh build.sh")
	p.waitOutput("reloadproxy: --root dist does not exist yet: building it", 1, 5*time.Second)
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(p.url("/a.txt"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	if status, body := get(); status != 503 || !strings.Contains(body, "sh build.sh") {
		t.Errorf("during the first build: %d %q, want a 503 naming the build", status, body)
	}
	p.waitOutput("reloadproxy: error: build failed (exit 1)", 1, 10*time.Second)
	// The page changes just after the log line: wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status, body := get()
		if status == 503 && strings.Contains(body, "build failed (exit 1)") && strings.Contains(body, "src/a.txt:1: syntax error") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the failed build: %d %q, want a 503 with the build's output", status, body)
		}
	}

	writeProject(t, dir, map[string]string{"build.sh": "mkdir -p dist && cp src/a.txt dist/a.txt\n"})
	writeProject(t, dir, map[string]string{"src/a.txt": "version 2\n"})
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 1, 10*time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status, body := get()
		if status == 200 && body == "version 2\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the build made --root: %d %q, want the file", status, body)
		}
	}
}

// TestE2EBuildLoopWarning: a build that writes into a watched directory,
// not excluded, cancels itself over and over; the third cancel in a row
// by the same path is reported with the -x that ends it.
func TestE2EBuildLoopWarning(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"src/app.txt": "v1\n"})
	p := startReloadproxy(t, dir, "LISTEN", "--root", "dist", "--build", "mkdir -p out dist && date +%s%N > out/stamp && sleep 1 && cp src/app.txt dist/")
	p.waitOutput("reloadproxy: warning: out/stamp changed as the build ran, cancelling 3 builds in a row. If the build writes it, exclude it: -x 'out/stamp' (or its directory: -x 'out')", 1, 20*time.Second)
}
