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

// rawTextTests are documents where a <head or <body sits in the content of
// an element the tokenizer reads as RCDATA, raw text, script data or
// PLAINTEXT (WHATWG HTML §13.2.5.2-5), where the tag must not go.
var rawTextTests = []struct {
	name, in, want string
}{
	// A comment ends where a browser ends it: "<!-->", "<!--->" and
	// "--!>" too (WHATWG HTML, the comment states).
	{"abrupt empty comment", `<!--><script>x="-->";y="<body>"</script><body>`,
		`<!--><script>x="-->";y="<body>"</script>` + testTag + `<body>`},
	{"abrupt comment with a dash", `<!---><script>x="-->";y="<body>"</script><body>`,
		`<!---><script>x="-->";y="<body>"</script>` + testTag + `<body>`},
	{"comment ended by --!>", `<!-- a --!><script>x="-->";y="<body>"</script><body>`,
		`<!-- a --!><script>x="-->";y="<body>"</script>` + testTag + `<body>`},
	{"empty comment <!---->", `<!----><body>`, `<!---->` + testTag + `<body>`},
	{"--! not followed by > goes on", `<!-- --!x <body> --><body>`, `<!-- --!x <body> -->` + testTag + `<body>`},
	// A quote opens a quoted run only where an attribute value starts.
	{"apostrophe in a head attribute name", `<head x'><script>a='>';</script>`, `<head x'>` + testTag + `<script>a='>';</script>`},
	{"apostrophe inside an unquoted value", `<head data-a=it's><script>a='>';</script>`, `<head data-a=it's>` + testTag + `<script>a='>';</script>`},
	{"quoted value after = and space", `<head data-a= "x>y"><p>`, `<head data-a= "x>y">` + testTag + `<p>`},
	{"body in script", `<!doctype html><script>let t="<body>"</script><body>x</body>`,
		`<!doctype html><script>let t="<body>"</script>` + testTag + `<body>x</body>`},
	{"head in script after a comment", `<!-- <head> --><script>var s="<head>"</script><head>x`,
		`<!-- <head> --><script>var s="<head>"</script><head>` + testTag + `x`},
	{"head only in script: at the end", `<script>"<head>"</script><p>`, `<script>"<head>"</script><p>` + testTag},
	{"body in style", `<style>/* <body> */</style><body>`, `<style>/* <body> */</style>` + testTag + `<body>`},
	{"head in textarea", `<textarea><head></textarea><head>`, `<textarea><head></textarea><head>` + testTag},
	{"body in title", `<title><body></title><body>`, `<title><body></title>` + testTag + `<body>`},
	{"body in xmp", `<xmp><body></xmp><body>`, `<xmp><body></xmp>` + testTag + `<body>`},
	{"body in iframe", `<iframe><body></iframe><body>`, `<iframe><body></iframe>` + testTag + `<body>`},
	{"body in noembed", `<noembed><body></noembed><body>`, `<noembed><body></noembed>` + testTag + `<body>`},
	{"body in noframes", `<noframes><body></noframes><body>`, `<noframes><body></noframes>` + testTag + `<body>`},
	{"head in noscript", `<noscript><head></noscript><head>`, `<noscript><head></noscript><head>` + testTag},
	{"plaintext never ends", `<plaintext><head></plaintext><body>`, `<plaintext><head></plaintext><body>` + testTag},
	{"upper case", `<SCRIPT>"<BODY>"</SCRIPT ><BODY>`, `<SCRIPT>"<BODY>"</SCRIPT >` + testTag + `<BODY>`},
	{"mixed case", `<ScRiPt>"<body>"</sCrIpT><body>`, `<ScRiPt>"<body>"</sCrIpT>` + testTag + `<body>`},
	{"end tag with slash", "<style><head></style/><head>", "<style><head></style/><head>" + testTag},
	{"end tag with tab and newline", "<title><body></title\t\n><body>", "<title><body></title\t\n>" + testTag + "<body>"},
	{"scripts does not end script", `<script>"</scripts><body>"</script><body>`, `<script>"</scripts><body>"</script>` + testTag + `<body>`},
	{"other end tag does not end style", `<style></script><body></style><body>`, `<style></script><body></style>` + testTag + `<body>`},
	{"end tag split by <", `<script></scr</script><body>`, `<script></scr</script>` + testTag + `<body>`},
	{"unterminated script: at the end", `<script><body></script`, `<script><body></script` + testTag},
	{"start tag attribute with >", `<script data-x="a>b">"<body>"</script><body>`, `<script data-x="a>b">"<body>"</script>` + testTag + `<body>`},
	{"start tag attribute with <body>", `<script data-x='<body>'>"<body>"</script><body>`, `<script data-x='<body>'>"<body>"</script>` + testTag + `<body>`},
	{"self-closing script is still raw text", `<script/>"<body>"</script><body>`, `<script/>"<body>"</script>` + testTag + `<body>`},
	{"end tag attribute with <body>", `<script></script x="<body>"><body>`, `<script></script x="<body>">` + testTag + `<body>`},
	{"scripts is not script", `<scripts><body>`, `<scripts>` + testTag + `<body>`},
	{"scrip is not script", `<scrip><body>`, `<scrip>` + testTag + `<body>`},
	{"commented script start", `<!-- <script> --><body>`, `<!-- <script> -->` + testTag + `<body>`},
	{"comment in textarea is text", `<textarea><!--</textarea><body>-->`, `<textarea><!--</textarea>` + testTag + `<body>-->`},
	{"script: escaped end tag still ends", `<script><!--</script><body>`, `<script><!--</script>` + testTag + `<body>`},
	{"script: double-escaped end tag does not end", `<script><!--<script></script><body>--></script><body>`,
		`<script><!--<script></script><body>--></script>` + testTag + `<body>`},
	{"script: --> leaves the double escape", `<script><!--<script>--></script><body>`, `<script><!--<script>--></script>` + testTag + `<body>`},
	{"script: <!--> is an empty escape", `<script><!--><script></script><body>`, `<script><!--><script></script>` + testTag + `<body>`},
	{"script: <scripts> does not double-escape", `<script><!--<scripts></script><body>`, `<script><!--<scripts></script>` + testTag + `<body>`},
	{"head after a title", "<html><title>t</title><head><meta>", "<html><title>t</title><head>" + testTag + "<meta>"},
}

func TestInjectHTMLSkipsRawText(t *testing.T) {
	for _, tt := range rawTextTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(InjectHTML(nil, []byte(tt.in), []byte(testTag))); got != tt.want {
				t.Errorf("whole:\n got %q\nwant %q", got, tt.want)
			}
			for i := 0; i <= len(tt.in); i++ {
				if got := injectPieces([]byte(tt.in), i, len(tt.in)); got != tt.want {
					t.Fatalf("split at %d:\n got %q\nwant %q", i, got, tt.want)
				}
			}
			if got := injectPieces([]byte(tt.in), 1, 1); got != tt.want {
				t.Errorf("a byte at a time:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// injectPieces runs an Injector over doc written as a first piece of first
// bytes, then pieces of size bytes.
func injectPieces(doc []byte, first, size int) string {
	var j Injector
	j.Reset([]byte(testTag))
	out := j.Append(nil, doc[:first])
	for p := doc[first:]; len(p) > 0; p = p[min(size, len(p)):] {
		out = j.Append(out, p[:min(size, len(p))])
	}
	return string(j.Finish(out))
}

// injectBenchmarks are pages for BenchmarkInjector: where the tag is found
// early, after a long inline script, and nowhere.
var injectBenchmarks = []struct {
	name string
	doc  []byte
}{
	{"head first", []byte(htmlSeeds[len(htmlSeeds)-1])},
	{"script before body", []byte("<!doctype html><html><script>" + strings.Repeat("if (a<b && c>d) { s = '<p>'; }\n", 2048) +
		"</script><body>" + strings.Repeat("<p>text</p>\n", 64))},
	{"no place", []byte(strings.Repeat("<p class=\"x\">some text, <b>bold</b> <!-- note --></p>\n", 1024))},
}

func BenchmarkInjector(b *testing.B) {
	tag := []byte(fuzzTag)
	for _, bb := range injectBenchmarks {
		b.Run(bb.name, func(b *testing.B) {
			dst := make([]byte, 0, len(bb.doc)+len(tag))
			var j Injector
			b.SetBytes(int64(len(bb.doc)))
			b.ReportAllocs()
			for b.Loop() {
				j.Reset(tag)
				out := dst
				for p := bb.doc; len(p) > 0; p = p[min(4096, len(p)):] {
					out = j.Append(out, p[:min(4096, len(p))])
				}
				dst = j.Finish(out)[:0]
			}
		})
	}
}
