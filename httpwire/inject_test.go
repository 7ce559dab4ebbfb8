package httpwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

const testTag = "<script src=\"/.reloadproxy/client.js\"></script>"

func TestInjectHTMLInsertionPoint(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"after head", "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
			"<!DOCTYPE html><html><head>" + testTag + "<title>x</title></head><body>hi</body></html>"},
		{"head with attributes", `<html><head lang="en" data-x='a>b'><meta charset=utf-8>`,
			`<html><head lang="en" data-x='a>b'>` + testTag + `<meta charset=utf-8>`},
		{"upper case HEAD", "<HTML><HEAD>\n<TITLE>", "<HTML><HEAD>" + testTag + "\n<TITLE>"},
		{"head with newline before >", "<head\n>x", "<head\n>" + testTag + "x"},
		{"header is not head", "<body><header>h</header>", testTag + "<body><header>h</header>"},
		{"before body without head", "<html><body class=\"x\">hi", "<html>" + testTag + "<body class=\"x\">hi"},
		{"BODY upper case", "<BODY>", testTag + "<BODY>"},
		{"bodyx is not body", "<bodyx><p>", "<bodyx><p>" + testTag},
		{"commented head is skipped", "<!-- <head> --><head>x", "<!-- <head> --><head>" + testTag + "x"},
		{"comment with dashes", "<!-- a -- b --->  <body>", "<!-- a -- b --->  " + testTag + "<body>"},
		{"neither: at the end", "<p>fragment</p>", "<p>fragment</p>" + testTag},
		{"empty document", "", testTag},
		{"lone < at the end", "a <", "a <" + testTag},
		{"only a head prefix", "<hea", "<hea" + testTag},
		{"first of two heads", "<head><head>", "<head>" + testTag + "<head>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(InjectHTML(nil, []byte(tt.in), []byte(testTag)))
			if got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
			// Every split into two writes gives the same output.
			for i := 0; i <= len(tt.in); i++ {
				var j Injector
				j.Reset([]byte(testTag))
				var out []byte
				emit := func(p []byte) error {
					if len(p) == 0 {
						t.Fatalf("split %d: empty emit", i)
					}
					out = append(out, p...)
					return nil
				}
				j.Write([]byte(tt.in[:i]), emit)
				j.Write([]byte(tt.in[i:]), emit)
				j.Close(emit)
				if string(out) != tt.want {
					t.Fatalf("split at %d:\n got %q\nwant %q", i, out, tt.want)
				}
			}
		})
	}
}

func TestInjectByteAtATime(t *testing.T) {
	doc := []byte("<!doctype html>\n<!-- c --><html lang=en>\n<head data-a=\"1\">\n<title>t</title></head><body></body></html>")
	want := InjectHTML(nil, doc, []byte(testTag))
	var j Injector
	j.Reset([]byte(testTag))
	var out []byte
	emit := func(p []byte) error { out = append(out, p...); return nil }
	for i := range doc {
		j.Write(doc[i:i+1], emit)
	}
	j.Close(emit)
	if !bytes.Equal(out, want) {
		t.Errorf("\n got %q\nwant %q", out, want)
	}
	if bytes.Count(out, []byte(testTag)) != 1 || len(out) != len(doc)+len(testTag) {
		t.Errorf("tag must appear exactly once, adding exactly %d bytes: %q", len(testTag), out)
	}
}

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
