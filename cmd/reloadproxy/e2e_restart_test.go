package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests of proxy mode: the built binary runs, restarts and
// stops real backends while real clients use it (issue 3).
//
// Files a backend writes for the test (its pids, its starts) live in a
// second temporary directory: the proxy watches its working directory, and
// a backend writing there would restart itself forever.

// echoBody is what testdata/echo.py answers to GET.
const echoBody = "hello from echo.py\n"

// restartTimeout bounds the wait for one restart of a Python backend. It is
// generous: the machine may be busy with other tests.
const restartTimeout = 20 * time.Second

var resolvePython = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	return strings.TrimSpace(string(out)), err
})

// pythonExe returns the python3 interpreter itself. A version manager's
// python3 (pyenv) is a shell script that adds 250 ms to every start, which
// would make the tests slow and the figures meaningless.
func pythonExe(t *testing.T) string {
	t.Helper()
	py := requireTool(t, "python3")
	exe, err := resolvePython()
	if err != nil || exe == "" {
		t.Logf("cannot ask python3 for sys.executable (%v): using %s", err, py)
		return py
	}
	return exe
}

// echoPy returns the absolute path of testdata/echo.py.
func echoPy(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "echo.py"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// changeFile writes a file in the watched directory: one change.
func changeFile(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(time.Now().String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// outputCount counts want in reloadproxy's output so far.
func outputCount(p *proc, want string) int { return strings.Count(p.out.String(), want) }

// sendRequest does one request and reads the whole answer.
func sendRequest(client *http.Client, method, url, accept string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// freshClient opens a new connection for every request.
func freshClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// getFresh fetches url on a fresh connection and fails the test on a
// transport error.
func getFresh(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	resp, body, err := sendRequest(freshClient(), "GET", url, accept, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, string(body)
}

// procStat is the part of /proc/PID/stat the tests look at.
type procStat struct {
	state           byte // R, S, D, Z, X...
	ppid, pgrp, sid int
}

// readProcStat reads /proc/PID/stat: "pid (comm) state ppid pgrp session
// ...", where comm may hold spaces and parentheses.
func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return procStat{}, false
	}
	st := procStat{state: f[0][0]}
	st.ppid, _ = strconv.Atoi(string(f[1]))
	st.pgrp, _ = strconv.Atoi(string(f[2]))
	st.sid, _ = strconv.Atoi(string(f[3]))
	return st, true
}

// markEnv is set, with a value unique to the test, in the environment of
// reloadproxy, and so of every process it starts and their descendants: it
// finds them wherever they end up, and tells them from a later process that
// reuses one of their pids.
const markEnv = "RELOADPROXY_E2E_MARK"

// setMark gives the processes the test starts from now on a unique mark.
// Whatever carries it when the test ends is killed, so that a failing test
// leaves nothing behind either.
func setMark(t *testing.T) string {
	mark := markEnv + "=" + strconv.FormatInt(time.Now().UnixNano(), 36) + t.Name()
	t.Setenv(markEnv, strings.TrimPrefix(mark, markEnv+"="))
	t.Cleanup(func() {
		for _, pid := range markedPids(mark) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return mark
}

// hasMark reports whether pid's environment holds mark. A zombie has none.
// An environment that cannot be read counts as marked: never call a live
// process gone.
func hasMark(pid int, mark string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		// ESRCH: a kernel thread; EACCES: not ours (pid 1 of a container).
		return !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ESRCH) && !errors.Is(err, os.ErrPermission)
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == mark {
			return true
		}
	}
	return false
}

// procAlive reports whether pid is a live process (not a zombie) of this test.
func procAlive(pid int, mark string) bool {
	st, ok := readProcStat(pid)
	if !ok || st.state == 'Z' || st.state == 'X' {
		return false
	}
	return hasMark(pid, mark)
}

// allPids lists the pids in /proc.
func allPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// markedPids lists every live process, anywhere, that carries mark.
func markedPids(mark string) []int {
	var found []int
	for _, pid := range allPids() {
		if pid != os.Getpid() && procAlive(pid, mark) {
			found = append(found, pid)
		}
	}
	return found
}

// markedProcs describes every live process, anywhere, that carries mark.
func markedProcs(mark string) []string {
	var found []string
	for _, pid := range markedPids(mark) {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		st, _ := readProcStat(pid)
		found = append(found, fmt.Sprintf("pid %d (%s) ppid %d state %c", pid, bytes.TrimSpace(comm), st.ppid, st.state))
	}
	return found
}

// childrenOf lists the live processes whose parent is ppid.
func childrenOf(ppid int) []int {
	var kids []int
	for _, pid := range allPids() {
		if st, ok := readProcStat(pid); ok && st.ppid == ppid && st.state != 'Z' {
			kids = append(kids, pid)
		}
	}
	return kids
}

// spawnedPid is one process a backend generation recorded.
type spawnedPid struct {
	kind string // sh (then the server it execs), child, setsid, orphan
	pid  int
}

// spawningBackend returns a shell script that records, in pidsFile, its own
// pid and those of three sleeps it leaves behind, then execs python's
// http.server: "child" stays in the backend's process group; "setsid" is a
// child of the server in a session of its own, out of reach of a group
// kill; "orphan" is in its own session too and its parent exits at once, so
// it is reparented to the nearest subreaper (reloadproxy).
func spawningBackend(pidsFile, python string, port int) string {
	f := shq(pidsFile)
	return fmt.Sprintf(`echo "sh $$" >> %[1]s
sleep 300 & echo "child $!" >> %[1]s
setsid sleep 300 & echo "setsid $!" >> %[1]s
(setsid sleep 300 & echo "orphan $!" >> %[1]s)
exec %[2]s -m http.server --bind 127.0.0.1 %[3]d`, f, shq(python), port)
}

// readGenerations reads pidsFile: one slice per start of the backend.
func readGenerations(t *testing.T, pidsFile string) [][]spawnedPid {
	t.Helper()
	b, err := os.ReadFile(pidsFile)
	if err != nil {
		t.Fatal(err)
	}
	var gens [][]spawnedPid
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		kind, pidText, ok := strings.Cut(line, " ")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil {
			t.Fatalf("bad line %q in %s", line, pidsFile)
		}
		if kind == "sh" {
			gens = append(gens, nil)
		}
		if len(gens) == 0 {
			t.Fatalf("%s does not start with the sh line:\n%s", pidsFile, b)
		}
		gens[len(gens)-1] = append(gens[len(gens)-1], spawnedPid{kind, pid})
	}
	return gens
}

// checkGeneration waits until the four processes of a running generation
// are alive and where the script put them: the setsid'd ones in sessions of
// their own, the orphan reparented to reloadproxy, the subreaper. Otherwise
// the test would prove nothing.
func checkGeneration(t *testing.T, gen []spawnedPid, mark string, proxyPid int) {
	t.Helper()
	if len(gen) != 4 {
		t.Fatalf("a generation should record 4 processes, got %v", gen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var problems []string
		for _, sp := range gen {
			st, ok := readProcStat(sp.pid)
			switch {
			case !ok || !procAlive(sp.pid, mark):
				problems = append(problems, fmt.Sprintf("%s %d is not running", sp.kind, sp.pid))
			case (sp.kind == "setsid" || sp.kind == "orphan") && st.sid != sp.pid:
				problems = append(problems, fmt.Sprintf("%s %d is not in a session of its own yet (sid %d)", sp.kind, sp.pid, st.sid))
			case sp.kind == "orphan" && st.ppid != proxyPid:
				problems = append(problems, fmt.Sprintf("orphan %d has parent %d, not reloadproxy %d: is reloadproxy a child subreaper?", sp.pid, st.ppid, proxyPid))
			}
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running backend generation is not as the script set it up: %s", strings.Join(problems, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// survivors returns the processes of gens that are still alive.
func survivors(gens [][]spawnedPid, mark string) []string {
	var left []string
	for g, gen := range gens {
		for _, sp := range gen {
			if procAlive(sp.pid, mark) {
				st, _ := readProcStat(sp.pid)
				left = append(left, fmt.Sprintf("generation %d %s pid %d (state %c, ppid %d, sid %d)", g+1, sp.kind, sp.pid, st.state, st.ppid, st.sid))
			}
		}
	}
	return left
}

// TestE2EOriginalTestProcedure automates http-process-proxy's "useful test
// procedure" (its README): a directory listing through the proxy follows
// touch x and rm x.
func TestE2EOriginalTestProcedure(t *testing.T) {
	requireTool(t, "python3")
	dir := t.TempDir()
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", "sh", "-c",
		"sleep 0.1 && exec python3 -m http.server --bind 127.0.0.1 "+backend)
	p.waitOutput("ready in", 1, restartTimeout)

	resp, body := getFresh(t, p.url("/"), "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Directory listing for /") || strings.Contains(body, `href="x"`) {
		t.Fatalf("GET / before touch x: %d\n%s", resp.StatusCode, body)
	}
	// A browser's navigation gets the listing with the reload client.
	resp, body = getFresh(t, p.url("/"), "text/html,application/xhtml+xml")
	if resp.StatusCode != 200 || !strings.Contains(body, "Directory listing for /") || !strings.Contains(body, `<script src="/.reloadproxy/client.js"`) {
		t.Fatalf("GET / as a browser: %d, want the listing with the reload script:\n%s", resp.StatusCode, body)
	}

	f, err := os.Create(filepath.Join(dir, "x")) // touch x
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.waitOutput("ready in", 2, restartTimeout)
	resp, body = getFresh(t, p.url("/"), "")
	if resp.StatusCode != 200 || !strings.Contains(body, `href="x"`) {
		t.Fatalf("GET / after touch x and the restart: %d, want x listed:\n%s", resp.StatusCode, body)
	}

	if err := os.Remove(filepath.Join(dir, "x")); err != nil { // rm x
		t.Fatal(err)
	}
	p.waitOutput("ready in", 3, restartTimeout)
	resp, body = getFresh(t, p.url("/"), "")
	if resp.StatusCode != 200 || strings.Contains(body, `href="x"`) || !strings.Contains(body, "Directory listing for /") {
		t.Fatalf("GET / after rm x and the restart: %d, want x gone:\n%s", resp.StatusCode, body)
	}
	if n := outputCount(p, "restarting: x changed"); n != 2 {
		t.Errorf("want 2 restarts naming x, got %d:\n%s", n, p.out)
	}
}

// spawningProxy is a reloadproxy whose backend leaves processes behind
// (see spawningBackend), ready, with its first generation checked.
type spawningProxy struct {
	p        *proc
	dir      string // the watched directory
	pidsFile string // where each start records its pids
	mark     string
	proxyPid int
	gens     [][]spawnedPid
}

func startSpawningBackend(t *testing.T) spawningProxy {
	t.Helper()
	python := pythonExe(t)
	requireTool(t, "setsid")
	mark := setMark(t)
	dir, state := t.TempDir(), t.TempDir()
	pidsFile := filepath.Join(state, "pids")
	port := freePort(t)
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+strconv.Itoa(port),
		"--exec", "sh", "-c", spawningBackend(pidsFile, python, port))
	proxyPid := p.cmd.Process.Pid
	p.waitOutput("ready in", 1, restartTimeout)
	gens := readGenerations(t, pidsFile)
	checkGeneration(t, gens[0], mark, proxyPid)
	return spawningProxy{p: p, dir: dir, pidsFile: pidsFile, mark: mark, proxyPid: proxyPid, gens: gens}
}

// TestE2ENoProcessLeftBehind: a backend that leaves a grandchild in its
// group, one in a session of its own and an orphan in a session of its own
// loses all of them at each restart and at Ctrl+C.
func TestE2ENoProcessLeftBehind(t *testing.T) {
	sp := startSpawningBackend(t)
	p, dir, pidsFile, mark, proxyPid, gens := sp.p, sp.dir, sp.pidsFile, sp.mark, sp.proxyPid, sp.gens

	for r := 1; r <= 3; r++ {
		changeFile(t, dir, "change"+strconv.Itoa(r))
		p.waitOutput("ready in", r+1, restartTimeout)
		gens = readGenerations(t, pidsFile)
		if len(gens) != r+1 {
			t.Fatalf("after restart %d the backend recorded %d starts, want %d", r, len(gens), r+1)
		}
		// The new generation starts only once the old one is gone with
		// its descendants: no waiting here.
		if left := survivors(gens[:r], mark); len(left) > 0 {
			t.Fatalf("after restart %d, processes of earlier generations are still alive:\n%s\n\nreloadproxy's output:\n%s", r, strings.Join(left, "\n"), p.out)
		}
		checkGeneration(t, gens[r], mark, proxyPid)
	}

	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("reloadproxy did not exit within 10s of SIGINT:\n%s", p.out)
	}
	if p.err != nil {
		t.Errorf("reloadproxy exited with %v after SIGINT, want status 0", p.err)
	}
	if left := survivors(gens, mark); len(left) > 0 {
		t.Errorf("after reloadproxy exited, backend processes are still alive:\n%s", strings.Join(left, "\n"))
	}
	if kids := childrenOf(proxyPid); len(kids) > 0 {
		t.Errorf("processes %v still have reloadproxy's pid %d as their parent", kids, proxyPid)
	}
	if found := markedProcs(mark); len(found) > 0 {
		t.Errorf("processes started under reloadproxy survive it:\n%s", strings.Join(found, "\n"))
	}
}

// TestE2EHammerThroughRestarts: four clients, two on kept-alive connections
// and two opening a connection per request, get every response right while
// the backend restarts 20 times.
func TestE2EHammerThroughRestarts(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	port := freePort(t)
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+strconv.Itoa(port), "--exec", python, echoPy(t), strconv.Itoa(port))
	p.waitOutput("ready in", 1, restartTimeout)

	const restarts = 20
	var (
		requests [4]atomic.Int64
		retries  atomic.Int64 // attempts the Go client made again by itself
		failed   atomic.Int64
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		keepAlive := i < 2
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer client.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var attempts int
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GetConn: func(string) { attempts++ }})
				req, _ := http.NewRequestWithContext(ctx, "GET", p.url("/"), nil)
				resp, err := client.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						err = fmt.Errorf("reading the body of a %d response (%d bytes read, Content-Length %d): %w", resp.StatusCode, len(body), resp.ContentLength, err)
					}
				}
				requests[i].Add(1)
				retries.Add(int64(attempts - 1))
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case resp.StatusCode != 200 || string(body) != echoBody:
					problem = fmt.Sprintf("%d %q", resp.StatusCode, body)
				}
				if problem != "" {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("client %d (keep-alive %v), request %d: %s", i, keepAlive, requests[i].Load(), problem))
					}
					mu.Unlock()
				}
			}
		}()
	}
	func() {
		defer func() { close(stop); wg.Wait() }()
		for r := 1; r <= restarts; r++ {
			changeFile(t, dir, "change"+strconv.Itoa(r))
			p.waitOutput("ready in", r+1, restartTimeout)
			time.Sleep(30 * time.Millisecond) // some traffic while Running, too
		}
	}()

	var total int64
	for i := range requests {
		total += requests[i].Load()
	}
	t.Logf("%d restarts, %d requests (kept-alive %d + %d, fresh connections %d + %d), %d retried by the Go client, %d failed",
		restarts, total, requests[0].Load(), requests[1].Load(), requests[2].Load(), requests[3].Load(), retries.Load(), failed.Load())
	for i := range requests {
		if requests[i].Load() == 0 {
			t.Errorf("client %d made no request", i)
		}
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed; the first ones:\n%s", n, total, strings.Join(failures, "\n"))
	}
}

// TestE2EPostDuringRestart: a POST that arrives while the backend is being
// killed, or while the new one is loading, waits and reaches the new
// backend whole.
func TestE2EPostDuringRestart(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+port, "--exec", "sh", "-c",
		"sleep 0.3; exec "+shq(python)+" "+shq(echoPy(t))+" "+port)
	p.waitOutput("ready in", 1, restartTimeout)

	post := func(when string, readyBefore int) {
		t.Helper()
		payload := make([]byte, 200<<10)
		rand.Read(payload)
		if n := outputCount(p, "ready in"); n != readyBefore {
			t.Fatalf("%s: the new backend was ready before the POST was sent (%d× ready), the test did not test anything", when, n)
		}
		resp, body, err := sendRequest(freshClient(), "POST", p.url("/echo"), "", payload)
		if err != nil {
			t.Fatalf("POST %s: %v", when, err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(body, payload) {
			t.Fatalf("POST %s: status %d, %d bytes back (identical: %v), want 200 and the %d bytes sent:\n%s",
				when, resp.StatusCode, len(body), bytes.Equal(body, payload), len(payload), p.out)
		}
		// Only the new backend was there to answer (the old one was
		// killed); its ready line may still be on its way through the pipe.
		p.waitOutput("ready in", readyBefore+1, 5*time.Second)
	}

	// Killing: the proxy closes idle kept-alive connections when the
	// backend leaves Running; that close says the restart has begun.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	changeFile(t, dir, "a")
	if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the idle kept-alive connection was not closed when the restart began: read %d bytes, %v", n, err)
	}
	post("sent as the restart began (Killing)", 1)

	// Loading: the new process started and sleeps 0.3 s before its server.
	changeFile(t, dir, "b")
	p.waitOutput("restarting:", 2, restartTimeout)
	post("sent in Loading", 2)
}

// TestE2EUnusedConnectionSurvivesRestart: a connection that is open but
// has not sent its first request yet (a client between connect and write, a
// browser's preconnect) is not closed by a restart: its request waits for
// the new backend like any other. Only connections that served a request
// are idle keep-alive connections (DESIGN.md, "States", Killing); clients
// retry a request on those, but not on a connection they just opened.
func TestE2EUnusedConnectionSurvivesRestart(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	port := freePort(t)
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+strconv.Itoa(port), "--exec", python, echoPy(t), strconv.Itoa(port))
	p.waitOutput("ready in", 1, restartTimeout)

	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the proxy accept it
	changeFile(t, dir, "a")
	p.waitOutput("restarting:", 1, restartTimeout) // the proxy went through Killing

	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, werr := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the first request on a connection opened before the restart: write: %v, read: %v (the proxy closed the unused connection when the backend left Running)", werr, err)
	}
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != echoBody || err != nil {
		t.Fatalf("got %d %q %v, want 200 %q", resp.StatusCode, body, err, echoBody)
	}
}

// TestE2ECrashPageThenFix: a backend that exits by itself gives browsers
// and other clients a 503 that explains it, and the app comes back when the
// fix is saved.
func TestE2ECrashPageThenFix(t *testing.T) {
	python := pythonExe(t)
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	script := `if [ -e broken ]; then echo "Traceback: boom <script>" >&2; exit 3; fi; exec ` + python + ` -m http.server --bind 127.0.0.1 ` + port
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+port, "--exec", "sh", "-c", script)
	p.waitOutput("ready in", 1, restartTimeout)

	changeFile(t, dir, "broken")
	p.waitOutput("sh exited with status 3", 1, restartTimeout)
	cmdline := "sh -c " + shq(script) // as the page shows it, ready to paste in a shell

	resp, body := getFresh(t, p.url("/"), "text/html,application/xhtml+xml,*/*;q=0.8")
	ctype, cache := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control")
	if resp.StatusCode != 503 || !strings.HasPrefix(ctype, "text/html") || cache != "no-store" {
		t.Errorf("browser: status %d, Content-Type %q, Cache-Control %q; want 503, text/html, no-store", resp.StatusCode, ctype, cache)
	}
	for _, want := range []string{
		"sh exited with status 3",
		html.EscapeString(cmdline),
		"Traceback: boom &lt;script&gt;",
		`<script src="/.reloadproxy/client.js"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("browser: the page lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(strings.ToLower(body), "<script"); n != 1 {
		t.Errorf("browser: the page has %d <script tags, want only the reload client's:\n%s", n, body)
	}

	resp, body = getFresh(t, p.url("/"), "")
	ctype, cache = resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control")
	if resp.StatusCode != 503 || !strings.HasPrefix(ctype, "text/plain") || cache != "no-store" {
		t.Errorf("plain client: status %d, Content-Type %q, Cache-Control %q; want 503, text/plain, no-store", resp.StatusCode, ctype, cache)
	}
	for _, want := range []string{"sh exited with status 3", cmdline, "Traceback: boom <script>"} {
		if !strings.Contains(body, want) {
			t.Errorf("plain client: the answer lacks %q:\n%s", want, body)
		}
	}

	if err := os.Remove(filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	p.waitOutput("ready in", 2, restartTimeout)
	resp, body = getFresh(t, p.url("/"), "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Directory listing for /") {
		t.Fatalf("after rm broken: %d, want the app back:\n%s", resp.StatusCode, body)
	}
}

// TestE2ERestartStorm: 50 changes within half a second restart the backend
// once, not 50 times.
func TestE2ERestartStorm(t *testing.T) {
	python := pythonExe(t)
	dir, state := t.TempDir(), t.TempDir()
	starts := filepath.Join(state, "starts")
	port := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+port, "--exec", "sh", "-c",
		"echo start >> "+shq(starts)+"; exec "+shq(python)+" -m http.server --bind 127.0.0.1 "+port)
	p.waitOutput("ready in", 1, restartTimeout)

	t0 := time.Now()
	for i := 0; i < 50; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * 9 * time.Millisecond)))
		changeFile(t, dir, fmt.Sprintf("storm%02d", i))
	}
	storm := time.Since(t0)

	// Wait until the proxy is ready after its last restart and has been
	// quiet for 1 s.
	deadline := time.Now().Add(restartTimeout)
	var last string
	var quietSince time.Time
	for {
		restarts, ready := outputCount(p, "restarting:"), outputCount(p, "ready in")
		now := fmt.Sprint(restarts, ready)
		if now != last {
			last, quietSince = now, time.Now()
		}
		if restarts >= 1 && ready == restarts+1 && time.Since(quietSince) >= time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy did not settle (ready after its last restart, then quiet for 1s):\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := os.ReadFile(starts)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(b), "\n")
	t.Logf("50 changes in %v: the backend started %d times (%d restarts)", storm.Round(time.Millisecond), n, n-1)
	if n > 3 {
		t.Errorf("the backend started %d times for one burst of 50 changes, want at most 3:\n%s", n, p.out)
	}
	if restarts := outputCount(p, "restarting:"); restarts != n-1 {
		t.Errorf("the proxy logged %d restarts, the backend started %d times", restarts, n)
	}
}

// TestE2ESigintEndsEverything: Ctrl+C ends the proxy and every process of
// the backend within 1 s, with status 0.
func TestE2ESigintEndsEverything(t *testing.T) {
	sp := startSpawningBackend(t)
	p, mark, gens := sp.p, sp.mark, sp.gens

	t0 := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT)
	var exitedAfter, goneAfter time.Duration
	for {
		if exitedAfter == 0 {
			select {
			case <-p.exited:
				exitedAfter = time.Since(t0)
			default:
			}
		}
		if goneAfter == 0 && len(survivors(gens, mark)) == 0 {
			goneAfter = time.Since(t0)
		}
		if exitedAfter != 0 && goneAfter != 0 {
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("10s after SIGINT: reloadproxy exited: %v; survivors:\n%s\n\noutput:\n%s",
				exitedAfter != 0, strings.Join(survivors(gens, mark), "\n"), p.out)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("after SIGINT: backend processes gone in %v, reloadproxy exited in %v", goneAfter.Round(100*time.Microsecond), exitedAfter.Round(100*time.Microsecond))
	if end := max(exitedAfter, goneAfter); end > time.Second {
		t.Errorf("reloadproxy and its backend took %v to end after SIGINT, want at most 1s", end)
	}
	if p.err != nil {
		t.Errorf("reloadproxy exited with %v after SIGINT, want status 0:\n%s", p.err, p.out)
	}
	if found := markedProcs(mark); len(found) > 0 {
		t.Errorf("processes started under reloadproxy survive it:\n%s", strings.Join(found, "\n"))
	}
}

// TestE2EExecutableNotFound: a command that does not exist is explained in
// words, and the proxy keeps running, ready for a fix.
func TestE2EExecutableNotFound(t *testing.T) {
	dir := t.TempDir()
	p := startReloadproxy(t, dir, "LISTEN", strconv.Itoa(freePort(t)), "--exec", "no-such-program-xyz")
	check := func(when string) {
		t.Helper()
		for _, accept := range []string{"", "text/html"} {
			resp, body := getFresh(t, p.url("/"), accept)
			low := strings.ToLower(body)
			if resp.StatusCode != 503 || !strings.Contains(low, "not found") || !strings.Contains(body, "no-such-program-xyz") {
				t.Fatalf("%s, Accept %q: status %d, want 503 saying no-such-program-xyz was not found:\n%s", when, accept, resp.StatusCode, body)
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s: reloadproxy exited (%v):\n%s", when, p.err, p.out)
		default:
		}
	}
	check("at start")
	p.waitOutput("Executable not found: no-such-program-xyz", 1, restartTimeout)

	// A change tries again, and the proxy is still there.
	changeFile(t, dir, "x")
	p.waitOutput("Executable not found: no-such-program-xyz", 2, restartTimeout)
	check("after a change")
}
