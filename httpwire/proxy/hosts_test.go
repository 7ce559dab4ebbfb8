package proxy

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHostPolicy(t *testing.T) {
	p := NewHostPolicy("myapp.test", ".example.test", "Upper.Test")
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"localhost:8000", true},
		{"LocalHost:8000", true},
		{"localhost.:8000", true},
		{"app.localhost:8000", true},
		{"a.b.localhost", true},
		{"127.0.0.1:8000", true},
		{"127.0.0.1", true},
		{"192.168.1.20:3000", true},
		{"[::1]:8000", true},
		{"[::1]", true},
		{"[2001:db8::1]:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"myapp.test:8000", true},
		{"MYAPP.test", true},
		{"example.test", true},
		{"api.example.test:443", true},
		{"upper.test", true},

		{"evil.example", false},
		{"evil.example:8000", false},
		{"localhost.evil.example", false},
		{"evillocalhost", false},
		{"127.0.0.1.evil.example", false},
		{"1.2.3", false},
		{"1.2.3.4.5", false},
		{"256.1.1.1", false},
		{"0x7f.0.0.1", false},
		{"[::1", false},
		{"[evil.example]", false},
		{"[fe80::1%25eth0]", false},
		{"notexample.test", false},
		{"myapp.test.evil", false},
		{"", false},
		{":8000", false},
	}
	for _, tt := range tests {
		if got := p.Allows([]byte(tt.host)); got != tt.want {
			t.Errorf("Allows(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if !NewHostPolicy(AllowAll).Allows([]byte("evil.example")) || !(*HostPolicy)(nil).Allows([]byte("evil.example")) {
		t.Error("all, or no policy, must allow every host")
	}
	if n := testing.AllocsPerRun(100, func() { p.Allows([]byte("127.0.0.1:8000")); p.Allows([]byte("myapp.test:1")) }); n != 0 {
		t.Errorf("Allows allocates %v times", n)
	}
}

func TestOriginAllowed(t *testing.T) {
	p := NewHostPolicy("192.168.1.5") // LISTEN's host, as cmd adds it
	tests := []struct {
		origin, requestHost string
		extensions          bool
		want                bool
	}{
		{"http://localhost:8000", "localhost:8000", false, true},
		{"http://app.localhost:8000", "localhost:35729", false, true},
		{"https://127.0.0.1:8443", "localhost:8000", false, true},
		{"http://127.0.0.2:3000", "localhost:8000", false, true},
		{"http://[::1]:8000", "localhost:8000", false, true},
		{"http://[::ffff:7f00:1]:8000", "localhost:8000", false, true},
		{"http://192.168.1.5:8000", "localhost:35729", false, true},
		{"http://10.0.0.7:8000", "10.0.0.7:35729", false, true},
		// A page served from another address is another site.
		{"http://203.0.113.5", "localhost:8000", false, false},
		{"http://203.0.113.5:8000", "127.0.0.1:8000", false, false},
		{"http://[2001:db8::1]", "localhost:8000", false, false},
		{"http://[2001:db8::1]", "[::1]:8000", true, false},
		{"http://evil.example", "localhost:8000", false, false},
		{"http://evil.example", "localhost:8000", true, false},
		{"null", "localhost:8000", false, false},
		{"null", "localhost:8000", true, false},
		{"", "localhost:8000", false, false},
		{"chrome-extension://abcdefgh", "localhost:8000", false, false},
		{"chrome-extension://abcdefgh", "localhost:8000", true, true},
		{"moz-extension://1234-5678", "localhost:8000", true, true},
		{"safari-web-extension://x", "localhost:8000", true, true},
		{"file://", "localhost:8000", true, false},
		{"ws://localhost:8000", "localhost:8000", false, false},
	}
	for _, tt := range tests {
		if got := p.originAllowed([]byte(tt.origin), []byte(tt.requestHost), tt.extensions); got != tt.want {
			t.Errorf("originAllowed(%q, Host %q, extensions=%v) = %v, want %v", tt.origin, tt.requestHost, tt.extensions, got, tt.want)
		}
	}
}

// TestHostRefused checks that a refused host gets 403 naming the flag, on
// every kind of request, and that nothing reaches the backend.
func TestHostRefused(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	var mu sync.Mutex
	var logged []string
	srv := &Server{
		Backend: &fixedBackend{addr: be.addr()}, Hosts: NewHostPolicy(), LocalPrefix: testPrefix,
		Local: map[string]Endpoint{testScript: {ContentType: "text/javascript", Body: testScriptBody}, testSocket: {WebSocket: echoSocket}},
		Logf:  func(f string, a ...any) { mu.Lock(); logged = append(logged, f); mu.Unlock() },
	}
	addr := startProxy(t, srv)
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: EVIL.example:8000\r\nSec-Fetch-Dest: document\r\n\r\n",
		"POST /form HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 3\r\n\r\nabc",
		"GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET " + testScript + " HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		strings.Replace(upgradeRequest(testSocket), "Host: localhost", "Host: evil.example", 1),
	} {
		got := rawExchange(t, addr, req)
		if !strings.HasPrefix(got, "HTTP/1.1 403 ") || !strings.Contains(got, "--allowed-host evil.example") || !strings.Contains(got, "Connection: close") {
			t.Errorf("%q:\ngot %q", firstLine(req), got)
		}
		if strings.Contains(req, "document") != strings.Contains(got, "text/html") {
			t.Errorf("%q: HTML for navigations only:\n%s", firstLine(req), got)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if raw, _ := be.received(); raw != "" {
		t.Errorf("the backend received %q", raw)
	}
	mu.Lock()
	if len(logged) != 1 {
		t.Errorf("logged %d lines for one refused host, want 1: %q", len(logged), logged)
	}
	mu.Unlock()
	// Allowed forms pass, absolute-form included, and go out in origin-form.
	for _, req := range []string{
		"GET /a HTTP/1.1\r\nHost: localhost:8000\r\nConnection: close\r\n\r\n",
		"GET http://127.0.0.1:8000/b?q=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
	} {
		if got := rawExchange(t, addr, req); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
			t.Errorf("%q: got %q", firstLine(req), firstLine(got))
		}
	}
	raw, _ := be.received()
	if !strings.Contains(raw, "GET /b?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n") {
		t.Errorf("absolute-form not forwarded in origin-form with its authority as Host:\n%s", raw)
	}
}

// TestHostRefusedWithoutAListableName checks the advice given for a Host
// that --allowed-host cannot name (none at all, or one that is not a DNS
// name): only turning the check off lets such a request in.
func TestHostRefusedWithoutAListableName(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	var mu sync.Mutex
	var logged []string
	srv := &Server{
		Backend: &fixedBackend{addr: be.addr()}, Hosts: NewHostPolicy(),
		Logf: func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() },
	}
	addr := startProxy(t, srv)
	for _, tc := range []struct{ host, says string }{
		{"", "had no host name"},
		{"local%68ost", `was for "local%68ost"`},
	} {
		got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 403 ") || !strings.Contains(got, tc.says) || !strings.Contains(got, "--allowed-host all.") {
			t.Errorf("Host %q:\ngot %q", tc.host, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 2 || !strings.HasSuffix(logged[0], "--allowed-host all") || !strings.HasSuffix(logged[1], "--allowed-host all") {
		t.Errorf("log lines: %q", logged)
	}
}

// TestWebSocketOrigin checks the Origin rule on a local socket, with and
// without extension origins.
func TestWebSocketOrigin(t *testing.T) {
	for _, ext := range []bool{false, true} {
		srv := &Server{Hosts: NewHostPolicy(), LocalPrefix: "/", Local: map[string]Endpoint{testSocket: {WebSocket: echoSocket, ExtensionOrigins: ext}}}
		addr := startProxy(t, srv)
		for _, tt := range []struct {
			origin string
			want   int
		}{
			{"", 101},
			{"http://localhost:8000", 101},
			{"http://127.0.0.1:9", 101},
			{"http://evil.example", 403},
			{"http://203.0.113.5", 403},
			{"http://[2001:db8::1]:8000", 403},
			{"http://localhost:8000\r\nOrigin: http://evil.example", 403},
			{"null", 403},
			{"chrome-extension://abc", map[bool]int{false: 403, true: 101}[ext]},
		} {
			req := upgradeRequest(testSocket)
			if tt.origin != "" {
				req = strings.Replace(req, "\r\n\r\n", "\r\nOrigin: "+tt.origin+"\r\n\r\n", 1)
			}
			c, br := dialRaw(t, addr)
			io.WriteString(c, req)
			if resp := readLocalResponse(t, br, false); resp.status != tt.want {
				t.Errorf("extensions=%v Origin %q: status %d, want %d", ext, tt.origin, resp.status, tt.want)
			}
			c.Close()
		}
	}
}
