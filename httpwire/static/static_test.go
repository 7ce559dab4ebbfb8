package static_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"reloadproxy/httpwire/htmlinject"
	"reloadproxy/httpwire/proxy"
	"reloadproxy/httpwire/static"
)

const staticTag = `<script src="/.reloadproxy/client.js"></script>`

const (
	rootHTML = "<!DOCTYPE html>\n<html><head><title>root</title></head><body>root page</body></html>\n"
	subHTML  = "<!DOCTYPE html>\n<html><head><title>sub</title></head><body>sub page</body></html>\n"
)

// staticMod is the modification time given to every file of the test site:
// in the past, with nanoseconds, so that the one-second Last-Modified and
// the finer ETag differ.
var staticMod = time.Date(2024, 3, 4, 5, 6, 7, 890123456, time.UTC)

// staticSite is a FileServer over a tree built in a temporary directory.
type staticSite struct {
	addr    string
	dir     string // Root
	outside string // a directory next to Root, holding a secret
	files   map[string][]byte
	client  *http.Client
}

// startStatic builds the test tree and serves it with live reload.
func startStatic(t *testing.T) *staticSite {
	t.Helper()
	base := t.TempDir()
	s := &staticSite{dir: filepath.Join(base, "site"), outside: filepath.Join(base, "outside"), files: map[string][]byte{}}
	bin := make([]byte, 100<<10)
	rand.New(rand.NewSource(1)).Read(bin)
	files := map[string][]byte{
		"index.html":       []byte(rootHTML),
		"sub/index.html":   []byte(subHTML),
		"sub/.hidden":      []byte("hidden in sub"),
		"files/a.txt":      []byte("hello"),
		"files/<b>&.txt":   []byte("tricky name"),
		"files/big.txt":    bytes.Repeat([]byte("x"), 2048),
		"files/.secret":    []byte("dotfile"),
		"files/Adir/x.txt": []byte("x"),
		"files/zdir/y.txt": []byte("y"),
		"files/sp ace#/z":  []byte("z"),
		"style.css":        []byte("body{color:red}"),
		"app.js":           []byte("console.log(1)"),
		"mod.mjs":          []byte("export {}"),
		"data.json":        []byte(`{"a":1}`),
		"pic.svg":          []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"m.wasm":           []byte("\x00asm\x01\x00\x00\x00"),
		"img.png":          []byte("\x89PNG\r\n\x1a\n"),
		"img.jpg":          []byte("\xff\xd8\xff"),
		"PHOTO.JPG":        []byte("\xff\xd8\xff"),
		"img.gif":          []byte("GIF89a"),
		"img.webp":         []byte("RIFF....WEBP"),
		"favicon.ico":      []byte("\x00\x00\x01\x00"),
		"readme.txt":       []byte("read me"),
		"app.js.map":       []byte(`{"version":3}`),
		"font.woff2":       []byte("wOF2"),
		"notes":            []byte("plain words, no extension\n"),
		"blob":             []byte("\x00\x01\x02\x03binary"),
		"page.html":        []byte("<p>no head, no body</p>"),
		"bin/data.bin":     bin,
		".env":             []byte("SECRET=1"),
		".git/config":      []byte("[core]\nsecret = git\n"),
		"evil.example/f":   []byte("f"),
	}
	for name, data := range files {
		p := filepath.Join(s.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, staticMod, staticMod); err != nil {
			t.Fatal(err)
		}
		s.files[name] = data
	}
	if err := os.MkdirAll(s.outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.outside, "secret.txt"), []byte("OUTSIDE SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"etc":           "/etc",
		"outside.txt":   filepath.Join(s.outside, "secret.txt"),
		"outdir":        "../outside",
		"files/out.txt": filepath.Join(s.outside, "secret.txt"),
		"files/broken":  "nowhere",
		"inside.txt":    filepath.Join(s.dir, "files", "a.txt"), // absolute, but inside
		"sublink":       "sub",
		"gitlink":       ".git",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(s.dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	srv := &proxy.Server{Files: &static.FileServer{Root: s.dir}, Inject: []byte(staticTag), LocalPrefix: "/.reloadproxy/"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	return s
}

// get sends a request through net/http; hdr holds name, value pairs.
func (s *staticSite) get(t *testing.T, method, target string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1]) // a name given twice is two field lines
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	return resp, body
}

// dial opens a raw connection to the site.
func (s *staticSite) dial(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

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

// raw sends a request exactly as written, on its own connection.
func (s *staticSite) raw(t *testing.T, request string) (*http.Response, []byte) {
	t.Helper()
	c, br := s.dial(t)
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(request, " ")
	return readResponse(t, br, method)
}

func TestStaticIndex(t *testing.T) {
	s := startStatic(t)
	tests := []struct {
		target, want string
	}{
		{"/", rootHTML},
		{"/index.html", rootHTML},
		{"/sub/", subHTML},
		{"/sub/index.html", subHTML},
		{"/sublink/", subHTML}, // a symlink to a directory inside the root
		{"/?q=1", rootHTML},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp, body := s.get(t, "GET", tt.target)
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestStaticListing(t *testing.T) {
	s := startStatic(t)
	resp, body := s.get(t, "GET", "/files/", "Sec-Fetch-Dest", "document")
	page := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
	// Directories first, then files, each sorted (case-insensitively).
	order := []string{
		`<a href="../">../</a>`,
		`<a href="./Adir/">Adir/</a>`,
		`<a href="./sp%20ace%23/">sp ace#/</a>`,
		`<a href="./zdir/">zdir/</a>`,
		`<a href="./%3Cb%3E%26.txt">&lt;b&gt;&amp;.txt</a>`,
		`<a href="./a.txt">a.txt</a>`,
		`<a href="./big.txt">big.txt</a>`,
	}
	last := -1
	for _, want := range order {
		i := strings.Index(page, want)
		if i < 0 {
			t.Fatalf("listing lacks %s:\n%s", want, page)
		}
		if i < last {
			t.Errorf("%s is out of order:\n%s", want, page)
		}
		last = i
	}
	for _, want := range []string{"Index of /files/", ">5 B<", ">2.0 KiB<", staticTag} {
		if !strings.Contains(page, want) {
			t.Errorf("listing lacks %q:\n%s", want, page)
		}
	}
	for _, leak := range []string{".secret", "out.txt", "broken", "<b>&", s.dir} {
		if strings.Contains(page, leak) {
			t.Errorf("listing shows %q:\n%s", leak, page)
		}
	}
	if n := strings.Count(page, staticTag); n != 1 {
		t.Errorf("tag appears %d times", n)
	}

	// The escaped link leads to the file.
	resp, body = s.get(t, "GET", "/files/%3Cb%3E%26.txt")
	if resp.StatusCode != 200 || string(body) != "tricky name" {
		t.Errorf("escaped link: got %d %q", resp.StatusCode, body)
	}

	// Not a navigation: the same listing without the tag.
	resp, body = s.get(t, "GET", "/files/", "Sec-Fetch-Dest", "empty")
	if resp.StatusCode != 200 || strings.Contains(string(body), staticTag) || !strings.Contains(string(body), "a.txt") {
		t.Errorf("fetch of the listing: got %d\n%s", resp.StatusCode, body)
	}

	// The root has no parent link.
	_, body = s.get(t, "GET", "/evil.example/")
	if !strings.Contains(string(body), `href="../"`) || !strings.Contains(string(body), `href="./f"`) {
		t.Errorf("evil.example listing:\n%s", body)
	}
	os.Remove(filepath.Join(s.dir, "index.html"))
	_, body = s.get(t, "GET", "/")
	if strings.Contains(string(body), `href="../"`) || !strings.Contains(string(body), `href="./files/"`) {
		t.Errorf("root listing:\n%s", body)
	}
	for _, leak := range []string{".env", ".git", "gitlink", "outside.txt", `"./etc/"`, "outdir"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("root listing shows %q:\n%s", leak, body)
		}
	}
}

func TestStaticRedirect(t *testing.T) {
	s := startStatic(t)
	tests := []struct {
		name, request, location string
	}{
		{"plain", "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", "/sub/"},
		{"query kept", "GET /sub?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n\r\n", "/sub/?a=1&b=%20"},
		{"nested", "GET /files/Adir HTTP/1.1\r\nHost: x\r\n\r\n", "/files/Adir/"},
		{"escaped", "GET /files/sp%20ace%23 HTTP/1.1\r\nHost: x\r\n\r\n", "/files/sp%20ace%23/"},
		{"not to another site", "GET //evil.example HTTP/1.1\r\nHost: x\r\n\r\n", "/evil.example/"},
		{"absolute-form", "GET http://x/sub?q HTTP/1.1\r\nHost: x\r\n\r\n", "/sub/?q"},
		{"dot", "GET /sub/. HTTP/1.1\r\nHost: x\r\n\r\n", "/sub/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.raw(t, tt.request)
			if resp.Status != "301 Moved Permanently" || resp.Header.Get("Location") != tt.location {
				t.Fatalf("got %q Location %q, want 301 %q (body %q)", resp.Status, resp.Header.Get("Location"), tt.location, body)
			}
		})
	}
	// "/" itself is never redirected (to "//").
	resp, body := s.raw(t, "GET /. HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || string(body) != rootHTML {
		t.Errorf("GET /.: got %d %q", resp.StatusCode, body)
	}
}

func TestStaticMIMETypes(t *testing.T) {
	s := startStatic(t)
	tests := []struct{ path, ctype string }{
		{"/index.html", "text/html; charset=utf-8"},
		{"/style.css", "text/css; charset=utf-8"},
		{"/app.js", "text/javascript; charset=utf-8"},
		{"/mod.mjs", "text/javascript; charset=utf-8"},
		{"/data.json", "application/json"},
		{"/pic.svg", "image/svg+xml"},
		{"/m.wasm", "application/wasm"},
		{"/img.png", "image/png"},
		{"/img.jpg", "image/jpeg"},
		{"/PHOTO.JPG", "image/jpeg"},
		{"/img.gif", "image/gif"},
		{"/img.webp", "image/webp"},
		{"/favicon.ico", "image/x-icon"},
		{"/readme.txt", "text/plain; charset=utf-8"},
		{"/app.js.map", "application/json"},
		{"/font.woff2", "font/woff2"},
		{"/notes", "text/plain; charset=utf-8"},
		{"/blob", "application/octet-stream"},
		{"/inside.txt", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := s.get(t, "GET", tt.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			name := strings.TrimPrefix(tt.path, "/")
			if name == "inside.txt" {
				name = "files/a.txt"
			}
			if !bytes.Equal(body, s.files[name]) {
				t.Errorf("body %q, want %q", body, s.files[name])
			}
		})
	}
}

func TestStaticFileHeaders(t *testing.T) {
	s := startStatic(t)
	resp, body := s.get(t, "GET", "/style.css")
	want := map[string]string{
		"Content-Length": strconv.Itoa(len(s.files["style.css"])),
		"Last-Modified":  staticMod.Format(http.TimeFormat),
		"Cache-Control":  "no-cache",
		"Accept-Ranges":  "bytes",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	if etag := resp.Header.Get("ETag"); len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("ETag %q is not a strong entity tag", etag)
	}
	if string(body) != "body{color:red}" {
		t.Errorf("body %q", body)
	}
}

func TestStaticHead(t *testing.T) {
	s := startStatic(t)
	c, br := s.dial(t)
	// HEAD then GET on one connection: a HEAD response with a body would
	// be read as the start of the next response.
	io.WriteString(c, "HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\nHEAD /files/ HTTP/1.1\r\nHost: x\r\n\r\nGET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(s.files["style.css"])) ||
		resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" || len(body) != 0 {
		t.Fatalf("HEAD file: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || resp.ContentLength <= 0 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("HEAD listing: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = readResponse(t, br, "GET")
	if resp.StatusCode != 200 || string(body) != "read me" {
		t.Fatalf("GET after HEADs: %d %q", resp.StatusCode, body)
	}
}

func TestStaticConditional(t *testing.T) {
	s := startStatic(t)
	resp, _ := s.get(t, "GET", "/app.js")
	etag := resp.Header.Get("ETag")
	lastMod := resp.Header.Get("Last-Modified")
	if etag == "" || lastMod != staticMod.Format(http.TimeFormat) {
		t.Fatalf("ETag %q Last-Modified %q", etag, lastMod)
	}
	tests := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"If-Modified-Since equal", []string{"If-Modified-Since", lastMod}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since", staticMod.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", staticMod.Add(-time.Second).Format(http.TimeFormat)}, 200},
		{"If-Modified-Since RFC 850", []string{"If-Modified-Since", staticMod.Format("Monday, 02-Jan-06 15:04:05 GMT")}, 304},
		{"If-Modified-Since asctime", []string{"If-Modified-Since", staticMod.Format(time.ANSIC)}, 304},
		{"If-Modified-Since garbage", []string{"If-Modified-Since", "yesterday"}, 200},
		{"If-None-Match", []string{"If-None-Match", etag}, 304},
		{"If-None-Match weak", []string{"If-None-Match", "W/" + etag}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"a,b", ` + etag}, 304},
		{"If-None-Match star", []string{"If-None-Match", "*"}, 304},
		// If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2):
		// a change within the same second is seen.
		{"If-None-Match other", []string{"If-None-Match", `"0-e"`, "If-Modified-Since", lastMod}, 200},
		// If-Match and If-Unmodified-Since come first (RFC 9110 §13.2.2):
		// a false one is 412 (§13.1.1, §13.1.4).
		{"If-Match", []string{"If-Match", etag}, 200},
		{"If-Match list", []string{"If-Match", `"a", ` + etag}, 200},
		{"If-Match star", []string{"If-Match", "*"}, 200},
		{"If-Match other", []string{"If-Match", `"nope"`}, 412},
		{"If-Match weak is never strong", []string{"If-Match", "W/" + etag}, 412},
		{"If-Match other wins over If-None-Match", []string{"If-Match", `"nope"`, "If-None-Match", etag}, 412},
		{"If-Unmodified-Since equal", []string{"If-Unmodified-Since", lastMod}, 200},
		{"If-Unmodified-Since earlier", []string{"If-Unmodified-Since", staticMod.Add(-time.Hour).Format(http.TimeFormat)}, 412},
		{"If-Unmodified-Since garbage is ignored", []string{"If-Unmodified-Since", "yesterday"}, 200},
		{"If-Unmodified-Since ignored with If-Match", []string{"If-Match", etag, "If-Unmodified-Since", staticMod.Add(-time.Hour).Format(http.TimeFormat)}, 200},
		// Several field lines are one list (RFC 9110 §5.3).
		{"If-Match on two lines", []string{"If-Match", `"nope"`, "If-Match", etag}, 200},
		{"If-None-Match on two lines", []string{"If-None-Match", `"nope"`, "If-None-Match", etag}, 304},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.get(t, "GET", "/app.js", tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 412 {
				if strings.Contains(string(body), "console.log") || resp.Status != "412 Precondition Failed" {
					t.Errorf("%s with the body %q, want 412 Precondition Failed without the file", resp.Status, body)
				}
			} else if tt.status == 304 {
				if len(body) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Type") != "" {
					t.Errorf("304 with body %q, header %v", body, resp.Header)
				}
			} else if string(body) != "console.log(1)" {
				t.Errorf("body %q", body)
			}
		})
	}

	// Rewriting the file within the same second changes the ETag.
	p := filepath.Join(s.dir, "app.js")
	os.WriteFile(p, []byte("console.log(2)"), 0o644)
	os.Chtimes(p, staticMod.Add(time.Millisecond), staticMod.Add(time.Millisecond))
	resp, body := s.get(t, "GET", "/app.js", "If-None-Match", etag)
	if resp.StatusCode != 200 || string(body) != "console.log(2)" {
		t.Errorf("after a rewrite: %d %q", resp.StatusCode, body)
	}
}

// TestStaticLastModifiedOnlyOncePast: a file modified within the current
// second gets no Last-Modified (a second save within that second would
// carry the same date, and an If-Modified-Since of the first version would
// get 304 for the second), and an If-Modified-Since naming that second is
// not taken as "not modified"; once its second has passed, the date is
// sent. The file's time is set ahead of the clock to stand for "now".
func TestStaticLastModifiedOnlyOncePast(t *testing.T) {
	s := startStatic(t)
	p := filepath.Join(s.dir, "app.js")
	now := time.Now().Add(5 * time.Second) // within "the current second" for the next 5 s
	if err := os.Chtimes(p, now, now); err != nil {
		t.Fatal(err)
	}
	resp, _ := s.get(t, "GET", "/app.js")
	if lm := resp.Header.Get("Last-Modified"); lm != "" || resp.Header.Get("ETag") == "" {
		t.Fatalf("a file modified in the current second: Last-Modified %q, ETag %q; want no date, an ETag", lm, resp.Header.Get("ETag"))
	}
	resp, body := s.get(t, "GET", "/app.js", "If-Modified-Since", now.UTC().Format(http.TimeFormat))
	if resp.StatusCode != 200 || string(body) != "console.log(1)" {
		t.Fatalf("If-Modified-Since of the current second: %d %q, want 200 and the file", resp.StatusCode, body)
	}
	past := now.Add(-10 * time.Second)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	resp, _ = s.get(t, "GET", "/app.js")
	if lm := resp.Header.Get("Last-Modified"); lm != past.UTC().Format(http.TimeFormat) {
		t.Fatalf("a file modified 5 s ago: Last-Modified %q, want %q", lm, past.UTC().Format(http.TimeFormat))
	}
}

func TestStaticRanges(t *testing.T) {
	s := startStatic(t)
	data := s.files["bin/data.bin"]
	size := int64(len(data))
	resp, _ := s.get(t, "HEAD", "/bin/data.bin")
	etag := resp.Header.Get("ETag")
	lastMod := resp.Header.Get("Last-Modified")
	all := fmt.Sprintf("0-%d", size-1)
	tests := []struct {
		name   string
		hdr    []string
		status int
		span   string // "a-b" of the bytes expected, "" for none
	}{
		{"first-last", []string{"Range", "bytes=0-9"}, 206, "0-9"},
		{"middle", []string{"Range", "bytes=100-199"}, 206, "100-199"},
		{"open", []string{"Range", "bytes=100000-"}, 206, fmt.Sprintf("100000-%d", size-1)},
		{"large open", []string{"Range", "bytes=1-"}, 206, fmt.Sprintf("1-%d", size-1)},
		{"large middle", []string{"Range", "bytes=1000-60000"}, 206, "1000-60000"},
		{"suffix", []string{"Range", "bytes=-5"}, 206, fmt.Sprintf("%d-%d", size-5, size-1)},
		{"suffix longer than file", []string{"Range", "bytes=-999999"}, 206, all},
		{"last beyond end", []string{"Range", "bytes=102000-999999999"}, 206, fmt.Sprintf("102000-%d", size-1)},
		{"unit case", []string{"Range", "Bytes=0-0"}, 206, "0-0"},
		{"start beyond end", []string{"Range", fmt.Sprintf("bytes=%d-", size)}, 416, ""},
		{"huge start", []string{"Range", "bytes=99999999999999999999999-"}, 416, ""},
		{"empty suffix", []string{"Range", "bytes=-0"}, 416, ""},
		{"multiple ranges", []string{"Range", "bytes=0-1,5-6"}, 200, all},
		{"reversed", []string{"Range", "bytes=5-1"}, 200, all},
		{"other unit", []string{"Range", "items=0-1"}, 200, all},
		{"garbage", []string{"Range", "bytes=a-b"}, 200, all},
		{"If-Range etag", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, "0-9"},
		{"If-Range other etag", []string{"Range", "bytes=0-9", "If-Range", `"other"`}, 200, all},
		{"If-Range weak etag", []string{"Range", "bytes=0-9", "If-Range", "W/" + etag}, 200, all},
		{"If-Range date", []string{"Range", "bytes=0-9", "If-Range", lastMod}, 206, "0-9"},
		{"If-Range other date", []string{"Range", "bytes=0-9", "If-Range", staticMod.Add(-time.Hour).Format(http.TimeFormat)}, 200, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.get(t, "GET", "/bin/data.bin", tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (Content-Range %q)", resp.StatusCode, tt.status, resp.Header.Get("Content-Range"))
			}
			cr := resp.Header.Get("Content-Range")
			switch tt.status {
			case 416:
				if want := fmt.Sprintf("bytes */%d", size); cr != want {
					t.Errorf("Content-Range %q, want %q", cr, want)
				}
				return
			case 206:
				if want := fmt.Sprintf("bytes %s/%d", tt.span, size); cr != want {
					t.Errorf("Content-Range %q, want %q", cr, want)
				}
			case 200:
				if cr != "" {
					t.Errorf("Content-Range %q on a 200", cr)
				}
			}
			var a, b int64
			fmt.Sscanf(tt.span, "%d-%d", &a, &b)
			if !bytes.Equal(body, data[a:b+1]) || resp.ContentLength != b+1-a {
				t.Errorf("got %d bytes (Content-Length %d), want bytes %s", len(body), resp.ContentLength, tt.span)
			}
		})
	}
	// Range is for GET only (RFC 9110 §14.2).
	resp, _ = s.get(t, "HEAD", "/bin/data.bin", "Range", "bytes=0-9")
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Errorf("HEAD with Range: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

func TestStaticInjection(t *testing.T) {
	s := startStatic(t)
	big := append([]byte("<html><head><title>big</title></head><body>"), bytes.Repeat([]byte("a"), 8<<20)...)
	if err := os.WriteFile(filepath.Join(s.dir, "big.html"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	injected := func(doc string) string { return string(htmlinject.InjectHTML(nil, []byte(doc), []byte(staticTag))) }
	root := injected(rootHTML)
	if !strings.Contains(root, "<head>"+staticTag+"<title>") {
		t.Fatalf("test assumption: tag goes after <head>: %q", root)
	}
	tests := []struct {
		name   string
		method string
		path   string
		hdr    []string
		want   string // body; for HEAD, the body whose length is announced
	}{
		{"document", "GET", "/", []string{"Sec-Fetch-Dest", "document"}, root},
		{"iframe", "GET", "/index.html", []string{"Sec-Fetch-Dest", "iframe"}, root},
		{"Accept html", "GET", "/sub/", []string{"Accept", "text/html,application/xhtml+xml;q=0.9"}, injected(subHTML)},
		{"no head or body", "GET", "/page.html", []string{"Sec-Fetch-Dest", "document"}, "<p>no head, no body</p>" + staticTag},
		{"HEAD length", "HEAD", "/", []string{"Sec-Fetch-Dest", "document"}, root},
		{"script", "GET", "/", []string{"Sec-Fetch-Dest", "script"}, rootHTML},
		{"image", "GET", "/index.html", []string{"Sec-Fetch-Dest", "image"}, rootHTML},
		{"fetch", "GET", "/", []string{"Sec-Fetch-Dest", "empty", "Accept", "text/html"}, rootHTML},
		{"no Accept", "GET", "/", nil, rootHTML},
		{"not HTML", "GET", "/style.css", []string{"Sec-Fetch-Dest", "document"}, "body{color:red}"},
		{"text", "GET", "/readme.txt", []string{"Sec-Fetch-Dest", "document"}, "read me"},
		{"range", "GET", "/", []string{"Sec-Fetch-Dest", "document", "Range", "bytes=0-14"}, rootHTML[:15]},
		{"over 8 MiB: streamed through the injector", "GET", "/big.html", []string{"Sec-Fetch-Dest", "document"}, injected(string(big))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.get(t, tt.method, tt.path, tt.hdr...)
			if resp.StatusCode != 200 && resp.StatusCode != 206 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.ContentLength != int64(len(tt.want)) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(tt.want))
			}
			if tt.method == "GET" && string(body) != tt.want {
				if len(body) > 300 {
					body = body[:300]
				}
				t.Errorf("body (-want +got):\n-%.300q\n+%q", tt.want, body)
			}
		})
	}
	// The two variants of one file have different entity tags, so a
	// revalidation never hands one in place of the other.
	nav, _ := s.get(t, "HEAD", "/", "Sec-Fetch-Dest", "document")
	raw, _ := s.get(t, "HEAD", "/")
	if nav.Header.Get("ETag") == raw.Header.Get("ETag") {
		t.Errorf("injected and raw variants share ETag %s", raw.Header.Get("ETag"))
	}
	resp, _ := s.get(t, "GET", "/", "Sec-Fetch-Dest", "document", "If-None-Match", raw.Header.Get("ETag"))
	if resp.StatusCode != 200 {
		t.Errorf("navigation revalidated with the raw ETag: %d", resp.StatusCode)
	}
}

func TestStaticTraversal(t *testing.T) {
	s := startStatic(t)
	tests := []struct {
		target string
		status int
	}{
		{"/../../etc/passwd", 400},
		{"/sub/../../outside/secret.txt", 400},
		{"/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/%2E%2E/outside/secret.txt", 400},
		{"/.%2e/outside/secret.txt", 400},
		{"/..%2f..%2fetc%2fpasswd", 400},
		{"/sub%2findex.html", 400},
		{"/sub%2F..%2F..%2Fetc%2Fpasswd", 400},
		{"/..%5c..%5cetc%5cpasswd", 400},
		{"/sub\\index.html", 400},
		{"/index.html%00.txt", 400},
		{"/%0aindex.html", 400},
		{"/%zz", 400},
		{"/%2", 400},
		{"http://x/../etc/passwd", 400},
		{"http://x/%2e%2e/outside/secret.txt", 400},
		{"/etc/passwd", 404},                 // symlink to /etc
		{"/etc/", 404},                       //
		{"/outside.txt", 404},                // symlink to a file outside
		{"/outdir/secret.txt", 404},          // relative symlink climbing out
		{"/files/out.txt", 404},              //
		{"/.git/config", 404},                // dot-directory
		{"/%2egit/config", 404},              //
		{"/gitlink/config", 404},             // symlink into a dot-directory
		{"/.env", 404},                       // dotfile
		{"/sub/.hidden", 404},                //
		{"/files/.secret", 404},              //
		{"/.git/", 404},                      //
		{"/nothing-here", 404},               //
		{"/style.css/", 404},                 // a file is not a directory
		{"/files/broken", 404},               // dangling symlink
		{"http://x/outside.txt", 404},        // absolute-form
		{"http://x/index.html", 200},         //
		{"HTTP://x?x=1", 200},                // absolute-form without a path
		{"/inside.txt", 200},                 // absolute symlink inside the root
		{"//sub//index.html", 200},           // empty segments
		{"/./sub/./index.html", 200},         //
		{"/sub/index%2Ehtml", 200},           // encoded dot in a name
		{"/files/%3Cb%3E%26.txt?x=%2f", 200}, // the query is not decoded
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp, body := s.raw(t, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			for _, leak := range []string{"root:", "OUTSIDE SECRET", "secret = git", "SECRET=1", "hidden in sub", "dotfile", s.dir, s.outside} {
				if bytes.Contains(body, []byte(leak)) {
					t.Errorf("response leaks %q: %q", leak, body)
				}
			}
		})
	}
}

func TestStaticForbidden(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not apply to root")
	}
	s := startStatic(t)
	p := filepath.Join(s.dir, "files", "a.txt")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	resp, body := s.get(t, "GET", "/files/a.txt")
	if resp.StatusCode != 403 || bytes.Contains(body, []byte(s.dir)) {
		t.Errorf("unreadable file: %d %q", resp.StatusCode, body)
	}
	if err := os.Chmod(filepath.Join(s.dir, "sub"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(s.dir, "sub"), 0o755) })
	resp, body = s.get(t, "GET", "/sub/index.html")
	if resp.StatusCode != 403 || bytes.Contains(body, []byte(s.dir)) {
		t.Errorf("file in an unreadable directory: %d %q", resp.StatusCode, body)
	}
}

func TestStaticSpecialFile(t *testing.T) {
	s := startStatic(t)
	// Opening a FIFO for reading would block until a writer comes.
	fifo := filepath.Join(s.dir, "files", "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// Should the server block in open, a writer lets it go, so that the
	// test fails rather than hangs in Server.Close.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	s.client.Timeout = 3 * time.Second
	resp, body := s.get(t, "GET", "/files/fifo")
	if resp.StatusCode != 403 {
		t.Errorf("FIFO: %d %q", resp.StatusCode, body)
	}
	_, body = s.get(t, "GET", "/files/")
	if bytes.Contains(body, []byte("fifo")) || !bytes.Contains(body, []byte("a.txt")) {
		t.Errorf("listing with a FIFO:\n%s", body)
	}
}

func TestStaticNotFoundPage(t *testing.T) {
	s := startStatic(t)
	resp, body := s.get(t, "GET", "/missing.html", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!bytes.Contains(body, []byte(staticTag)) || resp.ContentLength != int64(len(body)) {
		t.Errorf("navigation: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = s.get(t, "GET", "/missing.js")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		bytes.Contains(body, []byte("<")) || resp.ContentLength != int64(len(body)) {
		t.Errorf("fetch: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// A page that did not exist appears once created: the 404 page carried
	// the reload client, and the same URL now serves the file.
	os.WriteFile(filepath.Join(s.dir, "missing.html"), []byte("<p>now here</p>"), 0o644)
	resp, body = s.get(t, "GET", "/missing.html")
	if resp.StatusCode != 200 || string(body) != "<p>now here</p>" {
		t.Errorf("after creating the file: %d %q", resp.StatusCode, body)
	}
}

func TestStaticKeepAlive(t *testing.T) {
	s := startStatic(t)
	tests := []struct {
		name      string
		requests  string
		responses []string // bodies, in order
		closed    bool     // the server closes after the last one
		connHdr   string   // Connection field of the first response
	}{
		{"HTTP/1.1 default", "GET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"read me", "body{color:red}"}, false, ""},
		{"Connection: close", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			[]string{"read me"}, true, "close"},
		{"HTTP/1.0", "GET /readme.txt HTTP/1.0\r\n\r\n",
			[]string{"read me"}, true, "close"},
		{"HTTP/1.0 keep-alive", "GET /readme.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /style.css HTTP/1.0\r\n\r\n",
			[]string{"read me", "body{color:red}"}, true, "keep-alive"},
		{"after 404 and 405", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nDELETE /readme.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"404 page not found\n", "405 method not allowed\n", "read me"}, false, ""},
		{"large file then small", "GET /bin/data.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{string(s.files["bin/data.bin"]), "read me"}, false, ""},
		{"large range then small", "GET /bin/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-60000\r\n\r\nGET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{string(s.files["bin/data.bin"][1000:60001]), "read me"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, br := s.dial(t)
			io.WriteString(c, tt.requests)
			for i, want := range tt.responses {
				resp, body := readResponse(t, br, "GET")
				if string(body) != want {
					t.Fatalf("response %d: %d %.100q, want %.100q", i, resp.StatusCode, body, want)
				}
				if i == 0 && tt.connHdr == "close" && !resp.Close {
					t.Errorf("response lacks Connection: close")
				}
				if i == 0 && tt.connHdr != "close" && resp.Header.Get("Connection") != tt.connHdr {
					t.Errorf("Connection %q, want %q", resp.Header.Get("Connection"), tt.connHdr)
				}
			}
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := br.Read(make([]byte, 1))
			closed := err == io.EOF
			if n > 0 || closed != tt.closed {
				t.Errorf("after the responses: read %d, %v; want closed=%v", n, err, tt.closed)
			}
		})
	}
	// Through net/http: requests reuse one connection.
	var conns atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conns.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, p := range []string{"/readme.txt", "/bin/data.bin", "/", "/files/", "/nope"} {
		resp, err := client.Get("http://" + s.addr + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("net/http dialed %d connections for 5 requests", n)
	}
}

func TestStaticMethodNotAllowed(t *testing.T) {
	s := startStatic(t)
	for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, "http://"+s.addr+"/index.html", strings.NewReader("some body"))
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("got %d Allow %q body %q", resp.StatusCode, resp.Header.Get("Allow"), body)
			}
		})
	}
	// The body of the refused request is not read as the next request.
	c, br := s.dial(t)
	smuggled := "GET /.env HTTP/1.1\r\nHost: x\r\n\r\n"
	fmt.Fprintf(c, "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%sGET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		len(smuggled), smuggled)
	if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 405 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || string(body) != "read me" {
		t.Fatalf("after POST: %d %q", resp.StatusCode, body)
	}
}

func TestStaticRequestBody(t *testing.T) {
	s := startStatic(t)
	smuggled := "GET /.env HTTP/1.1\r\nHost: x\r\n\r\n"
	tests := []struct {
		name   string
		head   string
		body   string
		delay  bool // send the body after reading the response
		closed bool
	}{
		{"length, with the head", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", smuggled, false, false},
		{"length, later", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", smuggled, true, false},
		{"chunked, with the head", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled), false, false},
		{"chunked, later", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled), true, true},
		{"too large to skip", "GET /readme.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
			strings.Repeat(smuggled, 4000), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, br := s.dial(t)
			head := tt.head
			if strings.Contains(head, "%d") {
				head = fmt.Sprintf(head, len(tt.body))
			}
			if tt.delay {
				io.WriteString(c, head)
			} else {
				io.WriteString(c, head+tt.body)
			}
			resp, body := readResponse(t, br, "GET")
			if resp.StatusCode != 200 || string(body) != "read me" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if resp.Close != tt.closed {
				t.Fatalf("Connection: close is %v, want %v", resp.Close, tt.closed)
			}
			if tt.delay {
				io.WriteString(c, tt.body)
			}
			if tt.closed {
				return
			}
			io.WriteString(c, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body = readResponse(t, br, "GET")
			if resp.StatusCode != 200 || string(body) != "body{color:red}" {
				t.Fatalf("next request: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestStaticLargeFile(t *testing.T) {
	s := startStatic(t)
	for _, size := range []int{0, 1, static.InlineFileMax, static.InlineFileMax + 1, 3 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			data := make([]byte, size)
			rand.New(rand.NewSource(int64(size))).Read(data)
			name := fmt.Sprintf("f%d.bin", size)
			if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			resp, body := s.get(t, "GET", "/"+name)
			if resp.StatusCode != 200 || resp.ContentLength != int64(size) || !bytes.Equal(body, data) {
				t.Errorf("got %d, Content-Length %d, %d bytes; want %d bytes", resp.StatusCode, resp.ContentLength, len(body), size)
			}
		})
	}
}

// TestStaticLargeListing checks a directory too large to hold: it is listed
// as it is read, chunked for HTTP/1.1 and until the close for HTTP/1.0,
// every entry once, dotfiles still hidden.
func TestStaticLargeListing(t *testing.T) {
	s := startStatic(t)
	dir := filepath.Join(s.dir, "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o644)
	check := func(t *testing.T, body string) {
		t.Helper()
		for i := range n {
			if c := strings.Count(body, fmt.Sprintf(`href="./f%04d.txt"`, i)); c != 1 {
				t.Fatalf("f%04d.txt listed %d times", i, c)
			}
		}
		if strings.Contains(body, ".hidden") || !strings.Contains(body, "directory order") ||
			strings.Count(body, staticTag) != 1 || !strings.HasSuffix(body, "</html>\n") {
			t.Errorf("listing: hidden file, note, tag or end wrong:\n%.500s…%s", body, body[max(0, len(body)-200):])
		}
	}

	resp, body := s.get(t, "GET", "/many/", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != 200 || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("HTTP/1.1: %d, length %d, TE %q", resp.StatusCode, resp.ContentLength, resp.TransferEncoding)
	}
	check(t, string(body))

	resp, body = s.raw(t, "GET /many/ HTTP/1.0\r\nSec-Fetch-Dest: document\r\n\r\n")
	if resp.StatusCode != 200 || !resp.Close || len(resp.TransferEncoding) != 0 {
		t.Fatalf("HTTP/1.0: %d, close %v, TE %q", resp.StatusCode, resp.Close, resp.TransferEncoding)
	}
	check(t, string(body))

	resp, body = s.get(t, "HEAD", "/many/")
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d with %d body bytes", resp.StatusCode, len(body))
	}
}

// TestStaticListingLinksAreServed: every link of a listing leads to its
// file; names the server refuses to serve (a backslash or a control
// character makes a path 400) are left out, as dotfiles are.
func TestStaticListingLinksAreServed(t *testing.T) {
	s := startStatic(t)
	dir := filepath.Join(s.dir, "odd")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"back\\slash.txt", "new\nline.txt", "esc\x1b[31m.txt", "tab\t.txt", "del\x7f.txt", "ok é.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, body := s.get(t, "GET", "/odd/")
	hrefs := regexp.MustCompile(`href="\./([^"]*)"`).FindAllStringSubmatch(string(body), -1)
	if len(hrefs) != 1 {
		t.Errorf("listing links %q, want only the one to ok é.txt:\n%s", hrefs, body)
	}
	for _, h := range hrefs {
		if resp, _ := s.get(t, "GET", "/odd/"+h[1]); resp.StatusCode != 200 {
			t.Errorf("link %q: status %d, want 200", h[1], resp.StatusCode)
		}
	}
}

// TestStaticListingPreconditions: a listing has no entity tag, so If-Match
// fails on it unless it is "*".
func TestStaticListingPreconditions(t *testing.T) {
	s := startStatic(t)
	for _, tt := range []struct {
		ifMatch string
		status  int
	}{{`"nope"`, 412}, {"*", 200}} {
		if resp, _ := s.get(t, "GET", "/files/", "If-Match", tt.ifMatch); resp.StatusCode != tt.status {
			t.Errorf("If-Match %s on a listing: status %d, want %d", tt.ifMatch, resp.StatusCode, tt.status)
		}
	}
}
