package main

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// vitePackage is the project's package.json. Vite keeps its cache where
// the package's node_modules is (here a link to testdata/vite's), not in
// the project, where reloadproxy would see it.
const vitePackage = `{"private": true, "type": "module"}
`

// viteIndex is the page: an inline script counts the tab's page loads in
// sessionStorage (HMR does not run it again; a reload does).
const viteIndex = `<!DOCTYPE html>
<html>
  <head><title>vite app</title></head>
  <body>
    <p id="out"></p>
    <script>sessionStorage.setItem("loads", String(Number(sessionStorage.getItem("loads") || 0) + 1));</script>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`

// viteMain is a module that accepts its own updates: Vite's HMR runs the
// new version in the same page.
func viteMain(text string) string {
	return `document.getElementById("out").textContent = "` + text + `";
if (import.meta.hot) import.meta.hot.accept();
`
}

// TestE2EVite runs the README's Vite lines of "With your framework", attach
// mode:
//
//	npx vite --host 127.0.0.1 --port 5173 --strictPort
//	reloadproxy 8000 127.0.0.1:5173
//
// with Vite from testdata/vite (npm ci), in real Chromium through the
// proxy. An edit of a module is applied by Vite's HMR, through the proxied
// WebSocket, and the page does not navigate although reloadproxy saw the
// change too (its reload is of kind change, left to Vite's client). A
// restart of Vite reloads the page exactly once (Vite's client does it;
// reloadproxy's recovered reload is left to it).
func TestE2EVite(t *testing.T) {
	npx := requireTool(t, "npx")
	dir := t.TempDir()
	linkModules(t, dir, "vite")
	writeProject(t, dir, map[string]string{"package.json": vitePackage, "index.html": viteIndex, "main.js": viteMain("version 1")})
	ctx := newBrowser(t)

	vitePort := strconv.Itoa(freePort(t))
	viteAddr := "127.0.0.1:" + vitePort
	viteArgs := []string{npx, "vite", "--host", "127.0.0.1", "--port", vitePort, "--strictPort"}
	vite := startServer(t, dir, viteAddr, viteArgs...)
	p := startReloadproxy(t, dir, "LISTEN", viteAddr)

	hellos := countHellos(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/"))); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 1", 30*time.Second, p)
	hellos.wait(t, 1, p)
	// Vite's client is connected (its HMR socket, through the proxy).
	waitInTab(t, ctx, `String(performance.getEntriesByType("resource").some(e => e.name.includes("/@vite/client")))`, "true", 5*time.Second, p)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.marker = 1; true`)); err != nil {
		t.Fatal(err)
	}
	loads := func(want string, d time.Duration) {
		t.Helper()
		waitInTab(t, ctx, `sessionStorage.getItem("loads")`, want, d, p)
	}
	loads("1", time.Second)

	// An edit: HMR updates the text in place.
	writeProject(t, dir, map[string]string{"main.js": viteMain("version 2")})
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 2", 15*time.Second, p)
	// reloadproxy saw it too and told the tab once Vite answered again.
	p.waitOutput("main.js changed: waiting for "+viteAddr+" to answer again", 1, 5*time.Second)
	p.waitOutput(viteAddr+" answers after", 2, 10*time.Second)
	time.Sleep(time.Second)
	waitInTab(t, ctx, `String(window.marker)`, "1", time.Second, p)
	loads("1", time.Second)

	// Vite stops and starts again on the same port: one reload.
	syscall.Kill(-vite.Process.Pid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); !groupGone(vite.Process.Pid); {
		if time.Now().After(deadline) {
			t.Fatal("vite's process group did not end within 10s of SIGKILL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	startServer(t, dir, viteAddr, viteArgs...)
	loads("2", 30*time.Second)
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 2", 10*time.Second, p)
	waitInTab(t, ctx, `String(window.marker)`, "undefined", time.Second, p)
	p.waitOutput(viteAddr+" stopped answering: waiting for it", 1, 10*time.Second)
	p.waitOutput(viteAddr+" answers after", 3, 10*time.Second)
	time.Sleep(1500 * time.Millisecond)
	loads("2", time.Second)
}

// TestE2EViteExec runs the README's other Vite line of "With your
// framework", proxy mode restarting Vite only when its configuration
// changes:
//
//	reloadproxy 8000 127.0.0.1:5173 -p 'vite.config.*' --exec npx vite --host 127.0.0.1 --port 5173 --strictPort
//
// An edit of a module is HMR only (no restart, no navigation); an edit of
// vite.config.js restarts Vite and reloads the tab exactly once, although
// both reloadproxy's client and Vite's notice the restart.
func TestE2EViteExec(t *testing.T) {
	npx := requireTool(t, "npx")
	dir := t.TempDir()
	linkModules(t, dir, "vite")
	writeProject(t, dir, map[string]string{"package.json": vitePackage, "index.html": viteIndex, "main.js": viteMain("version 1"), "vite.config.js": "export default {};\n"})
	ctx := newBrowser(t)

	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+backend, "-p", "vite.config.*",
		"--exec", npx, "vite", "--host", "127.0.0.1", "--port", backend, "--strictPort")
	p.waitOutput("ready in", 1, projectTimeout)

	navs := countNavigations(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/"))); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 1", 30*time.Second, p)
	navs.expect(t, 1, time.Second, p)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.marker = 1; true`)); err != nil {
		t.Fatal(err)
	}

	writeProject(t, dir, map[string]string{"main.js": viteMain("version 2")})
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 2", 15*time.Second, p)
	stayedQuiet(t, p, time.Second)
	waitInTab(t, ctx, `String(window.marker)`, "1", time.Second, p)
	navs.expect(t, 1, 0, p)

	writeProject(t, dir, map[string]string{"vite.config.js": "export default { clearScreen: false };\n"})
	p.waitOutput("reloadproxy: restarting: vite.config.js changed", 1, 10*time.Second)
	waitInTab(t, ctx, `String(window.marker)`, "undefined", projectTimeout, p)
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 2", 10*time.Second, p)
	time.Sleep(2 * time.Second)
	navs.expect(t, 2, 0, p)
	waitInTab(t, ctx, `sessionStorage.getItem("loads")`, "2", time.Second, p)
	if n := starts(p); n != 2 {
		t.Fatalf("%d starts of Vite, want 2:\n%s", n, p.out)
	}
}
