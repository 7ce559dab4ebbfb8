//go:build !race

package proxy

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// roundTrip writes req on c and reads exactly len(resp) bytes into buf.
func roundTrip(c net.Conn, req, buf []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf)
	return err
}

const (
	browserRequest = "GET /static/app.js?v=3 HTTP/1.1\r\nHost: localhost:8000\r\nConnection: keep-alive\r\n" +
		"sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\nsec-ch-ua-mobile: ?0\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n" +
		"sec-ch-ua-platform: \"Linux\"\r\nAccept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\n" +
		"Sec-Fetch-Dest: script\r\nReferer: http://localhost:8000/\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\nCookie: sessionid=abc123; csrftoken=def456\r\n\r\n"
	smallResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Length: 13\r\n" +
		"Date: Sat, 21 Nov 2026 08:00:00 GMT\r\n\r\nconsole.log()"
)

func TestProxyKeepAliveAllocs(t *testing.T) {
	backend := cannedBackend(t, smallResponse)
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte(browserRequest)
	// What the client receives: the same head and body (no hop-by-hop).
	buf := make([]byte, len(smallResponse))
	for i := 0; i < 100; i++ { // warm the pools and the paired connection
		if err := roundTrip(c, req, buf); err != nil {
			t.Fatal(err)
		}
	}
	if string(buf) != smallResponse {
		t.Fatalf("client got %q", buf)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := roundTrip(c, req, buf); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per proxied keep-alive request/response: %v", allocs)
	if allocs != 0 {
		t.Errorf("proxying a small keep-alive request allocated %v times per request, want 0", allocs)
	}
}

// TestProxyStreamedBodyAllocs: forwarding bodies that come in pieces (the
// body loops, MSG_MORE and the push before a wait) allocates nothing.
func TestProxyStreamedBodyAllocs(t *testing.T) {
	bigPiece := strings.Repeat("x", 20<<10)
	for _, tc := range []struct {
		name   string
		pieces []string
	}{
		{"chunked", []string{
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			"8\r\nchunk 0\n\r\n", "8\r\nchunk 1\n\r\n", "8\r\nchunk 2\n\r\n", "0\r\n\r\n"}},
		{"length", []string{
			"HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(3*len(bigPiece)) + "\r\n\r\n",
			bigPiece, bigPiece, bigPiece}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := piecewiseBackend(t, 100*time.Microsecond, tc.pieces...)
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
			want := strings.Join(tc.pieces, "")
			buf := make([]byte, len(want))
			for i := 0; i < 20; i++ {
				if err := roundTrip(c, req, buf); err != nil {
					t.Fatal(err)
				}
			}
			if string(buf) != want {
				t.Fatalf("client got %q", buf)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if err := roundTrip(c, req, buf); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("proxying a %s body that comes in pieces allocated %v times per request, want 0", tc.name, allocs)
			}
		})
	}
}
