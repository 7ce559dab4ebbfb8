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
