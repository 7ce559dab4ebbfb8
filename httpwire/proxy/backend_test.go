package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// recordingBackend is a raw TCP backend for tests. It parses requests with
// net/http's reader (an independent parser, as a real backend would use),
// records the exact bytes it received, and answers with whatever respond
// returns, written verbatim.
type recordingBackend struct {
	ln      net.Listener
	respond func(req *http.Request, body []byte) string
	mu      sync.Mutex
	raw     bytes.Buffer // every byte received, all connections
	reqs    []string     // "METHOD TARGET body"
	conns   int
}

func startRecordingBackend(t testing.TB, respond func(req *http.Request, body []byte) string) *recordingBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &recordingBackend{ln: ln, respond: respond}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return b
}

func (b *recordingBackend) addr() string { return b.ln.Addr().String() }

// serveTCP accepts connections on a loopback port until the test ends and
// runs handle on each, closing the connection after it; it returns the
// address.
func serveTCP(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

type recordWriter struct{ b *recordingBackend }

func (w recordWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.raw.Write(p)
}

func (b *recordingBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, recordWriter{b}))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, req.Method+" "+req.RequestURI+" "+string(body))
		b.mu.Unlock()
		resp := b.respond(req, body)
		if resp == "" {
			return
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

func (b *recordingBackend) received() (raw string, reqs []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.raw.String(), append([]string(nil), b.reqs...)
}

// rawExchange sends raw bytes to addr, half-closes, and returns everything
// the proxy answered until it closed the connection.
func rawExchange(t testing.TB, addr, send string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer: %v (got %q)", err, got)
	}
	return string(got)
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func respondOK(*http.Request, []byte) string { return okResponse }

// readResponse reads one response from a raw connection.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, body
}

// cannedBackend answers each request head with resp, allocating nothing per
// request, so that AllocsPerRun measures the proxy alone.
func cannedBackend(t testing.TB, resp string) string {
	t.Helper()
	return piecewiseBackend(t, 0, resp)
}

// piecewiseBackend answers each request head with the pieces of a
// response, written one by one with a pause after each, so that the
// proxy's body loop waits for each (and pushes what it holds back); it
// allocates nothing per request.
func piecewiseBackend(t testing.TB, pause time.Duration, pieces ...string) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		buf := make([]byte, 16<<10)
		out := make([][]byte, len(pieces))
		for i, p := range pieces {
			out[i] = []byte(p)
		}
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			for {
				end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if end < 0 {
					break
				}
				copy(buf, buf[end+4:n])
				n -= end + 4
				for _, p := range out {
					if _, err := c.Write(p); err != nil {
						return
					}
					if pause > 0 {
						time.Sleep(pause)
					}
				}
			}
		}
	})
}
