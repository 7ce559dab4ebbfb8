package proxy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fixedBackend routes every request to one address, the way attach mode
// does while the backend answers.
type fixedBackend struct {
	addr   string
	failed atomic.Int32
}

func (b *fixedBackend) Route() Route      { return Route{Addr: b.addr, Generation: 1} }
func (b *fixedBackend) Failed(gen uint64) { b.failed.Add(1) }

// startProxy serves a Server in front of backend on a loopback port and
// returns its address; the server is closed when the test ends.
func startProxy(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func startBackend(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func TestProxyGetThroughNetHTTP(t *testing.T) {
	ts := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path=%s fwd=%s xff=%s host=%s", r.URL.Path, r.Header.Get("Forwarded"), r.Header.Get("X-Forwarded-For"), r.Host)
	}))
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: ts.Listener.Addr().String()}})
	for i := 0; i < 3; i++ {
		resp, err := http.Get("http://" + addr + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "path=/hello fwd=for=\"127.0.0.1:") {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
}

func TestProxyLargeUploadAndDownload(t *testing.T) {
	payload := make([]byte, 5<<20)
	rand.Read(payload)
	ts := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(got)
	}))
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: ts.Listener.Addr().String()}})
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(payload)
		if chunked {
			body = io.MultiReader(bytes.NewReader(payload)) // unknown length → chunked
		}
		req, _ := http.NewRequest("POST", "http://"+addr+"/up", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("chunked=%v: echo differs (err %v, %d bytes)", chunked, err, len(got))
		}
	}
}

func TestProxyRawPipelined(t *testing.T) {
	ts := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: ts.Listener.Addr().String()}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"/a", "", "/c"} {
		method := "GET"
		if want == "" {
			method = "HEAD"
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q want %q", b, want)
		}
	}
}

// TestProxyFullDuplexChunked streams a chunked upload to a backend that
// echoes it back as a chunked response while still reading: the request
// body and the response body are framed at the same time.
func TestProxyFullDuplexChunked(t *testing.T) {
	ts := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 1000)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	addr := startProxy(t, &Server{Backend: &fixedBackend{addr: ts.Listener.Addr().String()}})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/echo", pr)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	// Each piece must come back before the next is sent.
	var resp *http.Response
	for i := 0; i < 50; i++ {
		piece := fmt.Sprintf("piece %03d;", i)
		if _, err := io.WriteString(pw, piece); err != nil {
			t.Fatal(err)
		}
		if resp == nil {
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			resp = r.resp
			defer resp.Body.Close()
		}
		got := make([]byte, len(piece))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != piece {
			t.Fatalf("piece %d: got %q (%v)", i, got, err)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the upload ended: %q, %v", rest, err)
	}
}

// TestResponseBodiesToASlowReader sends bodies of every framing to a
// client with a small receive buffer that reads in small pieces, through
// a proxy socket with a small send buffer: the head and the first body
// bytes go out in one write, and the socket takes only part of a write at
// a time, so the resumption of partial writes is exercised. The body the client reads must be the backend's, byte for
// byte.
func TestResponseBodiesToASlowReader(t *testing.T) {
	for _, size := range []int{100, 60_000, 1 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", size, body)
		for _, tc := range []struct {
			framing  string
			response string
			want     string // the body as the client must read it
		}{
			{"length", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body), string(body)},
			{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, chunked},
			{"close", "HTTP/1.0 200 OK\r\n\r\n" + string(body), string(body)},
		} {
			backend := serveTCP(t, func(c net.Conn) {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, tc.response)
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &Server{Backend: &fixedBackend{addr: backend}}
			go srv.Serve(smallSendBuffers{ln})
			t.Cleanup(func() { srv.Close() })
			addr := ln.Addr().String()
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
				return nil
			}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			time.Sleep(20 * time.Millisecond) // let the proxy fill the socket and wait
			var got []byte
			piece := make([]byte, 1500)
			for reads := 0; ; reads++ {
				n, err := c.Read(piece)
				got = append(got, piece[:n]...)
				if err != nil {
					break
				}
				if reads < 20 {
					time.Sleep(time.Millisecond)
				}
			}
			c.Close()
			_, gotBody, ok := strings.Cut(string(got), "\r\n\r\n")
			if !ok || gotBody != tc.want {
				t.Errorf("%s, %d bytes: the client read %d body bytes, not the backend's %d (equal prefix %d)",
					tc.framing, size, len(gotBody), len(tc.want), commonPrefix(gotBody, tc.want))
			}
		}
	}
}

// smallSendBuffers gives the proxy's client connections a small send
// buffer, so that a write of a large body is taken in part (with the
// kernel's autotuned buffer a loopback socket takes it whole).
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
