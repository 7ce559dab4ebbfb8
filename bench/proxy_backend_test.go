package bench

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"reloadproxy/httpwire/proxy"
)

// Response bodies served by both backends. The 64 KiB body is a repeating
// alphabet so that a proxy that mangles bytes shows up in
// TestProxyLoadGeneratorSanity.
var (
	proxySmallBody = []byte("Hello, world!") // 13 bytes
	proxyLargeBody = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz012345"), 65536/32)
)

const (
	proxyChunkSize  = 4 << 10 // /chunked: 16 flushed writes of 4 KiB
	proxyChunkCount = 16
)

// proxyQuietLog discards net/http's log lines (connection resets when a
// benchmark closes its connections).
var proxyQuietLog = log.New(io.Discard, "", 0)

// startProxyHTTPBackend serves the scenario paths with net/http, the kind of
// backend reloadproxy fronts in practice, and returns its address.
func startProxyHTTPBackend(tb testing.TB) string {
	tb.Helper()
	mux := http.NewServeMux()
	small := strconv.Itoa(len(proxySmallBody))
	large := strconv.Itoa(len(proxyLargeBody))
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Content-Length"] = []string{small}
		w.Write(proxySmallBody)
	})
	mux.HandleFunc("/64k", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{large}
		w.Write(proxyLargeBody)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/octet-stream"}
		f := w.(http.Flusher)
		for i := range proxyChunkCount {
			w.Write(proxyLargeBody[i*proxyChunkSize : (i+1)*proxyChunkSize])
			f.Flush() // one chunk on the wire per write
		}
	})
	return serveProxyHTTP(tb, mux)
}

// serveProxyHTTP serves h on a loopback port until the benchmark ends.
func serveProxyHTTP(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln := listenProxyLoopback(tb)
	srv := &http.Server{Handler: h, ErrorLog: proxyQuietLog, ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func listenProxyLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

// proxyCannedResponses are the exact responses of the canned backend, by
// request target.
func proxyCannedResponses() map[string][]byte {
	chunked := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
	for i := range proxyChunkCount {
		chunked = strconv.AppendInt(chunked, proxyChunkSize, 16)
		chunked = append(chunked, "\r\n"...)
		chunked = append(chunked, proxyLargeBody[i*proxyChunkSize:(i+1)*proxyChunkSize]...)
		chunked = append(chunked, "\r\n"...)
	}
	chunked = append(chunked, "0\r\n\r\n"...)
	return map[string][]byte{
		"/small": append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\n"),
			proxySmallBody...),
		"/64k": append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 65536\r\n\r\n"),
			proxyLargeBody...),
		"/chunked": chunked,
	}
}

var proxyNotFound = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

// startProxyCannedBackend answers every request head with a prebuilt
// response for its target, in one write and without allocating, so that
// allocs/op in front of it count the proxy (and the load generator, which
// allocates nothing either) alone. It ignores request bodies: the
// benchmarks send none.
func startProxyCannedBackend(tb testing.TB) string {
	tb.Helper()
	ln := listenProxyLoopback(tb)
	responses := proxyCannedResponses()
	type route struct {
		target []byte
		resp   []byte
	}
	var routes []route
	for target, resp := range responses {
		routes = append(routes, route{[]byte(target), resp})
	}
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	closed := false
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	serve := func(c net.Conn) {
		defer func() {
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
		buf := make([]byte, 16<<10)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			for {
				end := bytes.Index(buf[:n], proxyCRLFCRLF)
				if end < 0 {
					if n == len(buf) {
						return // head too large for a benchmark request
					}
					break
				}
				resp := proxyNotFound
				// Request line: METHOD SP TARGET SP VERSION.
				line := buf[:end]
				if sp := bytes.IndexByte(line, ' '); sp >= 0 {
					target := line[sp+1:]
					if sp := bytes.IndexByte(target, ' '); sp >= 0 {
						target = target[:sp]
					}
					for _, r := range routes {
						if bytes.Equal(target, r.target) {
							resp = r.resp
							break
						}
					}
				}
				copy(buf, buf[end+4:n])
				n -= end + 4
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = struct{}{}
			mu.Unlock()
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// proxyFixedRoute is an proxy.Backend that always routes to one
// running backend, as the supervisor does while it is Running.
type proxyFixedRoute struct{ addr string }

func (r *proxyFixedRoute) Route() proxy.Route {
	return proxy.Route{Addr: r.addr, Generation: 1}
}
func (r *proxyFixedRoute) Failed(gen uint64) {}

// startProxyReload serves reloadproxy's proxy.Server in front of backend.
func startProxyReload(tb testing.TB, backend string) string {
	tb.Helper()
	ln := listenProxyLoopback(tb)
	srv := &proxy.Server{Backend: &proxyFixedRoute{addr: backend}}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// proxyBufferPool gives httputil.ReverseProxy pooled 32 KiB copy buffers,
// as a tuned deployment would, so that the comparison is not against a
// handicapped opponent.
type proxyBufferPool struct{ p sync.Pool }

func (bp *proxyBufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32<<10)
}

func (bp *proxyBufferPool) Put(b []byte) { bp.p.Put(&b) }

// startProxyReverse serves net/http/httputil's ReverseProxy in front of
// backend, with enough idle connections per host for every client
// connection of the load generator.
func startProxyReverse(tb testing.TB, backend string) string {
	tb.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend})
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4 * proxyMaxConns,
		MaxIdleConnsPerHost: 4 * proxyMaxConns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	rp.Transport = tr
	rp.BufferPool = &proxyBufferPool{}
	rp.ErrorLog = proxyQuietLog
	addr := serveProxyHTTP(tb, rp)
	tb.Cleanup(tr.CloseIdleConnections)
	return addr
}

// proxyTarget is one server the load generator can hit.
type proxyTarget struct {
	name string // "direct", "reloadproxy" or "reverseproxy"
	addr string
}

// startProxyTargets starts a backend (canned or net/http) and both proxies
// in front of it; everything stops when tb ends.
func startProxyTargets(tb testing.TB, canned bool) []proxyTarget {
	tb.Helper()
	var backend string
	if canned {
		backend = startProxyCannedBackend(tb)
	} else {
		backend = startProxyHTTPBackend(tb)
	}
	return []proxyTarget{
		{"direct", backend},
		{"reloadproxy", startProxyReload(tb, backend)},
		{"reverseproxy", startProxyReverse(tb, backend)},
	}
}
