package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const testTag = "<script src=\"/.reloadproxy/client.js\"></script>"

func TestInjectThroughProxy(t *testing.T) {
	const page = "<html><head><title>t</title></head><body>hi</body></html>"
	const injected = "<html><head>" + testTag + "<title>t</title></head><body>hi</body></html>"
	nav := "GET / HTTP/1.1\r\nHost: a\r\nSec-Fetch-Dest: document\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name string
		req  string
		resp string // backend's response
		want string // what the client gets, exactly
	}{
		{"content-length", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 104\r\nConnection: close\r\n\r\n" + injected},
		{"chunked, head split across chunks", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n<html><h\r\n31\r\nead><title>t</title></head><body>hi</body></html>\r\n0\r\nX-T: 1\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
				chunk("<html>") + chunk("<head>"+testTag+"<title>t</title></head><body>hi</body></html>") + "0\r\nX-T: 1\r\n\r\n"},
		{"chunked, no place: at the end", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<p>\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
				chunk("<p>") + chunk(testTag) + "0\r\n\r\n"},
		{"close-delimited", nav,
			"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n" + injected},
		{"no Sec-Fetch-Dest but Accept text/html", "GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html,*/*\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 104\r\nConnection: close\r\n\r\n" + injected},
		{"a fetch is not a navigation", "GET / HTTP/1.1\r\nHost: a\r\nSec-Fetch-Dest: empty\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\nConnection: close\r\n\r\n" + page},
		{"not HTML", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"},
		{"text/htmlx is not HTML", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/htmlx\r\nContent-Length: 2\r\n\r\nab",
			"HTTP/1.1 200 OK\r\nContent-Type: text/htmlx\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab"},
		{"still encoded passes untouched", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\x1f\x8b\x08\x00"},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\nSec-Fetch-Dest: document\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 57\r\nConnection: close\r\n\r\n"},
		{"206: a part of the page passes untouched", nav,
			"HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Range: bytes 0-9/57\r\nContent-Length: 10\r\n\r\n" + page[:10],
			"HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Range: bytes 0-9/57\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" + page[:10]},
		// The injected page is not the backend's bytes: a strong validator
		// would vouch for them (If-Range would splice the backend's bytes
		// into it), and ranges of it are not what the backend would send.
		{"injected: strong ETag made weak, Accept-Ranges dropped", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v1\"\r\naccept-ranges: bytes\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: W/\"v1\"\r\nContent-Length: 104\r\nConnection: close\r\n\r\n" + injected},
		{"injected: weak ETag kept", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\netag: W/\"v1\"\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\netag: W/\"v1\"\r\nContent-Length: 104\r\nConnection: close\r\n\r\n" + injected},
		{"injected chunked: strong ETag made weak", nav,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nEtag: \"v1\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<p>\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nEtag: W/\"v1\"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
				chunk("<p>") + chunk(testTag) + "0\r\n\r\n"},
		{"not injected: validators untouched", "GET / HTTP/1.1\r\nHost: a\r\nSec-Fetch-Dest: empty\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\nContent-Length: 57\r\n\r\n" + page,
			"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\nContent-Length: 57\r\nConnection: close\r\n\r\n" + page},
		{"304", nav, "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\n\r\n",
			"HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"},
		{"204", nav, "HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n",
			"HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var upstream string
			backend := startRecordingBackend(t, func(r *http.Request, _ []byte) string {
				upstream = r.Header.Get("Accept-Encoding")
				return tt.resp
			}).addr()
			if strings.HasPrefix(tt.resp, "HTTP/1.0") {
				backend = startClosingBackend(t, tt.resp)
			}
			addr := startProxy(t, &Server{Backend: &fixedBackend{addr: backend}, Inject: []byte(testTag)})
			got := rawExchange(t, addr, tt.req)
			if got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
			if strings.Contains(tt.req, "document") && !strings.HasPrefix(tt.req, "HEAD") && upstream != "" && upstream != "identity" {
				t.Errorf("navigation sent Accept-Encoding %q upstream, want identity", upstream)
			}
		})
	}
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

// startClosingBackend answers every request with resp and closes, for
// close-delimited bodies.
func startClosingBackend(t testing.TB, resp string) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, resp)
		}
	})
}

func TestInjectWithCSPThroughProxy(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	be := startRecordingBackend(t, func(*http.Request, []byte) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Security-Policy: script-src 'nonce-page'; connect-src 'self'\r\n"+
			"Content-Security-Policy: default-src 'self'\r\nContent-Length: %d\r\n\r\n%s", len(page), page)
	})
	srv := &Server{Backend: &fixedBackend{addr: be.addr()}, Inject: []byte(testTag),
		ScriptPath: "/.reloadproxy/client.js", SocketPath: "/.reloadproxy/ws"}
	addr := startProxy(t, srv)
	got := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: localhost:8000\r\nSec-Fetch-Dest: document\r\nConnection: close\r\n\r\n")
	m := regexp.MustCompile(`Content-Security-Policy: script-src 'nonce-page' 'nonce-([A-Za-z0-9_-]{22})'; connect-src 'self'\r\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("first policy not amended with a nonce:\n%s", got)
	}
	if !strings.Contains(got, "Content-Security-Policy: default-src 'self'\r\n") {
		t.Errorf("second policy should be unchanged:\n%s", got)
	}
	tag := `<script nonce="` + m[1] + `"` + testTag[len("<script"):]
	wantBody := "<html><head>" + tag + "</head><body></body></html>"
	if !strings.HasSuffix(got, "\r\n\r\n"+wantBody) || !strings.Contains(got, fmt.Sprintf("Content-Length: %d\r\n", len(wantBody))) {
		t.Fatalf("body or length wrong, want body %q:\n%s", wantBody, got)
	}
}
