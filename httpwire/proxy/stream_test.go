package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestStreamedPieceIsNotHeldBack: a body piece that the backend follows
// with a pause reaches the client during the pause, for every framing.
// Body pieces go to the client with MSG_MORE (writeClientMore), which lets
// the kernel hold a partial segment back until the next piece or for about
// 200 ms; the proxy must push it out before it waits for the backend. The
// backend pauses until the client has the piece (or 10 s). A try counts as
// held when the piece took more than 150 ms; a pushing proxy takes well
// under 1 ms, so the test fails only when all three tries are held.
func TestStreamedPieceIsNotHeldBack(t *testing.T) {
	framings := []struct {
		name        string
		head, first string
		rest        string
	}{
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
			"d\r\ndata: first\n\n\r\n", "c\r\ndata: last\n\n\r\n0\r\n\r\n"},
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n\r\n",
			"data: first\n\n", "data: last\n\n"},
		{"close-delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
			"data: first\n\n", "data: last\n\n"},
	}
	for _, f := range framings {
		t.Run(f.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			backend := serveTCP(t, func(c net.Conn) {
				if !skipRequestHead(bufio.NewReader(c)) {
					return
				}
				// The head alone first: the first piece then comes
				// through the body loop, not with the head.
				io.WriteString(c, f.head)
				time.Sleep(20 * time.Millisecond)
				io.WriteString(c, f.first)
				select {
				case <-arrived:
				case <-time.After(10 * time.Second):
				}
				io.WriteString(c, f.rest)
			})
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
			var delays []time.Duration
			for try := 0; try < 3; try++ {
				delay, body := firstPieceDelay(t, addr, arrived)
				if !strings.HasSuffix(body, "data: last\n\n") && !strings.HasSuffix(body, "0\r\n\r\n") {
					t.Fatalf("the response did not end as the backend's: %q", body)
				}
				if delay < 150*time.Millisecond {
					return
				}
				delays = append(delays, delay)
			}
			t.Fatalf("the first piece reached the client only after %v: held back (the kernel sends a held piece after about 200 ms)", delays)
		})
	}
}

// skipRequestHead reads a request head from r and reports whether one
// came; backends' goroutines use it, where readHead's t.Fatalf may not run.
func skipRequestHead(r *bufio.Reader) bool {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == "\r\n" {
			return true
		}
	}
}

// firstPieceDelay sends a request to addr on a new connection, and returns
// how long "data: first" took to arrive, and the whole response once it
// has arrived; arrived is signalled as soon as the first piece is in.
func firstPieceDelay(t *testing.T, addr string, arrived chan<- struct{}) (time.Duration, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 4096)
	var delay time.Duration
	for delay == 0 {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if bytes.Contains(got.Bytes(), []byte("data: first\n\n")) {
			delay = time.Since(start)
			arrived <- struct{}{}
		} else if err != nil {
			t.Fatalf("before the first piece: %v (got %q)", err, got.Bytes())
		}
	}
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("after the first piece: %v", err)
	}
	got.Write(rest)
	return delay, got.String()
}
