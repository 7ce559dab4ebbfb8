package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium (Debian's chromium) for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := requireTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// waitInTab evaluates a JavaScript expression in the tab until it returns
// want, for up to timeout. A page that is reloading makes evaluation fail
// for a moment; that is retried.
func waitInTab(t *testing.T, ctx context.Context, expr, want string, timeout time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	var err error
	for time.Now().Before(deadline) {
		evalCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		got, err = chromedp.Run(evalCtx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("tab: %s = %q (err %v) after %v, want %q\nproxy output:\n%s", expr, got, err, timeout, want, p.out)
}

// TestE2EBrowserReloads opens a page through the proxy in a real Chromium:
// saving a file turns the open tab into the new version with no script
// added by hand; a crash shows the 503 page in that tab, and fixing the code
// turns the tab back into the app by itself.
func TestE2EBrowserReloads(t *testing.T) {
	python := requireTool(t, "python3")
	ctx := newBrowser(t)
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := func(v string) string {
		return "<!DOCTYPE html><html><head><title>app</title></head><body><h1>" + v + "</h1></body></html>"
	}
	write("index.html", page("version 1"))
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--exec", "sh", "-c",
		`if [ -e broken ]; then echo "SyntaxError: boom" >&2; exit 3; fi; exec "$0" -m http.server --bind 127.0.0.1 "$1"`,
		python, backend)
	p.waitOutput("ready in", 1, 15*time.Second)

	hellos := countHellos(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/index.html"))); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.querySelector("h1").textContent`, "version 1", 10*time.Second, p)
	// The reload client is there although the page has no script; wait
	// until its socket is connected before changing anything.
	waitInTab(t, ctx, `String(document.querySelectorAll("script[src='/.reloadproxy/client.js']").length)`, "1", 5*time.Second, p)
	hellos.wait(t, 1, p)

	// A save: the backend restarts and the tab reloads by itself.
	write("index.html", page("version 2"))
	waitInTab(t, ctx, `document.querySelector("h1").textContent`, "version 2", 15*time.Second, p)

	// A crash: the tab shows the 503 page.
	hellos.wait(t, 2, p)
	write("broken", "")
	waitInTab(t, ctx, `String(document.body.innerText.includes("503") && document.body.innerText.includes("SyntaxError: boom"))`, "true", 15*time.Second, p)

	// The fix: the same tab turns back into the app.
	hellos.wait(t, 3, p)
	if err := os.Remove(filepath.Join(dir, "broken")); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.querySelector("h1") ? document.querySelector("h1").textContent : document.title`, "version 2", 15*time.Second, p)
}

// helloCounter counts the hello messages the tab's reload client receives,
// seen through the DevTools protocol: each one means its socket is
// connected and a change made next will reach it.
type helloCounter struct{ n atomic.Int32 }

func countHellos(t *testing.T, ctx context.Context) *helloCounter {
	t.Helper()
	h := &helloCounter{}
	err := chromedp.Listen(ctx, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok && bytes.Contains(f.Response.PayloadData, []byte(`"type":"hello"`)) {
			h.n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return h
}

// wait waits until at least n hellos were received in all.
func (h *helloCounter) wait(t *testing.T, n int32, p *proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.n.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the tab's reload client did not connect (%d hellos, want %d)\nproxy output:\n%s", h.n.Load(), n, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
