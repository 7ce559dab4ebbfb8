package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// reloadMessages connects to a reload WebSocket like a tab does and returns
// a function that reads the next JSON message.
func reloadMessages(t *testing.T, url string) (next func() map[string]any, conn net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	// Frames sent right after the handshake may already be in br.
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	next = func() map[string]any {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		data, err := wsutil.ReadServerText(rw)
		if err != nil {
			t.Fatalf("reading a reload message: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("message %q: %v", data, err)
		}
		return m
	}
	return next, conn
}

func TestE2EStaticModeReloads(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<html><head></head><body>v1</body></html>"), 0o644)
	p := startReloadproxy(t, dir, "LISTEN")

	req, _ := http.NewRequest("GET", p.url("/"), nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<head><script src="/.reloadproxy/client.js"`) || !strings.Contains(string(body), "v1") {
		t.Fatalf("static index.html without the reload client: %q", body)
	}

	next, _ := reloadMessages(t, "ws://"+p.addr+"/.reloadproxy/ws")
	hello := next()
	if hello["type"] != "hello" {
		t.Fatalf("first message %v, want hello", hello)
	}
	// A burst of saves gives one reload, with a new generation.
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(dir, "index.html"), []byte("<html><body>v"+strconv.Itoa(i+2)+"</body></html>"), 0o644)
	}
	reload := next()
	if reload["type"] != "reload" || reload["generation"].(float64) <= hello["generation"].(float64) {
		t.Fatalf("after a save got %v (hello was %v)", reload, hello)
	}
}

func TestE2EAttachModeReloadsWhenBackendAnswers(t *testing.T) {
	ts := goBackend(t)
	dir := t.TempDir()
	p := startReloadproxy(t, dir, "LISTEN", ts.Listener.Addr().String())
	next, _ := reloadMessages(t, "ws://"+p.addr+"/.reloadproxy/ws")
	if m := next(); m["type"] != "hello" {
		t.Fatalf("first message %v", m)
	}
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("x = 1\n"), 0o644)
	// The server may restart after a change: the proxy probes it and tabs
	// reload once it answers (here at once).
	for {
		m := next()
		if m["type"] == "reload" {
			break
		}
		if m["type"] != "restarting" {
			t.Fatalf("unexpected message %v", m)
		}
	}
	resp, err := http.Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d after the reload", resp.StatusCode)
	}
}

func TestE2EReloadOnlyCSSWithoutRestart(t *testing.T) {
	python := requireTool(t, "python3")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "static"), 0o755)
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "--reload-only", "**/*.css", "LISTEN", backend,
		"--exec", python, "-m", "http.server", "--bind", "127.0.0.1", backend)
	p.waitOutput("ready in", 1, 15*time.Second)
	next, _ := reloadMessages(t, "ws://"+p.addr+"/.reloadproxy/ws")
	if m := next(); m["type"] != "hello" {
		t.Fatalf("first message %v", m)
	}
	os.WriteFile(filepath.Join(dir, "static", "app.css"), []byte("body{color:red}"), 0o644)
	if m := next(); m["type"] != "css" || m["path"] != "static/app.css" {
		t.Fatalf("after a CSS save got %v, want a css message for static/app.css", m)
	}
	// Changes are handled in order: once a later change restarts the
	// server, the CSS change has had all its effects, and it restarted
	// nothing.
	os.WriteFile(filepath.Join(dir, "marker.py"), []byte("1"), 0o644)
	p.waitOutput("restarting: marker.py changed", 1, 10*time.Second)
	if strings.Contains(p.out.String(), "restarting: static/app.css") || strings.Count(p.out.String(), "starting:") != 2 {
		t.Fatalf("a --reload-only change restarted the server:\n%s", p.out)
	}
}

func TestE2ELiveReloadProtocol(t *testing.T) {
	dir := t.TempDir()
	lrPort := strconv.Itoa(freePort(t))
	startReloadproxy(t, dir, "--livereload-port", lrPort, "LISTEN")
	next, conn := reloadMessages(t, "ws://127.0.0.1:"+lrPort+"/livereload")
	if err := wsutil.WriteClientText(conn, []byte(`{"command":"hello","protocols":["http://livereload.com/protocols/official-7"]}`)); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["command"] != "hello" || m["serverName"] != "reloadproxy" {
		t.Fatalf("handshake answer %v", m)
	}
	os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>x</p>"), 0o644)
	if m := next(); m["command"] != "reload" || m["liveCSS"] != true {
		t.Fatalf("after a save got %v, want a LiveReload reload command", m)
	}
	resp, err := http.Get("http://127.0.0.1:" + lrPort + "/livereload.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(js), "official-7") {
		t.Fatalf("/livereload.js: %d %.80q", resp.StatusCode, js)
	}
}

func TestE2ELiveReloadPortBusyIsAWarning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	p := startReloadproxy(t, t.TempDir(), "--livereload-port", busy, "LISTEN")
	p.waitOutput("warning: LiveReload extension support is off", 1, 5*time.Second)
	resp, err := http.Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
