package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSmuggling sends each ambiguous framing through the proxy to a
// recording backend and checks that the backend receives nothing, or
// exactly the request the client meant, never a second hidden one.
func TestSmuggling(t *testing.T) {
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	tests := []struct {
		name   string
		send   string
		status string   // status line prefix the client gets first
		reqs   []string // what the backend must see ("METHOD TARGET body"); nil: nothing at all
	}{
		{"CL then TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			"HTTP/1.1 400", nil},
		{"TE then CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled,
			"HTTP/1.1 400", nil},
		{"duplicate CL differing", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\n" + smuggled,
			"HTTP/1.1 400", nil},
		{"duplicate CL equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			"HTTP/1.1 400", nil},
		{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", "HTTP/1.1 400", nil},
		{"CL with sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", "HTTP/1.1 400", nil},
		{"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", "HTTP/1.1 400", nil},
		{"TE chunked not final", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + smuggled,
			"HTTP/1.1 400", nil},
		{"TE gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, "HTTP/1.1 400", nil},
		{"TE gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, "HTTP/1.1 501", nil},
		{"TE identity then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled, "HTTP/1.1 501", nil},
		{"TE gzip and chunked on two lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			"HTTP/1.1 501", nil},
		{"TE empty elements around gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , gzip,,chunked\r\n\r\n0\r\n\r\n" + smuggled, "HTTP/1.1 501", nil},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			"HTTP/1.1 400", nil},
		{"TE unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501", nil},
		{"TE chunked with parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"TE space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
			"HTTP/1.1 400", nil},
		{"TE obs-fold", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"TE tab before value is fine", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			"HTTP/1.1 200", []string{"POST / hello"}},
		{"chunk size negative", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk size 0x prefix", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk size with inner space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 0\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk data longer than size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk size bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"chunk extension with bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\nb\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400", nil},
		{"bare CR in a field", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rContent-Length: 5\r\n\r\n", "HTTP/1.1 400", nil},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "HTTP/1.1 400", nil},
		{"bare LF inside the head", "GET / HTTP/1.1\r\nHost: a\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 400", nil},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "HTTP/1.1 400", nil},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "HTTP/1.1 400", nil},
		{"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", "HTTP/1.1 400", nil},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400", nil},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400", nil},
		{"Connection naming Content-Length keeps it", "POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
			"HTTP/1.1 200", []string{"POST / hello"}},
		{"valid request then a bad one", "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n",
			"HTTP/1.1 200", []string{"GET /a "}},
		{"two valid pipelined requests", "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 200", []string{"POST /a abc", "GET /b "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := startRecordingBackend(t, respondOK)
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
			got := rawExchange(t, addr, tt.send)
			if !strings.HasPrefix(got, tt.status) {
				t.Errorf("client got %q, want status %q", firstLine(got), tt.status)
			}
			// Let any forwarded bytes land before looking.
			time.Sleep(20 * time.Millisecond)
			raw, reqs := be.received()
			if tt.reqs == nil && raw != "" {
				t.Errorf("backend received %q, want nothing", raw)
			}
			if tt.reqs != nil && !reflect.DeepEqual(reqs, tt.reqs) {
				t.Errorf("backend requests (-want +got):\n-%q\n+%q\nraw: %q", tt.reqs, reqs, raw)
			}
			if strings.Contains(raw, "/smuggled") {
				t.Errorf("the smuggled request reached the backend: %q", raw)
			}
		})
	}
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// TestRequestFramingNormalised checks, byte for byte, what the backend
// receives for the Transfer-Encoding forms the proxy accepts: always one
// "Transfer-Encoding: chunked" line, whatever list the client wrote.
func TestRequestFramingNormalised(t *testing.T) {
	const body = "5\r\nhello\r\n0\r\n\r\n"
	for _, te := range []string{
		"Transfer-Encoding: chunked\r\n",
		"Transfer-Encoding: Chunked\r\n",
		"Transfer-Encoding: chunked,\r\n",
		"Transfer-Encoding: ,chunked\r\n",
		"Transfer-Encoding: , chunked ,,\r\n",
		"Transfer-Encoding:\tchunked\r\n",
	} {
		t.Run(te, func(t *testing.T) {
			be := startRecordingBackend(t, respondOK)
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: be.addr()}})
			c, br := dialRaw(t, addr)
			port := c.LocalAddr().(*net.TCPAddr).Port
			io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\n"+te+"X-After: 1\r\nConnection: close\r\n\r\n"+body)
			if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			raw, _ := be.received()
			want := "POST /up HTTP/1.1\r\nHost: a\r\nX-After: 1\r\nTransfer-Encoding: chunked\r\n" +
				fmt.Sprintf("Forwarded: for=\"127.0.0.1:%d\";host=\"a\";proto=http\r\n", port) +
				"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: a\r\nX-Forwarded-Proto: http\r\n\r\n" + body
			if raw != want {
				t.Errorf("backend received\n%q\nwant\n%q", raw, want)
			}
		})
	}
}

// TestResponseFramingRefused checks that a response whose Transfer-Encoding
// is not known codings ending in chunked gets 502, and that the proxy
// closes the backend connection it came on.
func TestResponseFramingRefused(t *testing.T) {
	for _, te := range []string{
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
		"Transfer-Encoding: identity, chunked\r\n",
		"Transfer-Encoding: x-custom, chunked\r\n",
		"Transfer-Encoding: gzip\r\n",
		"Transfer-Encoding: chunked, gzip\r\n",
	} {
		t.Run(te, func(t *testing.T) {
			closed := make(chan error, 1)
			backend := serveTCP(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\n"+te+"\r\n5\r\nhello\r\n0\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := br.ReadByte()
				closed <- err
			})
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}})
			c, br := dialRaw(t, addr)
			io.WriteString(c, "GET /bad HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, _ := readResponse(t, br, "GET")
			if resp.StatusCode != 502 {
				t.Fatalf("status %d, want 502", resp.StatusCode)
			}
			if err := <-closed; err != io.EOF {
				t.Errorf("backend connection after the refused response: %v, want EOF (closed by the proxy)", err)
			}
		})
	}
}
