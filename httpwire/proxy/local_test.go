package proxy

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testPrefix = "/.reloadproxy/"
	testScript = testPrefix + "client.js"
	testSocket = testPrefix + "ws"
	testKey    = "dGhlIHNhbXBsZSBub25jZQ=="
)

var testScriptBody = []byte("console.log('client')\n")

// acceptKey is Sec-WebSocket-Accept for key, computed as RFC 6455 §4.2.2
// says, independently of the code under test.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// upgradeRequest is a valid handshake for path.
func upgradeRequest(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// echoSocket is a WebSocket endpoint for tests: it writes back what came
// with the handshake, then what it reads until the client closes.
func echoSocket(conn net.Conn, buffered []byte) {
	defer conn.Close()
	conn.Write([]byte("buffered:" + string(buffered) + "|"))
	io.Copy(conn, conn)
}

// startLocal serves a Server whose only endpoints are local: a script and
// an echoing socket under prefix (prefix "/" makes it a LiveReload-style
// port that serves nothing else).
func startLocal(t *testing.T, prefix string) string {
	t.Helper()
	return startProxy(t, &Server{
		LocalPrefix: prefix,
		Local: map[string]Endpoint{
			testScript: {ContentType: "text/javascript; charset=utf-8", Body: testScriptBody},
			testSocket: {WebSocket: echoSocket},
		},
	})
}

// localResponse is a response read until the server closed (or, for a
// 101, until the head ended).
type localResponse struct {
	status int
	header map[string]string
	body   string
}

func localRoundTrip(t *testing.T, addr, raw string) localResponse {
	t.Helper()
	c, br := dialRaw(t, addr)
	io.WriteString(c, raw)
	return readLocalResponse(t, br, strings.HasPrefix(raw, "HEAD "))
}

func readLocalResponse(t *testing.T, br *bufio.Reader, isHead bool) localResponse {
	t.Helper()
	var resp localResponse
	head := readHead(t, br)
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.1 %d", &resp.status); err != nil {
		t.Fatalf("status line %q: %v", lines[0], err)
	}
	resp.header = map[string]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		resp.header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	if resp.status == 101 || isHead {
		return resp
	}
	var n int
	fmt.Sscan(resp.header["content-length"], &n)
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("body: %v", err)
	}
	resp.body = string(body)
	return resp
}

func TestLocalEndpoints(t *testing.T) {
	addr := startLocal(t, testPrefix)
	good := upgradeRequest(testSocket)
	tests := []struct {
		name       string
		req        string
		wantStatus int
		wantHeader map[string]string
		wantBody   string // exact, when not empty
	}{
		{
			name:       "upgrade",
			req:        good,
			wantStatus: 101,
			wantHeader: map[string]string{"sec-websocket-accept": acceptKey(testKey), "upgrade": "websocket", "connection": "Upgrade"},
		},
		{
			name:       "upgrade with query",
			req:        strings.Replace(good, testSocket, testSocket+"?x=1", 1),
			wantStatus: 101,
			wantHeader: map[string]string{"sec-websocket-accept": acceptKey(testKey)},
		},
		{
			name:       "upgrade in absolute form",
			req:        strings.Replace(good, testSocket, "http://localhost:8000"+testSocket, 1),
			wantStatus: 101,
		},
		{
			name:       "missing key",
			req:        strings.Replace(good, "Sec-WebSocket-Key: "+testKey+"\r\n", "", 1),
			wantStatus: 400,
			wantHeader: map[string]string{"connection": "close", "cache-control": "no-cache"},
		},
		{name: "short key", req: strings.Replace(good, testKey, "abc", 1), wantStatus: 400},
		{
			name:       "wrong version",
			req:        strings.Replace(good, "Version: 13", "Version: 8", 1),
			wantStatus: 426,
			wantHeader: map[string]string{"sec-websocket-version": "13"},
		},
		{name: "missing version", req: strings.Replace(good, "Sec-WebSocket-Version: 13\r\n", "", 1), wantStatus: 400},
		{name: "missing upgrade", req: strings.Replace(good, "Upgrade: websocket\r\n", "", 1), wantStatus: 400},
		{name: "upgrade to another protocol", req: strings.Replace(good, "Upgrade: websocket", "Upgrade: h2c", 1), wantStatus: 400},
		{name: "not a websocket request", req: "GET " + testSocket + " HTTP/1.1\r\nHost: localhost\r\n\r\n", wantStatus: 400},
		{
			name:       "POST",
			req:        strings.Replace(good, "GET", "POST", 1),
			wantStatus: 405,
			wantHeader: map[string]string{"allow": "GET"},
		},
		{name: "HTTP/1.0", req: strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1), wantStatus: 505},
		{name: "malformed request line", req: "GARBAGE\r\nHost: localhost\r\n\r\n", wantStatus: 400},
		{name: "unknown path", req: "GET " + testPrefix + "nope HTTP/1.1\r\nHost: localhost\r\n\r\n", wantStatus: 404},
		{
			name:       "client script",
			req:        "GET " + testScript + "?v=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
			wantStatus: 200,
			wantHeader: map[string]string{
				"content-type":           "text/javascript; charset=utf-8",
				"content-length":         fmt.Sprint(len(testScriptBody)),
				"cache-control":          "no-cache",
				"x-content-type-options": "nosniff",
			},
			wantBody: string(testScriptBody),
		},
		{
			name:       "client script HEAD",
			req:        "HEAD " + testScript + " HTTP/1.1\r\nHost: localhost\r\n\r\n",
			wantStatus: 200,
			wantHeader: map[string]string{"content-length": fmt.Sprint(len(testScriptBody))},
		},
		{
			name:       "client script absolute form",
			req:        "GET http://localhost:8000" + testScript + " HTTP/1.1\r\nHost: localhost:8000\r\n\r\n",
			wantStatus: 200,
			wantBody:   string(testScriptBody),
		},
		{
			name:       "client script POST",
			req:        "POST " + testScript + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc",
			wantStatus: 405,
			wantHeader: map[string]string{"allow": "GET, HEAD", "connection": "close"},
		},
		{
			name:       "head too large",
			req:        "GET " + testScript + " HTTP/1.1\r\nHost: localhost\r\nX: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
			wantStatus: 431,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := localRoundTrip(t, addr, tt.req)
			if resp.status != tt.wantStatus {
				t.Fatalf("status: want %d, got %d (%q)", tt.wantStatus, resp.status, resp.body)
			}
			for k, want := range tt.wantHeader {
				if got := resp.header[k]; !strings.EqualFold(got, want) {
					t.Errorf("%s: want %q, got %q", k, want, got)
				}
			}
			if tt.wantBody != "" && resp.body != tt.wantBody {
				t.Errorf("body: want %q, got %q", tt.wantBody, resp.body)
			}
		})
	}
}

// TestLocalKeepAlive checks that the script and 404s keep the connection,
// as any response does, and that a proxied request is never made: there is
// no backend.
func TestLocalKeepAlive(t *testing.T) {
	addr := startLocal(t, testPrefix)
	c, br := dialRaw(t, addr)
	for _, target := range []string{testScript, testPrefix + "nope", "/outside/the/prefix", testScript} {
		io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp := readLocalResponse(t, br, false)
		want := 200
		if target != testScript {
			want = 404
		}
		if resp.status != want || resp.header["connection"] != "" {
			t.Fatalf("%s: status %d, Connection %q; want %d, kept alive", target, resp.status, resp.header["connection"], want)
		}
	}
}

// TestWebSocketGetsEarlyBytes sends the handshake split at every point, with
// bytes right behind it: the endpoint gets exactly those, whether they came
// with the head or after it.
func TestWebSocketGetsEarlyBytes(t *testing.T) {
	addr := startLocal(t, "/")
	req := upgradeRequest(testSocket)
	const early = "EARLY-FRAME"
	full := req + early
	for n := 0; n <= len(full); n++ {
		if n > 20 && n < len(req)-20 && n%9 != 0 {
			continue // every 9th split in the middle is enough
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c, br := dialRaw(t, addr)
			io.WriteString(c, full[:n])
			time.Sleep(time.Millisecond) // let the server read the first part alone
			io.WriteString(c, full[n:])
			resp := readLocalResponse(t, br, false)
			if resp.status != 101 || resp.header["sec-websocket-accept"] != acceptKey(testKey) {
				t.Fatalf("response: %+v", resp)
			}
			// The endpoint reports what it was handed, then echoes the rest.
			got := make([]byte, len("buffered:|")+len(early))
			if _, err := io.ReadFull(br, got); err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			g := string(got)
			if !strings.HasPrefix(g, "buffered:") || strings.ReplaceAll(strings.TrimPrefix(g, "buffered:"), "|", "") != early {
				t.Fatalf("endpoint saw %q, want the early bytes once", g)
			}
		})
	}
}

// TestServerCloseWithWebSocket checks that Close returns with a WebSocket
// session open: its deadline expires, and the endpoint's session ends.
func TestServerCloseWithWebSocket(t *testing.T) {
	var wg sync.WaitGroup
	srv := &Server{LocalPrefix: "/", Local: map[string]Endpoint{testSocket: {WebSocket: func(conn net.Conn, _ []byte) {
		wg.Add(1)
		defer wg.Done()
		echoSocket(conn, nil)
	}}}}
	addr := startProxy(t, srv)
	c, br := dialRaw(t, addr)
	io.WriteString(c, upgradeRequest(testSocket))
	if resp := readLocalResponse(t, br, false); resp.status != 101 {
		t.Fatalf("status %d", resp.status)
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a WebSocket session open")
	}
	c.Close()
	wg.Wait()
}
