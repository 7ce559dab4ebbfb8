//go:build linux

package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildDir is a project whose build the test steers through files: the
// build records its pid (its process group id) in pgids, prints the
// version, sleeps for the seconds in sleep if that file exists, fails with
// the status in fail if that file exists, and else copies version to out,
// which the backend ("serve -content out") answers with.
type buildDir struct {
	t   *testing.T
	dir string
}

func newBuildDir(t *testing.T, version string) *buildDir {
	t.Helper()
	b := &buildDir{t: t, dir: t.TempDir()}
	b.write("version", version)
	return b
}

func (b *buildDir) path(name string) string { return filepath.Join(b.dir, name) }

func (b *buildDir) write(name, content string) {
	b.t.Helper()
	if err := os.WriteFile(b.path(name), []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *buildDir) remove(name string) {
	b.t.Helper()
	if err := os.Remove(b.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.t.Fatal(err)
	}
}

// script is Config.Build.
func (b *buildDir) script() string {
	return strings.ReplaceAll(`d='DIR'
echo $$ >> "$d/pgids"
v=$(cat "$d/version")
echo "building version $v"
if [ -f "$d/sleep" ]; then sleep "$(cat "$d/sleep")"; fi
if [ -f "$d/fail" ]; then echo "error: version $v does not compile" >&2; exit "$(cat "$d/fail")"; fi
cp "$d/version" "$d/out"`, "DIR", b.dir)
}

// pgids returns the process group ids of the builds so far, oldest first.
func (b *buildDir) pgids() []int {
	data, _ := os.ReadFile(b.path("pgids"))
	var ids []int
	for _, f := range strings.Fields(string(data)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.t.Fatalf("pgids: %q", data)
		}
		ids = append(ids, n)
	}
	return ids
}

// waitBuilds waits until n builds have started.
func (b *buildDir) waitBuilds(n int, timeout time.Duration) []int {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ids := b.pgids(); len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%d builds started after %v, want %d", len(b.pgids()), timeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// config is a proxy-mode Config whose backend serves out.
func (b *buildDir) config(t *testing.T) Config {
	return Config{
		Addr:     freeAddr(t),
		Command:  helperCommand(t, "serve", "-content", b.path("out")),
		Build:    b.script(),
		Debounce: 20 * time.Millisecond,
	}
}

// pidContent parses the helper's "pid=N content=C" answer.
func pidContent(t *testing.T, body string) (pid int, content string) {
	t.Helper()
	var err error
	f := strings.Fields(body)
	if len(f) != 2 || !strings.HasPrefix(f[0], "pid=") || !strings.HasPrefix(f[1], "content=") {
		t.Fatalf("answer %q, want pid=N content=C", body)
	}
	if pid, err = strconv.Atoi(f[0][len("pid="):]); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return pid, f[1][len("content="):]
}

// The build runs before the first start, in Loading: requests wait for it.
func TestBuildBeforeFirstStart(t *testing.T) {
	b := newBuildDir(t, "v1")
	b.write("sleep", "0.3")
	cfg := b.config(t)
	r := start(t, cfg)
	b.waitBuilds(1, 5*time.Second)
	if st := r.State(); st != Loading {
		t.Errorf("State during the first build = %v, want Loading", st)
	}
	if _, _, err := routeWithin(r.Supervisor, 100*time.Millisecond); err != errTimeout {
		t.Errorf("Route returned during the first build, want it to wait")
	}
	rt, _, err := routeWithin(r.Supervisor, 10*time.Second)
	if err != nil || rt.Failure != nil || rt.Generation != 1 {
		t.Fatalf("Route after the build = %+v (err %v), want generation 1 running", rt, err)
	}
	if c := r.rec.waitReadyCall(time.Second); c != (readyCall{1, Started}) {
		t.Errorf("OnReady%+v, want {1 started}", c)
	}
	if _, content := pidContent(t, get(t, cfg.Addr)); content != "v1" {
		t.Errorf("backend serves %q, want the build's v1", content)
	}
	if len(r.rec.buildsStart) != 1 {
		t.Errorf("OnBuildStarted called %d times, want 1", len(r.rec.buildsStart))
	}
	log := r.rec.logText()
	okLine := regexp.MustCompile(`info: build ok in \d+\.\d s`).FindStringIndex(log)
	iOK := -1
	if okLine != nil {
		iOK = okLine[0]
	}
	iBuild, iStart := strings.Index(log, "info: building: d="), strings.Index(log, "info: starting: ")
	if iBuild < 0 || iOK < iBuild || iStart < iOK {
		t.Errorf("log lacks building, build ok in N.N s, starting, in that order:\n%s", log)
	}
	if !strings.Contains(r.rec.out.String(), "building version v1\n") {
		t.Errorf("the build's output did not pass through: %q", r.rec.out.String())
	}
}

// The first build fails: Error with a 503 naming the command, showing the
// build's output; a change rebuilds and the backend starts.
func TestFirstBuildFailsThenFixed(t *testing.T) {
	b := newBuildDir(t, "v1")
	b.write("fail", "2")
	pidfile := filepath.Join(b.dir, "pids")
	cfg := b.config(t)
	cfg.Command = helperCommand(t, "serve", "-content", b.path("out"), "-pidfile", pidfile)
	r := start(t, cfg)
	if g := r.rec.waitError(10 * time.Second); g != 1 {
		t.Errorf("OnError(%d), want 1", g)
	}
	rt, _, err := routeWithin(r.Supervisor, time.Second)
	if err != nil || rt.Failure == nil {
		t.Fatalf("Route in Error = %+v (err %v), want the build failure at once", rt, err)
	}
	f := rt.Failure
	if f.Status != 503 || f.Title != "build failed (exit 2)" {
		t.Errorf("Failure %d %q, want 503 \"build failed (exit 2)\"", f.Status, f.Title)
	}
	if !strings.Contains(f.Detail, b.script()) {
		t.Errorf("Detail does not name the build command: %q", f.Detail)
	}
	if out := string(f.Output); !strings.Contains(out, "building version v1\n") || !strings.Contains(out, "error: version v1 does not compile\n") {
		t.Errorf("Output lacks the build's output:\n%s", out)
	}
	if r.State() != Error {
		t.Errorf("State = %v, want Error", r.State())
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Errorf("the backend started although its build failed")
	}
	if n := len(r.rec.buildsFailed); n != 0 {
		t.Errorf("OnBuildFailed called %d times with no backend to keep: the page shows the failure", n)
	}
	if log := r.rec.logText(); !regexp.MustCompile(`error: build failed \(exit 2\) in \d+\.\d s`).MatchString(log) {
		t.Errorf("log lacks 'build failed (exit 2) in N.N s':\n%s", log)
	}

	b.remove("fail")
	b.write("version", "v2")
	r.Changed("main.c")
	if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
		t.Errorf("OnReady%+v after the fix, want {2 restart}", c)
	}
	if _, content := pidContent(t, get(t, cfg.Addr)); content != "v2" {
		t.Errorf("backend serves %q, want v2", content)
	}
}

// Running + change: the build runs while the old backend keeps serving,
// requests are not held; a failure keeps the same process and reports the
// build; the next good build swaps servers.
func TestBuildFailureKeepsOldServer(t *testing.T) {
	b := newBuildDir(t, "v1")
	cfg := b.config(t)
	r := start(t, cfg)
	r.rec.waitReady(10 * time.Second)
	pid1, _ := pidContent(t, get(t, cfg.Addr))

	b.write("version", "v2")
	b.write("sleep", "0.6")
	b.write("fail", "3")
	r.Changed("main.go")
	b.waitBuilds(2, 5*time.Second)
	// During the build: Running, Route answers at once, the same process
	// answers requests.
	for range 3 {
		if st := r.State(); st != Running {
			t.Errorf("State during the build = %v, want Running", st)
		}
		rt, waited, err := routeWithin(r.Supervisor, time.Second)
		// The build sleeps 0.6 s: an answer within 0.3 s was not held.
		if err != nil || rt.Failure != nil || rt.Generation != 1 || waited > 300*time.Millisecond {
			t.Errorf("Route during the build = %+v after %v (err %v), want generation 1 at once", rt, waited, err)
		}
		if pid, _ := pidContent(t, get(t, cfg.Addr)); pid != pid1 {
			t.Errorf("pid %d answers during the build, want the old %d", pid, pid1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bf := r.rec.waitBuildFailed(10 * time.Second)
	if bf.Command != cfg.Build || bf.ExitStatus != 3 || bf.Exit != "exit 3" || bf.Duration < 500*time.Millisecond ||
		!strings.Contains(string(bf.Output), "error: version v2 does not compile") {
		t.Errorf("BuildFailure %+v (output %q), want exit 3 after the 0.6s sleep with the error line", bf, bf.Output)
	}
	if st := r.State(); st != Running {
		t.Errorf("State after the failed build = %v, want Running", st)
	}
	if pid, content := pidContent(t, get(t, cfg.Addr)); pid != pid1 || content != "v1" {
		t.Errorf("after the failed build pid %d serves %q, want the old %d with v1", pid, content, pid1)
	}
	if n := len(r.rec.leaves); n != 0 {
		t.Errorf("OnLeaveRunning called %d times, want none", n)
	}
	r.rec.noReady(100 * time.Millisecond)
	if log := r.rec.logText(); !regexp.MustCompile(`error: build failed \(exit 3\) in \d+\.\d s`).MatchString(log) {
		t.Errorf("log lacks the build failure line:\n%s", log)
	}

	b.remove("fail")
	b.remove("sleep")
	r.Changed("main.go")
	if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
		t.Errorf("OnReady%+v after the good build, want {2 restart}", c)
	}
	if pid, content := pidContent(t, get(t, cfg.Addr)); pid == pid1 || content != "v2" {
		t.Errorf("after the good build pid %d serves %q, want a new process with v2", pid, content)
	}
	select {
	case <-r.rec.leaves:
	default:
		t.Errorf("OnLeaveRunning not called for the swap")
	}
}

// A change during a build cancels it: its whole group is gone (and reaped)
// before the next build starts, it is not reported, and only the latest
// build's result runs. A burst of changes runs one build.
func TestChangeDuringBuildCancelsIt(t *testing.T) {
	b := newBuildDir(t, "v1")
	cfg := b.config(t)
	cfg.Debounce = 50 * time.Millisecond
	r := start(t, cfg)
	r.rec.waitReady(10 * time.Second)

	b.write("version", "v2")
	b.write("sleep", "30")
	r.Changed("a.go")
	slow := b.waitBuilds(2, 5*time.Second)[1]
	// Its sleep runs in its group.
	deadline := time.Now().Add(5 * time.Second)
	for len(groupMembers(slow)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow build's group has %d members, want its sleep too", len(groupMembers(slow)))
		}
		time.Sleep(time.Millisecond)
	}

	b.remove("sleep")
	b.write("version", "v3")
	for i := range 10 { // a burst of saves
		r.Changed(fmt.Sprintf("b%d.go", i))
		time.Sleep(5 * time.Millisecond)
	}
	b.waitBuilds(3, 5*time.Second)
	if err := syscall.Kill(-slow, 0); err != syscall.ESRCH {
		t.Errorf("kill(-%d, 0) = %v when the next build started, want ESRCH: the cancelled group is still there: %+v", slow, err, groupMembers(slow))
	}
	if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{2, Restart}) {
		t.Errorf("OnReady%+v, want {2 restart}", c)
	}
	if _, content := pidContent(t, get(t, cfg.Addr)); content != "v3" {
		t.Errorf("backend serves %q, want the latest build's v3", content)
	}
	time.Sleep(200 * time.Millisecond)
	if ids := b.pgids(); len(ids) != 3 {
		t.Errorf("%d builds, want 3: the first, the cancelled one and one for the burst", len(ids))
	}
	if n := len(r.rec.buildsFailed); n != 0 {
		t.Errorf("the cancelled build was reported as failed (%d OnBuildFailed)", n)
	}
	log := r.rec.logText()
	if !strings.Contains(log, "info: build cancelled: b0.go changed\n") {
		t.Errorf("log lacks 'build cancelled: b0.go changed':\n%s", log)
	}
	if strings.Contains(log, "build failed") {
		t.Errorf("log reports a failure for the cancelled build:\n%s", log)
	}
	if n := strings.Count(log, "info: build ok in"); n != 2 {
		t.Errorf("%d 'build ok' lines, want 2:\n%s", n, log)
	}
}

// Error (the backend crashed) + change: build; a failure stays in Error
// with the build's output as the page, announced with a new generation; a
// success starts the backend.
func TestBuildInError(t *testing.T) {
	b := newBuildDir(t, "v1")
	marker := filepath.Join(b.dir, "crashed")
	cfg := b.config(t)
	cfg.Command = helperCommand(t, "serve", "-content", b.path("out"), "-crashonce", marker)
	r := start(t, cfg)
	if g := r.rec.waitError(10 * time.Second); g != 1 {
		t.Fatalf("OnError(%d) for the crash, want 1", g)
	}
	if f := r.Route().Failure; f == nil || !strings.Contains(f.Title, "exited with status 1") {
		t.Fatalf("Failure %+v, want the crash", f)
	}

	b.write("fail", "4")
	r.Changed("main.go")
	if g := r.rec.waitError(10 * time.Second); g != 2 {
		t.Errorf("OnError(%d) for the failed build, want 2 (a new generation for the new page)", g)
	}
	f := r.Route().Failure
	if f == nil || f.Status != 503 || f.Title != "build failed (exit 4)" || !strings.Contains(string(f.Output), "does not compile") {
		t.Fatalf("Failure %+v, want the build failure with its output", f)
	}
	if r.State() != Error {
		t.Errorf("State = %v, want Error", r.State())
	}

	b.remove("fail")
	b.write("version", "v2")
	r.Changed("main.go")
	if c := r.rec.waitReadyCall(10 * time.Second); c != (readyCall{3, Restart}) {
		t.Errorf("OnReady%+v, want {3 restart}", c)
	}
	if _, content := pidContent(t, get(t, cfg.Addr)); content != "v2" {
		t.Errorf("backend serves %q, want v2", content)
	}
}

// A build killed by a signal is described by its signal.
func TestBuildKilledBySignal(t *testing.T) {
	r := start(t, Config{Build: `echo about to crash; kill -SEGV $$`})
	r.rec.waitReady(5 * time.Second) // static mode: the first generation
	r.Changed("x")
	bf := r.rec.waitBuildFailed(5 * time.Second)
	if bf.Exit != "killed by SIGSEGV" || bf.ExitStatus != -1 || !strings.Contains(string(bf.Output), "about to crash") {
		t.Errorf("BuildFailure %+v, want killed by SIGSEGV, status -1, with its output", bf)
	}
	if log := r.rec.logText(); !regexp.MustCompile(`error: build failed \(killed by SIGSEGV\) in \d+\.\d s`).MatchString(log) {
		t.Errorf("log lacks the signal:\n%s", log)
	}
}

// Attach mode with a build: the user's server keeps answering during the
// build; success probes and announces a new generation (Change); failure
// reports the build and changes nothing.
func TestAttachWithBuild(t *testing.T) {
	ln := listenLoopback(t)
	answerEach(ln, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	b := newBuildDir(t, "v1")
	b.write("sleep", "1")
	r := start(t, Config{Addr: ln.Addr().String(), Build: b.script(), Debounce: 10 * time.Millisecond, FirstGeneration: 7})
	if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{7, Started}) {
		t.Fatalf("OnReady%+v, want {7 started}", c)
	}
	if ids := b.pgids(); len(ids) != 0 {
		t.Errorf("%d builds before any change, want none in attach mode", len(ids))
	}
	r.Changed("app.js")
	b.waitBuilds(1, 5*time.Second)
	if rt, waited, err := routeWithin(r.Supervisor, 2*time.Second); err != nil || rt.Failure != nil || waited > 300*time.Millisecond {
		t.Errorf("Route during the build (which sleeps 1 s) = %+v after %v (err %v), want the server at once", rt, waited, err)
	}
	if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{8, Change}) {
		t.Errorf("OnReady%+v after the build, want {8 change}", c)
	}

	b.write("fail", "1")
	r.Changed("app.js")
	bf := r.rec.waitBuildFailed(5 * time.Second)
	if bf.ExitStatus != 1 {
		t.Errorf("BuildFailure %+v, want exit 1", bf)
	}
	if st := r.State(); st != Running {
		t.Errorf("State = %v after a failed build, want Running", st)
	}
	r.rec.noReady(200 * time.Millisecond)
	if rt := r.Route(); rt.Generation != 8 || rt.Failure != nil {
		t.Errorf("Route = %+v, want generation 8 running", rt)
	}
}

// Static mode with a build: success is a new generation (Change), failure
// is reported and is not one.
func TestStaticWithBuild(t *testing.T) {
	b := newBuildDir(t, "v1")
	r := start(t, Config{Build: b.script(), FirstGeneration: 100})
	if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{100, Started}) {
		t.Fatalf("OnReady%+v at the start, want {100 started}", c)
	}
	r.Changed("index.md")
	if c := r.rec.waitReadyCall(5 * time.Second); c != (readyCall{101, Change}) {
		t.Errorf("OnReady%+v after a good build, want {101 change}", c)
	}
	if data, _ := os.ReadFile(b.path("out")); string(data) != "v1" {
		t.Errorf("build output %q, want v1", data)
	}
	b.write("fail", "5")
	r.Changed("index.md")
	if bf := r.rec.waitBuildFailed(5 * time.Second); bf.ExitStatus != 5 {
		t.Errorf("BuildFailure %+v, want exit 5", bf)
	}
	r.rec.noReady(200 * time.Millisecond)
	if st, g := r.State(), r.Route().Generation; st != Running || g != 101 {
		t.Errorf("State %v generation %d after a failed build, want Running 101", st, g)
	}
}

// A request that waits longer than ReadyTimeout for a first build gets a
// 502 that says the build is still running, with its output so far. In
// attach mode a build does not hold requests: the 502 is about the server.
func TestReadyTimeoutDuringBuild(t *testing.T) {
	b := newBuildDir(t, "v1")
	b.write("sleep", "30")
	cfg := b.config(t)
	cfg.ReadyTimeout = 200 * time.Millisecond
	r := start(t, cfg)
	rt, _, err := routeWithin(r.Supervisor, 5*time.Second)
	if err != nil || rt.Failure == nil {
		t.Fatalf("Route = %+v (err %v), want a 502 after ReadyTimeout", rt, err)
	}
	f := rt.Failure
	// The build's first line may come after the timeout on a loaded
	// machine: a later Route shows the output as it is then.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(string(f.Output), "building version v1") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if rt, _, err := routeWithin(r.Supervisor, 5*time.Second); err == nil && rt.Failure != nil {
			f = rt.Failure
		}
	}
	if f.Status != 502 || f.Title != "The build is still running after 200ms" || !strings.Contains(f.Detail, b.script()) ||
		!strings.Contains(string(f.Output), "building version v1") {
		t.Errorf("Failure %d %q %q, output %q: want the 502 of a running build with its output", f.Status, f.Title, f.Detail, f.Output)
	}

	a := start(t, Config{Addr: freeAddr(t), Build: "sleep 30", ReadyTimeout: 200 * time.Millisecond})
	a.rec.waitLog("waiting for a server at", 5*time.Second) // the loop runs: the change is not taken for the first start's
	a.Changed("app.js")
	a.rec.waitLog("building: sleep 30", 5*time.Second)
	rt, _, err = routeWithin(a.Supervisor, 5*time.Second)
	if err != nil || rt.Failure == nil || rt.Failure.Status != 502 || !strings.HasPrefix(rt.Failure.Title, "Nothing is answering at ") {
		t.Errorf("attach-mode Route during a build = %+v (err %v), want the 502 about the server", rt.Failure, err)
	}
}

// cancelBuildsBy runs a backend whose builds sleep and cancels one build
// after another, each by a change of the next path made while it sleeps;
// then it lets a build finish and waits for the backend. hook, if not nil,
// is Config.OnBuildLoop. It returns the run, to read its log.
func cancelBuildsBy(t *testing.T, hook func(path string, isDir bool), paths ...string) *running {
	t.Helper()
	b := newBuildDir(t, "v1")
	cfg := b.config(t)
	cfg.Debounce = 20 * time.Millisecond
	cfg.OnBuildLoop = hook
	r := start(t, cfg)
	r.rec.waitReady(10 * time.Second)

	b.write("sleep", "0.5")
	r.Changed(paths[0]) // starts the first build to cancel
	builds := 2
	for _, p := range paths[1:] {
		b.waitBuilds(builds, 5*time.Second)
		r.Changed(p) // while that build sleeps
		builds++
	}
	b.remove("sleep")
	b.waitBuilds(builds, 5*time.Second)
	r.rec.waitReadyCall(10 * time.Second)
	return r
}

// A path whose changes cancel three builds in a row as they run (a build
// that writes into a watched directory) is reported once; other paths'
// cancels in between start the count again.
func TestBuildLoopWarned(t *testing.T) {
	r := cancelBuildsBy(t, nil, "src/a.go", "out/app.py", "out/app.py", "src/a.go", "out/app.py", "out/app.py", "out/app.py", "out/app.py")
	log := r.rec.logText()
	if n := strings.Count(log, "builds in a row were cancelled by changes of"); n != 1 ||
		!strings.Contains(log, "warn: 3 builds in a row were cancelled by changes of out/app.py as they ran") {
		t.Errorf("%d build-loop warnings, want one for out/app.py:\n%s", n, log)
	}
}

// Builds cancelled in a row by different files of one directory (a build
// writing several files, or names that change each time, as webpack's
// hot-update files) are reported with the directory; files of different
// directories are not.
func TestBuildLoopWarnedForADirectory(t *testing.T) {
	var loops []string
	var mu sync.Mutex
	cancelBuildsBy(t, func(path string, isDir bool) {
		mu.Lock()
		defer mu.Unlock()
		loops = append(loops, fmt.Sprintf("%s dir=%v", path, isDir))
	}, "src/a.go", "src/a.go", "lib/b.go", "src/c.go", "gen/main.1.hot-update.json", "gen/main.2.hot-update.json", "gen/main.3.hot-update.json")
	mu.Lock()
	defer mu.Unlock()
	if len(loops) != 1 || loops[0] != "gen dir=true" {
		t.Errorf("OnBuildLoop calls %q, want one for the directory gen", loops)
	}
}
