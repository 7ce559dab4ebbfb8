package htmlinject

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"reloadproxy/httpwire"
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
				out := j.Append(nil, []byte(tt.in[:i]))
				out = j.Append(out, []byte(tt.in[i:]))
				out = j.Finish(out)
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
	for i := range doc {
		out = j.Append(out, doc[i:i+1])
	}
	out = j.Finish(out)
	if !bytes.Equal(out, want) {
		t.Errorf("\n got %q\nwant %q", out, want)
	}
	if bytes.Count(out, []byte(testTag)) != 1 || len(out) != len(doc)+len(testTag) {
		t.Errorf("tag must appear exactly once, adding exactly %d bytes: %q", len(testTag), out)
	}
}

func TestChunkedInjectorEverySplit(t *testing.T) {
	body := "8\r\n<html><h\r\n31;ext=1\r\nead><title>t</title></head><body>hi</body></html>\r\n0\r\nX-T: 1\r\n\r\n"
	want := chunk("<html>") + chunk("<head>"+testTag+"<title>t</title></head><body>hi</body></html>") + "0\r\nX-T: 1\r\n\r\n"
	noPlace := "3\r\n<p>\r\n0\r\n\r\n"
	wantNoPlace := chunk("<p>") + chunk(testTag) + "0\r\n\r\n"
	for _, tt := range []struct{ in, want string }{{body, want}, {noPlace, wantNoPlace}} {
		for i := 0; i <= len(tt.in); i++ {
			var ci ChunkedInjector
			ci.Reset([]byte(testTag))
			out, n1, err := ci.Append(nil, []byte(tt.in[:i]))
			if err != nil || n1 != i {
				t.Fatalf("split %d: first part: n %d, err %v", i, n1, err)
			}
			out, n2, err := ci.Append(out, []byte(tt.in[i:]+"NEXT"))
			if err != nil || n2 != len(tt.in)-i || !ci.Done() {
				t.Fatalf("split %d: second part: n %d, err %v, done %v", i, n2, err, ci.Done())
			}
			// Chunk boundaries differ with the split; the decoded data and
			// the trailers must not.
			if got, w := dechunk(t, string(out)), dechunk(t, tt.want); got != w {
				t.Fatalf("split %d:\n got %q\nwant %q", i, got, w)
			}
		}
	}
	var ci ChunkedInjector
	ci.Reset([]byte(testTag))
	if _, _, err := ci.Append(nil, []byte("zz\r\n")); err != httpwire.ErrChunkSize {
		t.Errorf("malformed size: err %v, want ErrChunkSize", err)
	}
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

// dechunk returns the data of a chunked body followed by "|" and its
// trailer section.
func dechunk(t *testing.T, s string) string {
	t.Helper()
	var data strings.Builder
	for {
		line, rest, ok := strings.Cut(s, "\r\n")
		if !ok {
			t.Fatalf("no chunk line in %q", s)
		}
		size, _, _ := strings.Cut(line, ";")
		var n int
		if _, err := fmt.Sscanf(size, "%x", &n); err != nil {
			t.Fatalf("chunk size %q: %v", size, err)
		}
		if n == 0 {
			return data.String() + "|" + rest
		}
		data.WriteString(rest[:n])
		s = rest[n+2:]
	}
}

func TestInjectable(t *testing.T) {
	tests := []struct {
		name string
		head string // status line and fields, without the final CRLF
		want bool
	}{
		{"html page", "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 67", true},
		{"media type in upper case", "HTTP/1.1 200 OK\r\nContent-Type: TEXT/HTML", true},
		{"identity coding", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: identity", true},
		{"error page is a page", "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9", true},
		{"server error page is a page", "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html", true},
		{"redirect body is shown without Location", "HTTP/1.1 300 Multiple Choices\r\nContent-Type: text/html\r\nContent-Length: 9", true},
		{"not html", "HTTP/1.1 200 OK\r\nContent-Type: text/plain", false},
		{"space before parameters", "HTTP/1.1 200 OK\r\nContent-Type: text/html ; charset=utf-8", true},
		{"tab before parameters", "HTTP/1.1 200 OK\r\nContent-Type: text/html\t; charset=utf-8", true},
		{"longer subtype", "HTTP/1.1 200 OK\r\nContent-Type: text/htmlx", false},
		{"no media type", "HTTP/1.1 200 OK\r\nContent-Length: 9", false},
		{"encoded", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip", false},
		{"partial content", "HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Range: bytes 0-9/67\r\nContent-Length: 10", false},
		{"partial content without Content-Range", "HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Length: 10", false},
		{"Content-Range on a 200", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ncontent-range: bytes 0-9/67\r\nContent-Length: 10", false},
		{"range not satisfiable", "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Type: text/html\r\nContent-Range: bytes */67\r\nContent-Length: 9", false},
		{"no content", "HTTP/1.1 204 No Content\r\nContent-Type: text/html", false},
		{"reset content", "HTTP/1.1 205 Reset Content\r\nContent-Type: text/html\r\nContent-Length: 9", false},
		{"not modified", "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\nContent-Length: 67", false},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\nContent-Type: text/html\r\nConnection: upgrade\r\nUpgrade: websocket", false},
		{"early hints", "HTTP/1.1 103 Early Hints\r\nContent-Type: text/html", false},
	}
	var resp httpwire.ResponseHead
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := resp.Parse([]byte(tt.head + "\r\n\r\n")); err != nil {
				t.Fatalf("parse %q: %v", tt.head, err)
			}
			if got := Injectable(&resp); got != tt.want {
				t.Errorf("Injectable(%q) = %v, want %v", tt.head, got, tt.want)
			}
		})
	}
}
