package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Time bounds, shortened for the tests; users get the Default* values.
const (
	testIdle  = 300 * time.Millisecond
	testBody  = 300 * time.Millisecond
	testWrite = 300 * time.Millisecond
)

func boundedServer(backend string) *Server {
	return &Server{Backend: &fixedBackend{addr: backend}, IdleTimeout: testIdle, BodyTimeout: testBody, WriteTimeout: testWrite}
}

// expectClosed waits for the proxy to close c, and says how long it took.
func expectClosed(t *testing.T, c net.Conn, br *bufio.Reader, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(within))
	_, err := io.ReadAll(br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %v", within)
	}
	return time.Since(start)
}

func TestIdleConnectionsClose(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, boundedServer(be.addr()))

	fresh, freshBr := dialRaw(t, addr)
	used, usedBr := dialRaw(t, addr)
	io.WriteString(used, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readResponse(t, usedBr, "GET")
	if d := expectClosed(t, used, usedBr, 5*time.Second); d < testIdle/2 {
		t.Errorf("kept-alive connection closed after %v, before its idle timeout", d)
	}
	expectClosed(t, fresh, freshBr, 5*time.Second)
}

// TestLongPollOutlivesIdleTimeout checks that a request in progress is not
// idle: a backend that answers after several idle timeouts is waited for.
func TestLongPollOutlivesIdleTimeout(t *testing.T) {
	be := startRecordingBackend(t, func(*http.Request, []byte) string {
		time.Sleep(4 * testIdle)
		return okResponse
	})
	addr := startProxy(t, boundedServer(be.addr()))
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET /poll HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("long poll: %d %q", resp.StatusCode, body)
	}
}

func TestStalledRequestBody(t *testing.T) {
	be := startRecordingBackend(t, respondOK)
	addr := startProxy(t, boundedServer(be.addr()))
	c, br := dialRaw(t, addr)
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nfirst bytes")
	resp, _ := readResponse(t, br, "POST")
	if resp.StatusCode != 408 {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
	expectClosed(t, c, br, 5*time.Second)

	// A body that keeps coming, slower than the timeout in all but each
	// step, is not cut.
	c, br = dialRaw(t, addr)
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
	for _, b := range "hello" {
		time.Sleep(testBody / 2)
		fmt.Fprintf(c, "%c", b)
	}
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 200 {
		t.Fatalf("slow body: status %d", resp.StatusCode)
	}
}

// TestClientThatDoesNotRead checks that a client that takes no response
// byte for the write timeout is dropped, with its backend connection.
func TestClientThatDoesNotRead(t *testing.T) {
	backendClosed := make(chan struct{})
	backend := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("x", 64<<10))
		for {
			if _, err := io.WriteString(c, chunk); err != nil {
				close(backendClosed)
				return
			}
		}
	})
	addr := startProxy(t, boundedServer(backend))
	c, _ := dialRaw(t, addr)
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	select {
	case <-backendClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend still streams to a client that reads nothing")
	}
	// The proxy reset the connection rather than leaving the kernel to
	// deliver what was queued: reading ends in a reset, not in the data.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reading after the drop: %v, want a reset", err)
	}
}

// TestSlowStreamIsNotCut checks a server-sent-events style stream whose
// events are further apart than every timeout: it keeps moving, so it
// stays.
func TestSlowStreamIsNotCut(t *testing.T) {
	backend := serveTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i := range 3 {
			time.Sleep(2 * testWrite)
			ev := fmt.Sprintf("data: %d\n\n", i)
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(ev), ev)
		}
		io.WriteString(c, "0\r\n\r\n")
	})
	addr := startProxy(t, boundedServer(backend))
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || string(body) != "data: 0\n\ndata: 1\n\ndata: 2\n\n" {
		t.Fatalf("stream: %d %q", resp.StatusCode, body)
	}
}

// TestClientLeavesWhileWaiting checks that the backend sees a client that
// left while its request waited, within about a second, as it would
// without the proxy.
func TestClientLeavesWhileWaiting(t *testing.T) {
	for _, phase := range []string{"before the response head", "during an idle stream"} {
		t.Run(phase, func(t *testing.T) {
			gone := make(chan time.Time, 1)
			backend := serveTCP(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				if phase == "during an idle stream" {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				br.ReadByte() // EOF once the proxy closes its side
				gone <- time.Now()
			})
			addr := startProxy(t, boundedServer(backend))
			c, br := dialRaw(t, addr)
			io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
			if phase == "during an idle stream" {
				readHead(t, br)
			} else {
				time.Sleep(100 * time.Millisecond)
			}
			left := time.Now()
			c.Close()
			select {
			case at := <-gone:
				if d := at.Sub(left); d > 3*clientCheckInterval {
					t.Errorf("the backend saw the client leave after %v", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the backend never saw the client leave")
			}
		})
	}
}

// TestEndlessInterimResponses checks that a backend sending 1xx responses
// without end to an HTTP/1.0 client (which never gets them) does not keep
// the proxy busy: it stops at a bound, and when the client leaves.
func TestEndlessInterimResponses(t *testing.T) {
	var sent atomic.Int64
	stopped := make(chan struct{})
	backend := serveTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		for {
			if _, err := io.WriteString(c, "HTTP/1.1 102 Processing\r\n\r\n"); err != nil {
				close(stopped)
				return
			}
			sent.Add(1)
			time.Sleep(time.Millisecond)
		}
	})
	addr := startProxy(t, boundedServer(backend))
	c, br := dialRaw(t, addr)
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	resp, _ := readResponse(t, br, "GET")
	if resp.StatusCode != 502 {
		t.Fatalf("status %d, want 502 after endless 1xx", resp.StatusCode)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("the backend could still write after the 502 (%d interim responses)", sent.Load())
	}
}
