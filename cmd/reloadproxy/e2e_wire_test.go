package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// The end-to-end tests run the built binary against real servers.

func TestE2EPythonHTTPServer(t *testing.T) {
	python := requireTool(t, "python3")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from python\n"), 0o644)
	backend := freePort(t)
	p := startReloadproxy(t, dir, "LISTEN", strconv.Itoa(backend), "--exec", python, "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(backend))

	resp, err := http.Get(p.url("/hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from python\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}

	// HEAD then GET on one connection. python's http.server answers
	// HTTP/1.0 and closes; the proxy keeps the client's connection and
	// dials the backend again.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
	head, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if head.StatusCode != 200 || head.ContentLength != 18 || head.Close {
		t.Fatalf("HEAD: status %d length %d close %v", head.StatusCode, head.ContentLength, head.Close)
	}
	fmt.Fprintf(c, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
	get, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(get.Body)
	if string(body) != "hello from python\n" {
		t.Fatalf("GET after HEAD: %q", body)
	}
}

// goBackend is a Go test server for the attach-mode tests.
func goBackend(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := 0; i < 4; i++ {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/echo":
			h := sha(r.Body)
			fmt.Fprint(w, h)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func sha(r io.Reader) string {
	var b bytes.Buffer
	io.Copy(&b, r)
	return fmt.Sprintf("%d:%x", b.Len(), b.Bytes()[:min(16, b.Len())])
}

func TestE2EChunkedOnKeptAliveConnection(t *testing.T) {
	ts := goBackend(t)
	p := startReloadproxy(t, t.TempDir(), "LISTEN", ts.Listener.Addr().String())
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(c, "GET /chunked HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "part 0;part 1;part 2;part 3;" || resp.TransferEncoding[0] != "chunked" || resp.Close {
			t.Fatalf("request %d: %q %v te=%v close=%v", i, body, err, resp.TransferEncoding, resp.Close)
		}
	}
}

func TestE2ELargeUploadsByteIdentical(t *testing.T) {
	ts := goBackend(t)
	p := startReloadproxy(t, t.TempDir(), "LISTEN", ts.Listener.Addr().String())
	payload := make([]byte, 5<<20)
	rand.Read(payload)
	want := sha(bytes.NewReader(payload))
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(payload)
		if chunked {
			body = io.MultiReader(body) // hides the length: chunked
		}
		resp, err := http.Post(p.url("/echo"), "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != want {
			t.Fatalf("chunked=%v: backend saw %s, want %s", chunked, got, want)
		}
	}
}

func TestE2ENodeWebSocketEcho(t *testing.T) {
	node := requireTool(t, "node")
	wsdir, _ := filepath.Abs("testdata/wsecho")
	if _, err := os.Stat(filepath.Join(wsdir, "node_modules", "ws")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node_modules missing in %s: .ci/run runs npm ci there", wsdir)
		}
		t.Skipf("run 'npm ci' in %s to enable this test", wsdir)
	}
	backend := freePort(t)
	startServer(t, wsdir, "127.0.0.1:"+strconv.Itoa(backend), node, "server.js", strconv.Itoa(backend))
	p := startReloadproxy(t, t.TempDir(), "LISTEN", "127.0.0.1:"+strconv.Itoa(backend))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, "ws://"+p.addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))

	if err := wsutil.WriteClientText(conn, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	msg, op, err := wsutil.ReadServerData(conn)
	if err != nil || op != ws.OpText || string(msg) != "hello" {
		t.Fatalf("text echo: %q %v %v", msg, op, err)
	}

	big := make([]byte, 1<<20)
	rand.Read(big)
	if err := wsutil.WriteClientBinary(conn, big); err != nil {
		t.Fatal(err)
	}
	msg, op, err = wsutil.ReadServerData(conn)
	if err != nil || op != ws.OpBinary || !bytes.Equal(msg, big) {
		t.Fatalf("1 MiB binary echo: %d bytes, op %v, err %v, equal %v", len(msg), op, err, bytes.Equal(msg, big))
	}

	if err := wsutil.WriteClientText(conn, []byte("close:4001")); err != nil {
		t.Fatal(err)
	}
	for {
		h, err := ws.ReadHeader(conn)
		if err != nil {
			t.Fatalf("waiting for the close frame: %v", err)
		}
		if h.Length > 125 && h.OpCode == ws.OpClose || h.Length > 1<<20 {
			t.Fatalf("frame too long: %+v", h)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(conn, payload); err != nil {
			t.Fatal(err)
		}
		if h.OpCode != ws.OpClose {
			continue
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		code, reason := ws.ParseCloseFrameData(payload)
		if code != 4001 || reason != "bye" {
			t.Fatalf("close frame: code %d reason %q, want 4001 bye", code, reason)
		}
		break
	}
}

func TestE2EIdleConnectionsDoNotDelayRequests(t *testing.T) {
	ts := goBackend(t)
	p := startReloadproxy(t, t.TempDir(), "LISTEN", ts.Listener.Addr().String())
	var idle []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// A preconnect that sent half a head is not idle: it must not hold
	// anything up either.
	io.WriteString(idle[0], "GET / HTTP/1.1\r\n")
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := client.Get(p.url("/"))
		if err != nil {
			t.Fatalf("request %d with 300 idle connections open: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("got %q", body)
		}
	}
	// The idle connections are all still open and usable.
	c := idle[299]
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("an idle connection could not be used: %v", err)
	}
}

func TestE2EUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "missing LISTEN"},
		{[]string{"8000", "x"}, `BACKEND "x"`},
		{[]string{"8000", "8001", "--exec"}, "--exec needs a command"},
		{[]string{"--bogus", "8000"}, "unknown flag: --bogus"},
		{[]string{"-p", "[", "8000"}, `--pattern "["`},
		{[]string{"127.0.0.1:0", "--poll", "2s"}, "write --poll=2s"},
		{[]string{"--livereload-port", "0", "--stop-signal", "TERM", "127.0.0.1:0", "127.0.0.1:9"}, "--stop-signal needs --exec"},
	}
	for _, tt := range tests {
		// Each must exit at once; one that serves instead is killed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, binary, tt.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("%q: want exit status 2, got %v", tt.args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if !strings.HasPrefix(lines[0], "reloadproxy: ") || !strings.Contains(lines[0], tt.want) {
			t.Errorf("%q: first line %q should give the reason %q", tt.args, lines[0], tt.want)
		}
	}
	out, err := exec.Command(binary, "--help").Output()
	if err != nil || !strings.Contains(string(out), "Examples:") || !strings.Contains(string(out), "--exec") {
		t.Errorf("--help: %v\n%s", err, out)
	}
	// The prose after the flags fits a terminal, the interpolated lists
	// of never-watched names included.
	if _, prose, ok := strings.Cut(string(out), "\nNever watched:"); !ok {
		t.Errorf("--help lacks the never-watched paragraph:\n%s", out)
	} else {
		for _, line := range strings.Split(prose, "\n") {
			if len(line) > helpWidth {
				t.Errorf("--help line over %d columns: %q", helpWidth, line)
			}
		}
	}
	out, err = exec.Command(binary, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "reloadproxy ") {
		t.Errorf("--version: %v %q", err, out)
	}
}
