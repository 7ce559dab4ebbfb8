package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end proof of DESIGN.md's "Who gets in": the Host allow-list on
// every port and in every mode, the Origin of the reload sockets, error
// pages that show the server's output to this machine only, strict request
// framing and forwarding fields seen byte for byte by a backend, and log
// lines that no file name can forge. httpwire/proxy's unit tests prove the
// same through the package API; these run the built binary with real
// sockets and processes.

// testBackendArg, as the first argument of this test binary, makes it a
// backend for --exec instead of a test run (see runTestBackend): the
// proxy-mode tests need servers that crash, hang or start slowly, and this
// needs neither python nor a build. init runs before TestMain, so the
// backend does not build reloadproxy again.
const testBackendArg = "-reloadproxy-e2e-backend"

func init() {
	if len(os.Args) > 2 && os.Args[1] == testBackendArg {
		os.Exit(runTestBackend(os.Args[2], os.Args[3:]))
	}
}

// testSecret is what the crashing and hanging test backends print: the
// output error pages may show only to this machine.
const testSecret = "SECRET=hunter2"

// testBackendArgv returns the --exec argv that runs this test binary as a
// backend in mode (see runTestBackend).
func testBackendArgv(t testing.TB, mode string, args ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe, testBackendArg, mode}, args...)
}

// runTestBackend is the backend the test binary becomes under --exec:
//
//	crash       prints testSecret and exits with status 3
//	hang        prints testSecret and never listens
//	quiet-exit  prints nothing and exits with status 1
//	serve       [-delay DUR] [-log FILE]: after DUR, an HTTP server on
//	            127.0.0.1:$PORT. FILE gets a line per request ("GET /path
//	            host") and one when the client of /wait or /sse leaves
//	            ("gone /path"). / answers "ok from backend"; /wait answers
//	            nothing until its client leaves; /sse sends one event, then
//	            nothing until its client leaves.
func runTestBackend(mode string, args []string) int {
	switch mode {
	case "crash":
		fmt.Println(testSecret)
		return 3
	case "hang":
		fmt.Println(testSecret)
		time.Sleep(time.Hour) // killed with its process group
		return 0
	case "quiet-exit":
		return 1
	case "serve":
	default:
		fmt.Fprintln(os.Stderr, "unknown test backend mode", mode)
		return 2
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	delay := fs.Duration("delay", 0, "wait this long before listening")
	logPath := fs.String("log", "", "file that gets a line per request")
	if fs.Parse(args) != nil {
		return 2
	}
	time.Sleep(*delay)
	var mu sync.Mutex
	note := func(line string) {
		if *logPath == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(*logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "HEAD" { // the readiness probe
			note(r.Method + " " + r.URL.RequestURI() + " " + r.Host)
		}
		switch r.URL.Path {
		case "/wait":
			<-r.Context().Done()
			note("gone " + r.URL.Path)
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			note("gone " + r.URL.Path)
		default:
			io.WriteString(w, "ok from backend\n")
		}
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// awaitPort waits until addr, another port of p (the LiveReload port,
// opened after LISTEN), accepts connections.
func awaitPort(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, p.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawAnswer is one response read off a raw connection.
type rawAnswer struct {
	status int
	header http.Header
	body   string
	close  bool // the response says Connection: close
	closed bool // the proxy closed the connection after it (checked after Connection: close only)
}

// askRaw sends request, as is, on a new connection to addr and reads one
// response. After Connection: close it also checks that the proxy closes
// the connection.
func askRaw(t *testing.T, addr, request string) rawAnswer {
	t.Helper()
	return askRawFrom(t, nil, addr, request)
}

// askRawFrom is askRaw from a local address (nil: any).
func askRawFrom(t *testing.T, local net.Addr, addr, request string) rawAnswer {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatalf("sending %q: %v", request, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the answer to %q: %v", request, err)
	}
	a := rawAnswer{status: resp.StatusCode, header: resp.Header, body: string(body), close: resp.Close}
	if resp.Close {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := br.ReadByte()
		a.closed = err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return a
}

// getRequest is a GET of path for host with extra header lines ("Name:
// value\r\n" each).
func getRequest(path, host, extra string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n"
}

// wsRequest is a WebSocket opening handshake for path, with an Origin
// unless origin is empty.
func wsRequest(path, host, origin string) string {
	extra := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if origin != "" {
		extra += "Origin: " + origin + "\r\n"
	}
	return getRequest(path, host, extra)
}

// wireRecorder is a backend that records the exact bytes it receives and
// answers each request with 200 "ok" once it has read it whole.
type wireRecorder struct {
	addr string
	got  syncBuffer
}

func startWireRecorder(t *testing.T) *wireRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &wireRecorder{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(io.TeeReader(c, r))
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return r
}

func (r *wireRecorder) Write(p []byte) (int, error) { return r.got.Write(p) }

// take returns the bytes received so far and forgets them.
func (r *wireRecorder) take() string {
	r.got.mu.Lock()
	defer r.got.mu.Unlock()
	s := r.got.buf.String()
	r.got.buf.Reset()
	return s
}

// await waits until the bytes received hold want.
func (r *wireRecorder) await(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.got.String()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backend did not receive %q within 10s; it got:\n%q", want, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loopbackHostname returns this machine's host name and the local address
// it resolves to, for a LISTEN given as a name; ok is false when there is
// no such name (none, or one that is always allowed anyway).
func loopbackHostname() (name, ip string, ok bool) {
	name, err := os.Hostname()
	if err != nil || name == "" || strings.EqualFold(name, "localhost") || strings.HasSuffix(strings.ToLower(name), ".localhost") || net.ParseIP(name) != nil {
		return "", "", false
	}
	addrs, err := net.LookupHost(name)
	if err != nil {
		return "", "", false
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
			if err == nil {
				ln.Close()
				return name, a, true
			}
		}
	}
	return "", "", false
}

// nonLoopbackIPv4 returns an IPv4 address of this machine that is not a
// loopback address, to connect from as a client on the network would.
func nonLoopbackIPv4() (net.IP, bool) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			return ipn.IP.To4(), true
		}
	}
	return nil, false
}

// refusalLine is the start of the warning logged once per refused host.
func refusalLine(name string) string { return "refused requests for host " + strconv.Quote(name) }

// TestSecurityHostAllowList sends requests for allowed and refused hosts
// to every endpoint of every port in every mode: the app (backend or
// files), the reload client's script and socket, and the LiveReload port's
// script and socket. Refused requests get 403 naming the host and the exact
// --allowed-host flag, HTML for navigations, Connection: close, one log
// line per host, and never reach the backend.
func TestSecurityHostAllowList(t *testing.T) {
	allowed := []string{
		"localhost", "localhost:1234", "LocalHost", "localhost.:80", "app.localhost:8000", "a.b.localhost",
		"127.0.0.1", "127.0.0.1:9", "192.168.1.20:3000", "[::1]:8000", "[::1]", "[2001:db8::1]",
		"myapp.test", "MyApp.Test:99", "example.test", "api.example.test:443",
	}
	refused := []string{
		"evil.example", "evil.example:8000", "evil.example.", "localhost.evil.example", "myapp.test.evil",
		"notexample.test", "1.2.3", "0x7f.0.0.1",
	}
	// The host names of those refusals, as the log names them.
	refusedNames := []string{"evil.example", "localhost.evil.example", "myapp.test.evil", "notexample.test", "1.2.3", "0x7f.0.0.1"}
	hostname, hostIP, haveHostname := loopbackHostname()
	if haveHostname {
		// Refused as long as it is not LISTEN's host (the last run).
		refused = append(refused, hostname+":80")
		refusedNames = append(refusedNames, hostname)
	}

	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<!DOCTYPE html><html><head></head><body>static</body></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := startWireRecorder(t)
	backendLog := filepath.Join(t.TempDir(), "requests.log")
	allowFlags := []string{"--allowed-host", "myapp.test", "--allowed-host", ".example.test"}

	type allowListRun struct {
		name       string
		lo         launchOptions
		args       []string
		listenName bool // LISTEN is this machine's host name, which is then allowed
	}
	modes := []allowListRun{
		{name: "attach", args: []string{"LISTEN", rec.addr}},
		{name: "static", args: []string{"--root", root, "LISTEN"}},
		{name: "proxy", args: append([]string{"LISTEN", strconv.Itoa(freePort(t)), "--exec"}, testBackendArgv(t, "serve", "-log", backendLog)...)},
	}
	if haveHostname {
		modes = append(modes, allowListRun{name: "static, LISTEN " + hostname, lo: launchOptions{listenHost: hostname, dialHost: hostIP},
			args: []string{"--root", root, "LISTEN"}, listenName: true})
	} else {
		t.Log("this machine's host name does not resolve to a local address: LISTEN's own host name is not tested")
	}

	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			lrPort := strconv.Itoa(freePort(t))
			args := append(append([]string{"--livereload-port", lrPort}, allowFlags...), mode.args...)
			p := launchProxy(t, t.TempDir(), mode.lo, args...)
			lrAddr := net.JoinHostPort(strings.Split(p.addr, ":")[0], lrPort)
			awaitPort(t, p, lrAddr)
			targets := []struct {
				name, addr, path string
				ws               bool
				status           int // for an allowed host
			}{
				{"app", p.addr, "/", false, 200},
				{"client script", p.addr, "/.reloadproxy/client.js", false, 200},
				{"reload socket", p.addr, "/.reloadproxy/ws", true, 101},
				{"LiveReload script", lrAddr, "/livereload.js", false, 200},
				{"LiveReload socket", lrAddr, "/livereload", true, 101},
			}
			ask := func(tgt string, host string, ws bool, addr string, extra string) rawAnswer {
				if ws {
					return askRaw(t, addr, wsRequest(tgt, host, ""))
				}
				return askRaw(t, addr, getRequest(tgt, host, extra))
			}
			hosts := allowed
			if mode.listenName {
				hosts = append(append([]string(nil), allowed...), hostname, strings.ToUpper(hostname)+":8080")
			}
			for _, host := range hosts {
				for _, tg := range targets {
					if a := ask(tg.path, host, tg.ws, tg.addr, ""); a.status != tg.status {
						t.Errorf("%s, Host: %s: status %d, want %d: %.200q", tg.name, host, a.status, tg.status, a.body)
					}
				}
			}
			for _, host := range refused {
				if mode.listenName && strings.HasPrefix(host, hostname+":") {
					continue // LISTEN's host here
				}
				name := strings.TrimSuffix(strings.Split(host, ":")[0], ".")
				allowFlag := "--allowed-host " + strings.ToLower(name)
				for _, tg := range targets {
					for _, nav := range []bool{false, true} {
						if nav && tg.ws {
							continue
						}
						extra := ""
						if nav {
							extra = "Sec-Fetch-Dest: document\r\nAccept: text/html\r\n"
						}
						a := ask(tg.path, host, tg.ws, tg.addr, extra)
						wantType := "text/plain; charset=utf-8"
						if nav {
							wantType = "text/html; charset=utf-8"
						}
						switch {
						case a.status != 403:
							t.Errorf("%s, Host: %s: status %d, want 403: %.200q", tg.name, host, a.status, a.body)
						case a.header.Get("Content-Type") != wantType:
							t.Errorf("%s, Host: %s, navigation %v: Content-Type %q, want %q", tg.name, host, nav, a.header.Get("Content-Type"), wantType)
						case !strings.Contains(a.body, allowFlag) || !strings.Contains(a.body, name):
							t.Errorf("%s, Host: %s: the 403 page does not name the host and the flag %q:\n%s", tg.name, host, allowFlag, a.body)
						case !a.close || !a.closed:
							t.Errorf("%s, Host: %s: the 403 did not close the connection (Connection: close %v, closed %v)", tg.name, host, a.close, a.closed)
						}
					}
				}
			}
			// An HTTP/1.0 request without Host cannot come from a browser.
			if a := askRaw(t, p.addr, "GET / HTTP/1.0\r\n\r\n"); a.status != 200 {
				t.Errorf("HTTP/1.0 without Host: status %d, want 200: %.200q", a.status, a.body)
			}
			if a := askRaw(t, lrAddr, "GET /livereload.js HTTP/1.0\r\n\r\n"); a.status != 200 {
				t.Errorf("HTTP/1.0 without Host on the LiveReload port: status %d, want 200", a.status)
			}

			// Synchronise with the log: a last refusal of a fresh name.
			if a := askRaw(t, p.addr, getRequest("/", "last.example", "")); a.status != 403 {
				t.Fatalf("last.example: status %d", a.status)
			}
			p.waitOutput(refusalLine("last.example"), 1, 5*time.Second)
			out := p.out.String()
			for _, name := range refusedNames {
				if mode.listenName && name == hostname {
					continue
				}
				if n := strings.Count(out, refusalLine(name)); n != 1 {
					t.Errorf("%d log lines for the refused host %q, want 1 (one per host, not per request):\n%s", n, name, out)
				}
				if line := refusalLine(name); !strings.Contains(out, line+" (a name other than localhost or an IP address could be DNS rebinding); to allow it: --allowed-host "+strings.ToLower(name)+"\n") {
					t.Errorf("the log line for %q does not end with the flag that allows it:\n%s", name, out)
				}
			}
			if ip := net.ParseIP(strings.Split(p.addr, ":")[0]); ip.IsLoopback() && strings.Contains(out, "not a loopback address") {
				t.Errorf("a warning about a non-loopback address, listening on %s:\n%s", p.addr, out)
			}
		})
	}

	// Nothing of a refused request reached a backend.
	seen := rec.take()
	if data, err := os.ReadFile(backendLog); err == nil {
		seen += string(data)
	} else {
		t.Errorf("the proxy-mode backend recorded no request: %v", err)
	}
	if !strings.Contains(seen, "api.example.test:443") {
		t.Fatalf("the backends did not record the allowed requests:\n%.2000s", seen)
	}
	for _, name := range append(refusedNames, "last.example") {
		if haveHostname && name == hostname {
			continue // allowed in the last run, which has no backend
		}
		if strings.Contains(seen, name) {
			t.Errorf("a request for the refused host %q reached a backend", name)
		}
	}
}

// TestSecurityAllowedHostAll checks --allowed-host all: no check at all.
func TestSecurityAllowedHostAll(t *testing.T) {
	rec := startWireRecorder(t)
	p := startReloadproxy(t, t.TempDir(), "--allowed-host", "all", "LISTEN", rec.addr)
	for _, host := range []string{"evil.example", "anything.at.all:99"} {
		if a := askRaw(t, p.addr, getRequest("/", host, "")); a.status != 200 || a.body != "ok" {
			t.Errorf("Host: %s with --allowed-host all: %d %q", host, a.status, a.body)
		}
	}
	if got := rec.take(); !strings.Contains(got, "Host: evil.example\r\n") {
		t.Errorf("the backend did not get the request for evil.example:\n%s", got)
	}
}

// TestSecurityWebSocketOrigins opens the reload socket and the LiveReload
// socket with the Origins a browser sends: pages of allowed hosts, and on
// the LiveReload port browser extensions, get in; others, "null" (sandboxed
// frames, file: pages) included, get 403.
func TestSecurityWebSocketOrigins(t *testing.T) {
	lrPort := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, t.TempDir(), "--livereload-port", lrPort, "--allowed-host", "myapp.test", "LISTEN")
	lrAddr := "127.0.0.1:" + lrPort
	awaitPort(t, p, lrAddr)
	_, port, _ := net.SplitHostPort(p.addr)
	tests := []struct {
		origin           string
		main, livereload int // status on each socket
	}{
		{"", 101, 101},
		{"http://localhost:" + port, 101, 101},
		{"http://127.0.0.1:" + port, 101, 101},
		{"https://app.localhost", 101, 101},
		{"http://[::1]:" + port, 101, 101},
		{"http://myapp.test:3000", 101, 101},
		{"chrome-extension://jnihajbhpnppcggbcgedagnkighmdlei", 403, 101},
		{"moz-extension://0a1b2c3d-0000-4000-8000-000000000000", 403, 101},
		{"safari-web-extension://ABCDEF", 403, 101},
		{"null", 403, 403},
		{"http://evil.example", 403, 403},
		{"https://evil.example:" + port, 403, 403},
		{"http://203.0.113.5", 403, 403}, // a page served from a public address
		{"http://[2001:db8::1]:" + port, 403, 403},
		{"http://localhost.evil.example", 403, 403},
		{"file://", 403, 403},
		{"evil-extension://x", 403, 403},
	}
	for _, tt := range tests {
		for _, sock := range []struct {
			name, addr, path string
			want             int
		}{
			{"reload socket", p.addr, "/.reloadproxy/ws", tt.main},
			{"LiveReload socket", lrAddr, "/livereload", tt.livereload},
		} {
			a := askRaw(t, sock.addr, wsRequest(sock.path, "localhost", tt.origin))
			if a.status != sock.want {
				t.Errorf("%s, Origin %q: status %d, want %d: %.200q", sock.name, tt.origin, a.status, sock.want, a.body)
			}
			if a.status == 403 && !a.closed {
				t.Errorf("%s, Origin %q: the connection stays open after the 403", sock.name, tt.origin)
			}
		}
	}
	// A good Origin does not make up for a refused Host.
	for _, addr := range []string{p.addr, lrAddr} {
		path := "/.reloadproxy/ws"
		if addr == lrAddr {
			path = "/livereload"
		}
		if a := askRaw(t, addr, wsRequest(path, "evil.example", "http://localhost:"+port)); a.status != 403 {
			t.Errorf("%s with Host: evil.example: status %d, want 403", path, a.status)
		}
	}
}

// TestSecurityErrorPagesShowOutputOnlyToLoopback runs backends that print
// a secret and then crash (503 page) or never listen (502 page), with
// reloadproxy listening on 0.0.0.0: its start warns once about that; a
// loopback client sees the command line and the output; a refused host
// sees a 403 and nothing else; a client on the network sees the status and
// the title only.
func TestSecurityErrorPagesShowOutputOnlyToLoopback(t *testing.T) {
	tests := []struct {
		name, mode string
		status     int
		flags      []string
	}{
		{"crash page", "crash", 503, nil},
		{"not ready page", "hang", 502, []string{"--ready-timeout", "1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv := testBackendArgv(t, tt.mode)
			args := append(append([]string(nil), tt.flags...), "LISTEN", strconv.Itoa(freePort(t)), "--exec")
			p := launchProxy(t, t.TempDir(), launchOptions{listenHost: "0.0.0.0"}, append(args, argv...)...)
			p.waitOutput("reloadproxy: proxying", 1, 5*time.Second)
			if n := outputCount(p, "which is not a loopback address"); n != 1 {
				t.Errorf("%d warnings about listening on 0.0.0.0, want 1:\n%s", n, p.out)
			}
			_, port, _ := net.SplitHostPort(p.addr)
			cmdline := strings.Join(argv, " ")

			for _, nav := range []string{"", "Sec-Fetch-Dest: document\r\n"} {
				a := askRaw(t, p.addr, getRequest("/", "localhost:"+port, nav))
				if a.status != tt.status || !strings.Contains(a.body, testSecret) || !strings.Contains(a.body, argv[0]) {
					t.Errorf("loopback client, navigation %v: status %d (want %d), the page should show the command %q and the output %q:\n%s",
						nav != "", a.status, tt.status, cmdline, testSecret, a.body)
				}
				a = askRaw(t, p.addr, getRequest("/", "evil.example:"+port, nav))
				if a.status != 403 || strings.Contains(a.body, testSecret) || strings.Contains(a.body, argv[0]) {
					t.Errorf("Host: evil.example, navigation %v: status %d, want 403 without the output or command:\n%s", nav != "", a.status, a.body)
				}
			}

			t.Run("client on the network", func(t *testing.T) {
				ip, ok := nonLoopbackIPv4()
				if !ok {
					t.Skip("this machine has no non-loopback IPv4 address to connect from: the output's absence from pages for network clients is proved by httpwire/proxy's unit tests only")
				}
				local := &net.TCPAddr{IP: ip}
				addr := net.JoinHostPort(ip.String(), port)
				for _, nav := range []string{"", "Sec-Fetch-Dest: document\r\n"} {
					a := askRawFrom(t, local, addr, getRequest("/", addr, nav))
					if a.status != tt.status {
						t.Errorf("client at %s, navigation %v: status %d, want %d:\n%s", ip, nav != "", a.status, tt.status, a.body)
					}
					if strings.Contains(a.body, testSecret) || strings.Contains(a.body, argv[0]) || strings.Contains(a.body, testBackendArg) {
						t.Errorf("client at %s, navigation %v: the page shows the output or the command line:\n%s", ip, nav != "", a.body)
					}
				}
			})
		})
	}
}

// TestSecurityRequestFraming sends requests whose framing or forwarding
// fields a smuggling or spoofing client would play with, and compares what
// a raw backend received with what it must receive, byte for byte.
func TestSecurityRequestFraming(t *testing.T) {
	rec := startWireRecorder(t)
	p := startReloadproxy(t, t.TempDir(), "LISTEN", rec.addr)
	// Attach mode probes the backend once at start: wait for it, so that
	// what the backend receives from here on is the requests'.
	rec.await(t, "HEAD / HTTP/1.1\r\n")
	rec.take()
	_, port, _ := net.SplitHostPort(p.addr)
	const body = "5\r\nhello\r\n0\r\n\r\n"

	// Codings other than chunked: 501 (chunked twice: 400), and nothing
	// reaches the backend.
	for _, tt := range []struct {
		te     string
		status int
	}{{"gzip, chunked", 501}, {"identity, chunked", 501}, {"x-custom, chunked", 501}, {"chunked, chunked", 400}} {
		a := askRaw(t, p.addr, "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: "+tt.te+"\r\n\r\n"+body)
		if a.status != tt.status || !a.closed {
			t.Errorf("Transfer-Encoding: %s: status %d closed %v, want %d and the connection closed", tt.te, a.status, a.closed, tt.status)
		}
	}
	if got := rec.take(); strings.Contains(got, "/upload") {
		t.Errorf("requests answered 501 reached the backend:\n%q", got)
	}

	tests := []struct {
		name, request string
		want          string // %[1]d: the client's port
		status        int
	}{
		{
			name:    "Transfer-Encoding: chunked,",
			request: "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked,\r\nContent-Type: text/plain\r\n\r\n" + body,
			want: "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n" +
				"Forwarded: for=\"127.0.0.1:%[1]d\";host=\"localhost\";proto=http\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: localhost\r\nX-Forwarded-Proto: http\r\n\r\n" + body,
		},
		{
			name:    "Transfer-Encoding: ,chunked",
			request: "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: ,chunked\r\n\r\n" + body,
			want: "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n" +
				"Forwarded: for=\"127.0.0.1:%[1]d\";host=\"localhost\";proto=http\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: localhost\r\nX-Forwarded-Proto: http\r\n\r\n" + body,
		},
		{
			name: "forwarding fields from the client",
			request: "GET /who HTTP/1.1\r\nHost: localhost:" + port + "\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n" +
				"X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7;proto=https\r\n\r\n",
			want: "GET /who HTTP/1.1\r\nHost: localhost:" + port + "\r\n" +
				"Forwarded: for=203.0.113.7, for=\"127.0.0.1:%[1]d\";host=\"localhost:" + port + "\";proto=http\r\n" +
				"X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\nX-Forwarded-Host: localhost:" + port + "\r\nX-Forwarded-Proto: http\r\n\r\n",
		},
		{
			name:    "absolute-form target for an IP address",
			request: "GET http://127.0.0.1:8000/x?y HTTP/1.1\r\nHost: localhost\r\n\r\n",
			want: "GET /x?y HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n" +
				"Forwarded: for=\"127.0.0.1:%[1]d\";host=\"127.0.0.1:8000\";proto=http\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: 127.0.0.1:8000\r\nX-Forwarded-Proto: http\r\n\r\n",
		},
		{
			name:    "HTTP/1.0 without Host",
			request: "GET /old HTTP/1.0\r\n\r\n",
			want:    "GET /old HTTP/1.0\r\nForwarded: for=\"127.0.0.1:%[1]d\";proto=http\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
		},
		{
			name:    "absolute-form target for a refused host",
			request: "GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
			status:  403,
		},
		{
			name:    "absolute-form target for a refused host, Host refused too",
			request: "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
			status:  403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tt.request)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			want := 200
			if tt.status != 0 {
				want = tt.status
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			// The backend answers only once it has read the request whole.
			got := rec.take()
			if tt.status != 0 {
				if got != "" {
					t.Errorf("the refused request reached the backend:\n%q", got)
				}
				return
			}
			if w := fmt.Sprintf(tt.want, c.LocalAddr().(*net.TCPAddr).Port); got != w {
				t.Errorf("the backend received\n%q\nwant\n%q", got, w)
			}
		})
	}
}

// TestSecurityLogLinesCannotBeForged gives reloadproxy names with terminal
// escape sequences and newlines to print: the --root it serves, files that
// change in it, and, in proxy mode, the program it runs (which prints
// nothing itself: the backend's own output passes through as it is). The
// log must hold no raw control character, each name must appear with its
// controls escaped, and every line must be one of reloadproxy's.
func TestSecurityLogLinesCannotBeForged(t *testing.T) {
	hostile := []struct{ name, escaped string }{
		{"\x1b]0;pwned\x07.txt", `\x1b]0;pwned\x07.txt`},
		{"a\nb.txt", `a\nb.txt`},
		{"\x1b[31mred.txt", `\x1b[31mred.txt`},
		{"cr\rhere.txt", `cr\rhere.txt`},
		{"csi\u009b2J.txt", `csi\u009b2J.txt`},
		{"del\x7f.txt", `del\x7f.txt`},
		{"fake\n12:00:00 reloadproxy: error: forged.txt", `fake\n12:00:00 reloadproxy: error: forged.txt`},
	}
	checkLog := func(t *testing.T, out string) {
		t.Helper()
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
				t.Errorf("raw control byte %#x in the log at %d: %q", c, i, out[max(0, i-40):min(len(out), i+40)])
				return
			}
		}
		if strings.Contains(out, "\u009b") {
			t.Errorf("a raw C1 control (CSI) in the log:\n%q", out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if len(line) < 9 || line[2] != ':' || line[5] != ':' || !strings.HasPrefix(line[8:], " reloadproxy: ") {
				t.Errorf("a log line that is not reloadproxy's: %q", line)
			}
		}
	}

	t.Run("static", func(t *testing.T) {
		dir := t.TempDir()
		root := filepath.Join(dir, "www\x1b]0;root\x07\nfake")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		p := startReloadproxy(t, dir, "--root", root, "LISTEN")
		p.waitOutput("reloadproxy: serving", 1, 5*time.Second)
		for i, h := range hostile {
			if err := os.WriteFile(filepath.Join(root, h.name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			p.waitOutput("reloading: ", i+1, 10*time.Second)
		}
		out := p.out.String()
		checkLog(t, out)
		for _, h := range hostile {
			if !strings.Contains(out, "reloading: "+h.escaped+" changed\n") {
				t.Errorf("no line `reloading: %s changed`:\n%s", h.escaped, out)
			}
		}
		if !strings.Contains(out, `serving `+filepath.Join(dir, `www\x1b]0;root\x07\nfake`)+" at") {
			t.Errorf("the root is not named escaped:\n%s", out)
		}
	})

	t.Run("proxy", func(t *testing.T) {
		dir, bin := t.TempDir(), t.TempDir()
		argv := testBackendArgv(t, "quiet-exit")
		prog := filepath.Join(bin, "srv\x1b[2J\x07\nfake line")
		if err := os.Symlink(argv[0], prog); err != nil {
			t.Fatal(err)
		}
		argv[0] = prog
		p := startReloadproxy(t, dir, append([]string{"LISTEN", strconv.Itoa(freePort(t)), "--exec"}, argv...)...)
		p.waitOutput("reloadproxy: error: ", 1, 10*time.Second)
		for i, h := range hostile[:3] {
			if err := os.WriteFile(filepath.Join(dir, h.name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			p.waitOutput("restarting: ", i+1, 10*time.Second)
			p.waitOutput("reloadproxy: error: ", i+2, 10*time.Second)
		}
		out := p.out.String()
		checkLog(t, out)
		if want := `srv\x1b[2J\x07\nfake line`; strings.Count(out, want) < 5 {
			t.Errorf("the program's name is not escaped in every line that names it (want %q):\n%s", want, out)
		}
		for _, h := range hostile[:3] {
			if !strings.Contains(out, "restarting: "+h.escaped+" changed\n") {
				t.Errorf("no line `restarting: %s changed`:\n%s", h.escaped, out)
			}
		}
	})
}
