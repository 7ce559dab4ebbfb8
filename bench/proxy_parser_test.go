package bench

import (
	"net"
	"testing"
	"time"
)

// proxyParserTests are responses the load generator's parser must accept
// (wantErr false: twice in a row on one connection, whole or a byte at a
// time) or reject, so that a proxy that breaks framing fails a benchmark
// instead of speeding it up.
var proxyParserTests = []struct {
	name    string
	resp    string
	bodyLen int
	wantErr bool
}{
	{name: "content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello", bodyLen: 5},
	{name: "empty", resp: "HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n", bodyLen: 0},
	{name: "chunked", bodyLen: 5,
		resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"},
	{name: "chunked upper hex", bodyLen: 26,
		resp: "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"},
	{name: "status 502", resp: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "HTTP/1.0", resp: "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "short body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell", bodyLen: 5, wantErr: true},
	{name: "chunked short body", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhell\r\n0\r\n\r\n",
		bodyLen: 5, wantErr: true},
	{name: "no framing", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "length and chunked", bodyLen: 5, wantErr: true,
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{name: "two lengths", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "bad length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		bodyLen: 5, wantErr: true},
	{name: "chunk without CRLF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n",
		bodyLen: 5, wantErr: true},
	{name: "bare LF", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\nX: y\r\n\r\nhello", bodyLen: 5, wantErr: true},
	{name: "no colon", resp: "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello", bodyLen: 5, wantErr: true},
}

// proxyParse feeds the server side of a pipe with writes (then closes it)
// and returns the errors of reading n responses from the client side.
func proxyParse(t *testing.T, writes []string, bodyLen, n int) []error {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		for _, w := range writes {
			if _, err := server.Write([]byte(w)); err != nil {
				return
			}
		}
	}()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	lc := &loadConn{nc: client, wantLen: bodyLen, buf: make([]byte, 256)}
	var errs []error
	for range n {
		errs = append(errs, lc.readResponse())
	}
	return errs
}

func TestProxyLoadParser(t *testing.T) {
	for _, tt := range proxyParserTests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr {
				if err := proxyParse(t, []string{tt.resp}, tt.bodyLen, 1)[0]; err == nil {
					t.Fatalf("readResponse accepted %q", tt.resp)
				}
				return
			}
			for _, err := range proxyParse(t, []string{tt.resp, tt.resp}, tt.bodyLen, 2) {
				if err != nil {
					t.Fatalf("whole: readResponse(%q) = %v", tt.resp, err)
				}
			}
			var bytewise []string
			for i := range tt.resp {
				bytewise = append(bytewise, tt.resp[i:i+1])
			}
			if err := proxyParse(t, bytewise, tt.bodyLen, 1)[0]; err != nil {
				t.Fatalf("byte at a time: readResponse(%q) = %v", tt.resp, err)
			}
			// Every truncation is an error, never a success.
			for i := range len(tt.resp) {
				if err := proxyParse(t, []string{tt.resp[:i]}, tt.bodyLen, 1)[0]; err == nil {
					t.Fatalf("readResponse accepted the truncation %q", tt.resp[:i])
				}
			}
		})
	}
}
