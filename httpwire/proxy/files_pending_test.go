package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"reloadproxy/httpwire/static"
)

// TestFilesPending: while FilesPending returns a page, every request gets
// it (HTML for a navigation, text otherwise) and nothing from the
// directory; once it returns nil, the files are served.
func TestFilesPending(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("file a"), 0o644); err != nil {
		t.Fatal(err)
	}
	var pending atomic.Pointer[ErrorPage]
	pending.Store(&ErrorPage{Status: 503, Title: "The build failed", Output: []byte("main.go:3: undefined: x")})
	addr := startProxy(t, &Server{
		Files:        &static.FileServer{Root: dir},
		FilesPending: func() *ErrorPage { return pending.Load() },
		Inject:       []byte(testTag),
	})

	got := rawExchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "The build failed") ||
		!strings.Contains(got, "undefined: x") || strings.Contains(got, "file a") {
		t.Errorf("fetch while pending: got %q, want the 503 page with the output", got)
	}
	got = rawExchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Dest: document\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "text/html") || !strings.Contains(got, testTag) {
		t.Errorf("navigation while pending: got %q, want the HTML 503 page with the reload client", got)
	}
	// Kept alive: the next request on the connection is answered too.
	got = rawExchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	if n := strings.Count(got, "HTTP/1.1 503 "); n != 2 {
		t.Errorf("two requests on one connection: %d pages in %q, want 2", n, got)
	}

	pending.Store(nil)
	got = rawExchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, "file a") {
		t.Errorf("once built: got %q, want the file", got)
	}
}
