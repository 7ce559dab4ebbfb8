package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dialRaw opens a client connection to the proxy with a deadline.
func dialRaw(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readHead reads one response head as raw text (up to the empty line).
func readHead(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading head: %v (so far %q)", err, sb.String())
		}
		sb.WriteString(line)
		if line == "\r\n" {
			return sb.String()
		}
	}
}

func TestExpectContinueRelayed(t *testing.T) {
	// net/http sends 100 Continue when the handler reads the body.
	ts := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", b)
	}))
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: ts.Listener.Addr().String()}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	if head := readHead(t, br); !strings.HasPrefix(head, "HTTP/1.1 100 Continue\r\n") {
		t.Fatalf("want 100 Continue before sending the body, got %q", head)
	}
	io.WriteString(c, "hello")
	if _, body := readResponse(t, br, "POST"); string(body) != "got hello" {
		t.Fatalf("got %q", body)
	}
}

func TestExpectContinueBackendIgnoresIt(t *testing.T) {
	// The recording backend reads the body at once and never sends 100:
	// the client gives up waiting and sends the body, and nothing deadlocks.
	be := startRecordingBackend(t, func(r *http.Request, body []byte) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + string(body)
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // a client's "expect timeout"
	io.WriteString(c, "hello")
	if resp, body := readResponse(t, br, "POST"); resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestInterimResponsesRelayed(t *testing.T) {
	be := startRecordingBackend(t, func(*http.Request, []byte) string {
		return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if head := readHead(t, br); head != "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" {
		t.Fatalf("interim head %q", head)
	}
	if head := readHead(t, br); !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("final head %q", head)
	}
	// HTTP/1.0 clients must not get a 1xx (RFC 9110 §15.2).
	got := rawExchange(t, addr, "GET / HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("HTTP/1.0 client got %q", got)
	}
}

// upgradeBackend answers an upgrade with 101, echoes what it reads in
// upper case, and when the client half-closes, writes "bye" and closes.
func upgradeBackend(t testing.TB, respond string) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, respond)
		buf := make([]byte, 1024)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}
			if err != nil {
				io.WriteString(c, "bye")
				return
			}
		}
	})
}

func TestUpgradeTunnelWithHalfClose(t *testing.T) {
	backend := upgradeBackend(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhi")
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly")
	head := readHead(t, br)
	if head != "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n" {
		t.Fatalf("head %q", head)
	}
	io.WriteString(c, " later")
	want := "hiEARLY LATER"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
	c.(*net.TCPConn).CloseWrite()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("after half-close got %q (%v), want the backend's last word and EOF", rest, err)
	}
}

func TestUnsolicitedSwitchingProtocols(t *testing.T) {
	backend := upgradeBackend(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
	got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502 ") {
		t.Fatalf("got %q", firstLine(got))
	}
}

func TestMalformedBackendResponse(t *testing.T) {
	tests := []struct{ name, resp string }{
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"differing CLs", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"status not 3 digits", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"status above 599", "HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := startRecordingBackend(t, func(*http.Request, []byte) string { return tt.resp })
			var logged atomic.Int32
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}, Logf: func(string, ...any) { logged.Add(1) }})
			got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if !strings.HasPrefix(got, "HTTP/1.1 502 Bad Gateway\r\n") || strings.Contains(got, "\r\n\r\nok") {
				t.Fatalf("got %q", got)
			}
			if logged.Load() == 0 {
				t.Error("a malformed backend response should be logged")
			}
		})
	}
}

func TestBackendBytesBeyondResponseNotReused(t *testing.T) {
	be := startRecordingBackend(t, func(r *http.Request, _ []byte) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := readResponse(t, br, "GET"); string(body) != "ok" {
			t.Fatalf("request %d got %q: the extra bytes were read as a response", i, body)
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.conns != 2 {
		t.Fatalf("backend connections = %d, want 2: the first must not be reused", be.conns)
	}
}

func TestBackendBytesBeforeRequestNotReadAsResponse(t *testing.T) {
	// The backend answers, then 50 ms later writes an unsolicited response
	// on the idle connection.
	var conns atomic.Int32
	backend := serveTCP(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
		}
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
	c, br := dialRaw(t, addr)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := readResponse(t, br, "GET"); string(body) != "ok" {
			t.Fatalf("request %d got %q", i, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if conns.Load() != 2 {
		t.Fatalf("backend connections = %d, want 2", conns.Load())
	}
}

func TestChunkedResponsesKeptAliveByteForByte(t *testing.T) {
	const body = "4;ext=\"q\"\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
	be := startRecordingBackend(t, func(*http.Request, []byte) string {
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n" + body
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	for i := 0; i < 3; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		head := readHead(t, br)
		if head != "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n" {
			t.Fatalf("head %q", head)
		}
		got := make([]byte, len(body))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != body {
			t.Fatalf("body %q (%v)", got, err)
		}
	}
}

func TestCloseDelimitedResponse(t *testing.T) {
	// An HTTP/1.0 backend without Content-Length: the body ends when it
	// closes the connection, and so must the client's.
	backend := serveTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "the end")
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
	got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	want := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestHeadThenGetOnOneConnection(t *testing.T) {
	be := startRecordingBackend(t, func(r *http.Request, _ []byte) string {
		if r.Method == "HEAD" {
			return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if head := readHead(t, br); head != "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" {
		t.Fatalf("HEAD answer %q", head)
	}
	if _, body := readResponse(t, br, "GET"); string(body) != "hello" {
		t.Fatalf("GET after HEAD got %q", body)
	}
}

func TestResponseTimeout(t *testing.T) {
	be := startRecordingBackend(t, func(*http.Request, []byte) string {
		time.Sleep(300 * time.Millisecond)
		return okResponse
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}, ResponseTimeout: 50 * time.Millisecond})
	got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 504 Gateway Timeout\r\n") || !strings.Contains(got, "Cache-Control: no-store") {
		t.Fatalf("got %q", got)
	}
}

func TestUnreachableBackend(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	b := &fixedBackend{addr: dead}
	addr := startProxy(t, &Server{Backend: b})
	// The retries take over a second: the client stays (a half-closed one
	// would count as gone, as in nginx).
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 502 || !strings.Contains(string(body), "Could not connect") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if b.failed.Load() == 0 {
		t.Fatal("Backend.Failed was not called for a refused connection")
	}
}

func TestReplayIdempotentAfterBackendDies(t *testing.T) {
	// The first connection dies after reading the request, as a backend
	// killed mid-request does; later connections answer.
	var n atomic.Int32
	be := startRecordingBackend(t, func(r *http.Request, body []byte) string {
		if n.Add(1) == 1 {
			return ""
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + string(body)
	})
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	got := rawExchange(t, addr, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndata")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\ndata") {
		t.Fatalf("idempotent PUT should be replayed, got %q", got)
	}
	n.Store(0)
	got = rawExchange(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndata")
	if !strings.HasPrefix(got, "HTTP/1.1 502 ") {
		t.Fatalf("POST must not be replayed, got %q", firstLine(got))
	}
	_, reqs := be.received()
	if want := []string{"PUT /x data", "PUT /x data", "POST /x data"}; !reflect.DeepEqual(reqs, want) {
		t.Fatalf("backend saw %q, want %q", reqs, want)
	}
}

func TestHeadTimeout(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}, HeadTimeout: 100 * time.Millisecond})
	c, _ := dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.1 408 ") {
		t.Fatalf("got %q", got)
	}
}

func TestBadChunkArrivingLater(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, _ := dialRaw(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "lo\r\nzz\r\n")
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.1 400 ") {
		t.Fatalf("got %q", got)
	}
	time.Sleep(20 * time.Millisecond)
	if _, reqs := be.received(); len(reqs) != 0 {
		t.Fatalf("the backend completed a request from a malformed body: %q", reqs)
	}
}

// TestClientClaimsDropped: the fields through which frameworks take a
// scheme, host, port or prefix from a proxy (Rack's X-Forwarded-Ssl,
// Spring's X-Forwarded-Prefix, ...), and underscore spellings of the
// forwarding fields (which CGI-style servers read as the fields
// themselves), do not pass from a client to the backend; other fields,
// underscores included, do.
func TestClientClaimsDropped(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET /p HTTP/1.1\r\nHost: localhost\r\nX_Forwarded_Host: evil.example\r\nx_forwarded_proto: https\r\n"+
		"X_Forwarded_For: 192.0.2.9\r\nX-Forwarded-Ssl: on\r\nX-Forwarded-Scheme: https\r\nFront-End-Https: on\r\n"+
		"X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\nX-Forwarded-Server: evil.example\r\nX-Url-Scheme: https\r\n"+
		"X_Forwarded_Port: 443\r\nX_Custom_Field: kept\r\nX-Forwarded-Sslx: kept\r\n"+
		"Forwarded: for=192.0.2.7;host=evil.example;proto=https, host=evil.example\r\nForwarded: Proto=https;BY=x;for=\"[2001:db8::1]:80\"\r\n\r\n")
	if _, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := be.received()
	port := c.LocalAddr().(*net.TCPAddr).Port
	// A client's Forwarded keeps its for= and by= (the chain is appended
	// to), not the host= and proto= frameworks such as Spring read.
	want := "GET /p HTTP/1.1\r\nHost: localhost\r\nX_Custom_Field: kept\r\nX-Forwarded-Sslx: kept\r\n" +
		fmt.Sprintf("Forwarded: for=192.0.2.7, BY=x;for=\"[2001:db8::1]:80\", for=\"127.0.0.1:%d\";host=\"localhost\";proto=http\r\n", port) +
		"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: localhost\r\nX-Forwarded-Proto: http\r\n\r\n"
	if raw != want {
		t.Fatalf("backend received\n%q\nwant\n%q", raw, want)
	}
}

func TestForwardingFields(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
	c, br := dialRaw(t, addr)
	port := c.LocalAddr().(*net.TCPAddr).Port
	io.WriteString(c, "GET /p HTTP/1.1\r\nHost: example.test:8000\r\nForwarded: for=192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\n"+
		"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\n"+
		"Proxy-Connection: x\r\nUpgrade: h2c\r\nX-Kept: k\r\n\r\n")
	if _, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := be.received()
	// Forwarded and X-Forwarded-For are lists the proxy appends to; the
	// client's X-Forwarded-Host and -Proto are replaced: a client must not
	// be able to claim another host or scheme.
	want := "GET /p HTTP/1.1\r\nHost: example.test:8000\r\nX-Kept: k\r\n" +
		fmt.Sprintf("Forwarded: for=192.0.2.1, for=\"127.0.0.1:%d\";host=\"example.test:8000\";proto=http\r\n", port) +
		"X-Forwarded-For: 192.0.2.1, 127.0.0.1\r\nX-Forwarded-Host: example.test:8000\r\nX-Forwarded-Proto: http\r\n\r\n"
	if raw != want {
		t.Fatalf("backend received\n%q\nwant\n%q", raw, want)
	}
}

func TestForwardedQuotesIPv6(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := &Server{Backend: &fixedBackend{addr: be.addr()}}
	go srv.Serve(ln)
	defer srv.Close()
	c, br := dialRaw(t, ln.Addr().String())
	port := c.LocalAddr().(*net.TCPAddr).Port
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: [::1]:1\r\n\r\n")
	if _, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := be.received()
	want := fmt.Sprintf("Forwarded: for=\"[::1]:%d\";host=\"[::1]:1\";proto=http\r\nX-Forwarded-For: ::1\r\n", port)
	if !strings.Contains(raw, want) {
		t.Fatalf("backend received %q, want it to contain %q", raw, want)
	}
}

func TestIfModifiedSinceAfterChange(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	srv := &Server{Backend: &fixedBackend{addr: be.addr()}}
	addr := startProxy(t, srv)
	now := time.Now().UTC()
	recent := now.Format(http.TimeFormat)
	old := now.Add(-time.Hour).Format(http.TimeFormat)
	send := func(ims string) string {
		t.Helper()
		rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: "+ims+"\r\nConnection: close\r\n\r\n")
		raw, _ := be.received()
		return raw
	}
	// No change seen yet: validators pass through.
	if raw := send(recent); !strings.Contains(raw, "If-Modified-Since: "+recent) {
		t.Fatalf("before any change the field must be kept:\n%s", raw)
	}
	srv.NoteChange(now)
	be.mu.Lock()
	be.raw.Reset()
	be.mu.Unlock()
	if raw := send(recent); strings.Contains(raw, "If-Modified-Since") {
		t.Fatalf("a copy from the change's second may be stale, the field must go:\n%s", raw)
	}
	be.mu.Lock()
	be.raw.Reset()
	be.mu.Unlock()
	if raw := send(old); !strings.Contains(raw, "If-Modified-Since: "+old) {
		t.Fatalf("a copy older than the change is validated by the backend:\n%s", raw)
	}
}

func TestCloseIdleSparesUnusedConnections(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	srv := &Server{Backend: &fixedBackend{addr: be.addr()}}
	addr := startProxy(t, srv)
	used, usedBr := dialRaw(t, addr)
	io.WriteString(used, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readResponse(t, usedBr, "GET")
	fresh, freshBr := dialRaw(t, addr)
	time.Sleep(50 * time.Millisecond) // both parked in the poller
	srv.CloseIdle()
	// The kept-alive connection is closed: its client retries elsewhere.
	used.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := usedBr.ReadByte(); err != io.EOF {
		t.Fatalf("kept-alive idle connection: read %q, %v; want EOF", n, err)
	}
	// The unused one still serves its first request.
	io.WriteString(fresh, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(freshBr, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("unused connection after CloseIdle: %v", err)
	}
}

// remoteConn is a connection that reports a chosen peer address.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

func TestErrorPageShowsOutputOnlyToLoopbackClients(t *testing.T) {
	page := &ErrorPage{Status: 503, Title: "app.py exited with status 1", Detail: "The command `python3 app.py --token=x` stopped.", Output: []byte("Traceback: secret <b>\n")}
	for _, tt := range []struct {
		name       string
		ip         string
		wantOutput bool
	}{
		{"loopback v4", "127.0.0.1", true},
		{"loopback v6", "::1", true},
		{"LAN client", "192.0.2.7", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			srv := &Server{Inject: []byte(testTag)}
			c := newConn(srv, remoteConn{a, &net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 5000}})
			for _, html := range []bool{true, false} {
				out := string(c.appendPage(nil, page, html, false))
				if strings.Contains(out, "Traceback") != tt.wantOutput {
					t.Errorf("html=%v: output shown = %v, want %v:\n%s", html, !tt.wantOutput, tt.wantOutput, out)
				}
				if strings.Contains(out, "--token=x") != tt.wantOutput {
					t.Errorf("html=%v: command line shown = %v, want %v:\n%s", html, !tt.wantOutput, tt.wantOutput, out)
				}
				if html && tt.wantOutput && !strings.Contains(out, "Traceback: secret &lt;b&gt;") {
					t.Errorf("output not escaped:\n%s", out)
				}
				if !strings.Contains(out, "app.py exited with status 1") || !strings.Contains(out, "Cache-Control: no-store") {
					t.Errorf("html=%v: title or no-store missing:\n%s", html, out)
				}
				if html != strings.Contains(out, testTag) {
					t.Errorf("html=%v: the reload client must be on the HTML page only:\n%s", html, out)
				}
			}
		})
	}
}

// TestMalformedChunkedBodyIs502: a chunked response whose framing is wrong
// before any of it reached the client gets a 502 page, as a malformed head
// does, on the plain path and on the injecting one (a page navigation):
// none of the backend's bytes are forwarded, and its log line names the
// fault.
func TestMalformedChunkedBodyIs502(t *testing.T) {
	for _, body := range []string{
		"zz\r\nabc\r\n0\r\n\r\n",           // not a chunk size
		"3\r\nabcX\r\n0\r\n\r\n",           // no CRLF after the data
		"1000000000000000000\r\n",          // a size past any body
		"3\r\nabc\r\n0\r\nBad Trailer\r\n", // a malformed trailer field
	} {
		for _, nav := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/navigation=%v", body, nav), func(t *testing.T) {
				resp := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n" + body
				var mu sync.Mutex
				var logged []string
				srv := &Server{Backend: &fixedBackend{addr: cannedBackend(t, resp)}, Inject: []byte(testTag),
					Logf: func(format string, args ...any) {
						mu.Lock()
						logged = append(logged, fmt.Sprintf(format, args...))
						mu.Unlock()
					}}
				addr := startProxy(t, srv)
				req := "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
				if nav {
					req = "GET / HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Dest: document\r\n\r\n"
				}
				got := rawExchange(t, addr, req)
				if !strings.HasPrefix(got, "HTTP/1.1 502 ") || strings.Contains(got, "abc") {
					t.Fatalf("got %q, want a 502 page and none of the backend's body", got)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(logged) != 1 || !strings.Contains(logged[0], "malformed") {
					t.Errorf("log lines %q, want one naming the malformed response", logged)
				}
			})
		}
	}
}

// TestChunkedToHTTP10Client: an HTTP/1.0 client never gets
// Transfer-Encoding (RFC 9112 §6.1). When a backend answers its request
// with chunks anyway, the client gets the chunk data as a body the closing
// connection ends, without the trailers, injected into when it is a page,
// whether the chunks come at once or in pieces; chunked over another
// coding (gzip) cannot be decoded for it and is a 502 page.
func TestChunkedToHTTP10Client(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
	const body = "3;ext=\"q\"\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n"
	const req = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
	const want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nabcdefg"
	t.Run("at once", func(t *testing.T) {
		addr := startProxy(t, &Server{Backend: &fixedBackend{addr: cannedBackend(t, head+body)}})
		if got := rawExchange(t, addr, req); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
	t.Run("in pieces", func(t *testing.T) {
		backend := piecewiseBackend(t, 5*time.Millisecond, head, "3;ext=\"q\"\r\nab", "c\r\n4\r", "\ndefg\r\n0\r\nX-", "T: 1\r\n\r\n")
		addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
		if got := rawExchange(t, addr, req); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
	t.Run("a page", func(t *testing.T) {
		const page = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"c\r\n<html><head>\r\n7\r\n</head>\r\n0\r\n\r\n"
		addr := startProxy(t, &Server{Backend: &fixedBackend{addr: cannedBackend(t, page)}, Inject: []byte(testTag)})
		got := rawExchange(t, addr, "GET / HTTP/1.0\r\nHost: localhost\r\nAccept: text/html\r\n\r\n")
		if want := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><head>" + testTag + "</head>"; got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
	t.Run("gzip, chunked", func(t *testing.T) {
		resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + body
		addr := startProxy(t, &Server{Backend: &fixedBackend{addr: cannedBackend(t, resp)}})
		if got := rawExchange(t, addr, req); !strings.HasPrefix(got, "HTTP/1.1 502 ") || strings.Contains(got, "abc") {
			t.Fatalf("got %q, want a 502 page", got)
		}
	})
	t.Run("HTTP/1.1 still gets chunks", func(t *testing.T) {
		addr := startProxy(t, &Server{Backend: &fixedBackend{addr: cannedBackend(t, head+body)}})
		got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		if want := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body; got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}
