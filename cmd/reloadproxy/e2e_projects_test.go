package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the end-to-end tests that run real projects behind the binary:
// a Go or Rust server rebuilt by --build, Django, Flask, Express and Vite
// (e2e_build_test.go, e2e_overlay_test.go, e2e_framework_test.go,
// e2e_watch_test.go). The commands those tests run are the README's, in
// "Build step" and "With your framework", with only ports and paths
// filled in; each test names the README line it covers.

// projectTimeout bounds one rebuild or restart of a real project (a Go or
// Rust build, a Django start) on a busy two-core machine.
const projectTimeout = 60 * time.Second

// writeProject writes files (name → content) under dir, creating
// directories.
func writeProject(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitBody fetches url on fresh connections until the body contains want,
// and returns that body. Error pages and transport errors are retried.
func waitBody(t testing.TB, p *proc, url, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, body, err := sendRequest(freshClient(), "GET", url, "", nil)
		if err == nil {
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
			if resp.StatusCode == 200 && strings.Contains(string(body), want) {
				return string(body)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 with %q within %v; last: %s\nproxy output:\n%s", url, want, timeout, last, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get200 fetches url once and fails unless the answer is 200.
func get200(t testing.TB, p *proc, url string) string {
	t.Helper()
	resp, body, err := sendRequest(freshClient(), "GET", url, "", nil)
	if err != nil {
		t.Fatalf("GET %s: %v\nproxy output:\n%s", url, err, p.out)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s\nproxy output:\n%s", url, resp.StatusCode, body, p.out)
	}
	return string(body)
}

// starts counts the backend starts reloadproxy logged: the first
// ("starting:") and every restart ("restarting:").
func starts(p *proc) int {
	return outputCount(p, "reloadproxy: starting: ") + outputCount(p, "reloadproxy: restarting: ")
}

// matchOutput waits until reloadproxy's output matches re n times.
func matchOutput(t testing.TB, p *proc, re string, n int, timeout time.Duration) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for len(rx.FindAllString(p.out.String(), -1)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %d× /%s/ in the output:\n%s", timeout, n, re, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stayedQuiet checks for d that reloadproxy starts no backend and logs no
// build beyond what it had when called.
func stayedQuiet(t testing.TB, p *proc, d time.Duration) {
	t.Helper()
	before, builds := starts(p), outputCount(p, "reloadproxy: building: ")
	time.Sleep(d)
	if got := starts(p); got != before {
		t.Fatalf("%d backend start(s) within %v, want none\nproxy output:\n%s", got-before, d, p.out)
	}
	if got := outputCount(p, "reloadproxy: building: "); got != builds {
		t.Fatalf("%d build(s) within %v, want none\nproxy output:\n%s", got-builds, d, p.out)
	}
}

// testdataModules returns the absolute path of testdata/NAME/node_modules,
// which .ci/run installs with npm ci. Without it the test is skipped on a
// developer's machine and fails in CI.
func testdataModules(t testing.TB, name string) string {
	t.Helper()
	requireTool(t, "node")
	dir, err := filepath.Abs(filepath.Join("testdata", name, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (.ci/run runs npm ci there): %v", dir, err)
		}
		t.Skipf("%s is missing: run npm ci in testdata/%s", dir, name)
	}
	return dir
}

// linkModules makes dir/node_modules a symlink to testdata/NAME/node_modules,
// so that a project written to a temporary directory resolves its packages
// (reloadproxy never watches node_modules).
func linkModules(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.Symlink(testdataModules(t, name), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
}

// groupGone reports whether no process is left in process group pgid.
func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// pythonWith returns an interpreter that can import module: python3 on
// PATH (resolved past a version manager's shim), else Debian's
// /usr/bin/python3, which has python3-django and python3-flask. Without one
// the test is skipped locally and fails in CI.
func pythonWith(t testing.TB, module string) string {
	t.Helper()
	var tried []string
	candidates := []string{"/usr/bin/python3"}
	if exe, err := resolvePython(); err == nil && exe != "" {
		candidates = append([]string{exe}, candidates...)
	}
	for _, py := range candidates {
		if err := exec.Command(py, "-c", "import "+module).Run(); err == nil {
			return py
		}
		tried = append(tried, py)
	}
	msg := fmt.Sprintf("no Python that can import %s (tried %s)", module, strings.Join(tried, ", "))
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; .ci/run installs Debian's python3-" + module)
	}
	t.Skip(msg)
	return ""
}
