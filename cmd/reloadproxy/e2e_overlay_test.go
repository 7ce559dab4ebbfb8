package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"
)

// The build step in real Chromium: the build-failure overlay, and a static
// site rebuilt by npm run build.

// shadowContent is what a tab's closed shadow roots hold, read through the
// DevTools protocol: DOM.getDocument with pierce reaches closed roots,
// which no script of the page can.
type shadowContent struct {
	text     string   // the text of every node inside a shadow root
	elements []string // the names of every element, in the document and in shadow roots
}

// readShadow reads the tab's whole DOM, shadow roots included.
func readShadow(t *testing.T, ctx context.Context) shadowContent {
	t.Helper()
	depth, pierce := int64(-1), true
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	doc, err := chromedp.Call(callCtx, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
	if err != nil {
		t.Fatalf("DOM.getDocument: %v", err)
	}
	var c shadowContent
	var text strings.Builder
	var walk func(n *cdp.Node, inShadow bool)
	walk = func(n *cdp.Node, inShadow bool) {
		if n.NodeType == chromedp.NodeTypeElement {
			c.elements = append(c.elements, strings.ToLower(n.NodeName))
		}
		if inShadow && n.NodeType == chromedp.NodeTypeText {
			text.WriteString(n.NodeValue)
		}
		for _, s := range n.ShadowRoots {
			walk(s, true)
		}
		for _, ch := range n.Children {
			walk(ch, inShadow)
		}
	}
	walk(doc.Root, false)
	c.text = text.String()
	return c
}

// waitOverlay waits until the tab shows the build-failure overlay (its host
// element is in the document) and returns what the shadow roots hold.
func waitOverlay(t *testing.T, ctx context.Context, p *proc) shadowContent {
	t.Helper()
	waitInTab(t, ctx, `String(document.getElementById("reloadproxy-overlay") !== null)`, "true", projectTimeout, p)
	return readShadow(t, ctx)
}

// TestE2EBuildOverlay: a compile error whose output holds HTML shows the
// overlay in an open tab, without reloading it, and in a tab opened after
// it; the compiler's text is shown as text (no <b> element is made);
// fixing the code turns both tabs into the new version with no overlay.
// The command is the README's Go line of "Build step".
func TestE2EBuildOverlay(t *testing.T) {
	requireTool(t, "go")
	ctx := newBrowser(t)
	dir := t.TempDir()
	writeProject(t, dir, map[string]string{"go.mod": goModule, "main.go": goServer("version 1", "")})
	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", backend, "--build", "go build -o bin/app .", "-x", "bin", "--exec", "bin/app")
	p.waitOutput("ready in", 1, projectTimeout)

	openMarkedTab(t, ctx, p, "version 1")

	// The compiler says: cannot use "<b>bold</b>" (untyped string
	// constant) as int value.
	writeProject(t, dir, map[string]string{"main.go": goServer("version 2", "var broken int = \"<b>bold</b>\"\n")})
	matchOutput(t, p, `reloadproxy: error: build failed \(exit 1\)`, 1, projectTimeout)
	checkOverlay := func(name string, ctx context.Context) {
		t.Helper()
		c := waitOverlay(t, ctx, p)
		for _, want := range []string{"build failed (exit 1): go build -o bin/app .", `"<b>bold</b>"`, "cannot use"} {
			if !strings.Contains(c.text, want) {
				t.Fatalf("%s: the overlay's text %q does not hold %q", name, c.text, want)
			}
		}
		for _, el := range c.elements {
			if el == "b" {
				t.Fatalf("%s: the compiler's output made a <b> element (elements %v)", name, c.elements)
			}
		}
		// The app is still there under the overlay.
		waitInTab(t, ctx, `document.querySelector("h1").textContent`, "version 1", time.Second, p)
	}
	checkOverlay("open tab", ctx)
	// The open tab was not reloaded.
	waitInTab(t, ctx, `String(window.marker)`, "1", time.Second, p)

	// A tab opened now gets the standing failure after its hello.
	tab2, cancel2 := chromedp.NewContext(ctx)
	defer cancel2()
	if err := chromedp.Do(tab2, chromedp.Navigate(p.url("/"))); err != nil {
		t.Fatal(err)
	}
	checkOverlay("new tab", tab2)

	// The fix: both tabs turn into the new version, with no overlay.
	writeProject(t, dir, map[string]string{"main.go": goServer("version 3", "")})
	for _, tab := range []context.Context{ctx, tab2} {
		waitInTab(t, tab, `document.querySelector("h1") ? document.querySelector("h1").textContent : ""`, "version 3", projectTimeout, p)
		waitInTab(t, tab, `String(document.getElementById("reloadproxy-overlay") === null)`, "true", time.Second, p)
		if c := readShadow(t, tab); strings.Contains(c.text, "build failed") {
			t.Fatalf("after the fix a shadow root still holds %q", c.text)
		}
	}
}

// TestE2EBuildStaticSite runs the README's static-site line of "Build
// step":
//
//	reloadproxy 8000 --root dist -w src --build 'npm run build'
//
// on an npm project whose build script copies src to dist: an edit in src
// rebuilds, and the open tab reloads into the new page.
func TestE2EBuildStaticSite(t *testing.T) {
	requireTool(t, "npm")
	ctx := newBrowser(t)
	dir := t.TempDir()
	page := func(v string) string {
		return "<!DOCTYPE html><html><head><title>site</title></head><body><h1>" + v + "</h1></body></html>\n"
	}
	writeProject(t, dir, map[string]string{
		"package.json":   `{"private": true, "scripts": {"build": "mkdir -p dist && cp src/index.html dist/index.html"}}` + "\n",
		"src/index.html": page("version 1"),
	})
	// As on a fresh checkout, dist does not exist: the first build, run
	// at start, makes it.
	p := startReloadproxy(t, dir, "LISTEN", "--root", "dist", "-w", "src", "--build", "npm run build")
	p.waitOutput("reloadproxy: --root dist does not exist yet: building it", 1, time.Second)
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 1, projectTimeout)

	openMarkedTab(t, ctx, p, "version 1")

	writeProject(t, dir, map[string]string{"src/index.html": page("version 2")})
	waitInTab(t, ctx, `document.querySelector("h1") ? document.querySelector("h1").textContent : ""`, "version 2", projectTimeout, p)
	// A reload, not a change made in place.
	waitInTab(t, ctx, `String(window.marker)`, "undefined", time.Second, p)
	p.waitOutput("reloadproxy: building: npm run build", 2, time.Second)
	matchOutput(t, p, `reloadproxy: build ok in \d+\.\d s\n`, 2, time.Second)
	if got, err := os.ReadFile(filepath.Join(dir, "dist", "index.html")); err != nil || string(got) != page("version 2") {
		t.Fatalf("dist/index.html = %q (%v)", got, err)
	}
}

// openMarkedTab opens p's page in ctx's tab, waits until its h1 says h1
// and its reload client has said hello, and marks the page's window, so
// that a reload shows as the mark gone.
func openMarkedTab(t *testing.T, ctx context.Context, p *proc, h1 string) {
	t.Helper()
	hellos := countHellos(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/"))); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.querySelector("h1").textContent`, h1, 10*time.Second, p)
	hellos.wait(t, 1, p)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.marker = 1; true`)); err != nil {
		t.Fatal(err)
	}
}
