package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// navCounter counts the navigations of a tab's main frame, seen through the
// DevTools protocol (Page.frameNavigated): a reload is one, an HMR update
// none.
type navCounter struct{ n atomic.Int32 }

func countNavigations(t *testing.T, ctx context.Context) *navCounter {
	t.Helper()
	c := &navCounter{}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventFrameNavigated); ok && e.Frame != nil && e.Frame.ParentID == "" {
			c.n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expect checks that the tab navigated exactly n times in all, waiting up to
// d for the count to get there.
func (c *navCounter) expect(t *testing.T, n int32, d time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(d)
	for c.n.Load() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := c.n.Load(); got != n {
		t.Fatalf("the tab navigated %d times, want %d\nproxy output:\n%s", got, n, p.out)
	}
}

const nextLayout = `export default function RootLayout({ children }) {
  return (
    <html>
      <body>{children}</body>
    </html>
  );
}
`

// nextPage is a client component that marks itself hydrated: Next's router
// must be up before an edit, or Fast Refresh fails ("Router action
// dispatched before initialization"), which a loaded machine makes likely.
func nextPage(text string) string {
	return `'use client';
import { useEffect, useState } from 'react';
export default function Page() {
  const [hydrated, setHydrated] = useState('no');
  useEffect(() => setHydrated('yes'), []);
  return <h1 id="out" data-hydrated={hydrated}>` + text + `</h1>;
}
`
}

// TestE2ENextjs runs the README's Next.js line of "With your framework",
// proxy mode restarting next dev only when its configuration changes:
//
//	reloadproxy 8000 127.0.0.1:3000 -p 'next.config.*' --exec npx next dev --hostname 127.0.0.1 --port 3000
//
// (next dev writes its build to .next in the project: never watched.)
// with Next.js from testdata/nextjs (npm ci), in real Chromium. An edit of
// a page is applied by Next's own Fast Refresh: no restart, no navigation.
// An edit of next.config.mjs restarts next dev and reloads the tab once.
func TestE2ENextjs(t *testing.T) {
	npx := requireTool(t, "npx")
	modules := testdataModules(t, "nextjs")
	// The project lives next to node_modules (Turbopack refuses a
	// node_modules symlink that leads out of the project's root).
	dir, err := os.MkdirTemp(filepath.Dir(modules), "run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	writeProject(t, dir, map[string]string{
		"next.config.mjs": "export default {};\n",
		"app/layout.js":   nextLayout,
		"app/page.js":     nextPage("version 1"),
	})
	t.Setenv("NEXT_TELEMETRY_DISABLED", "1") // no network here
	ctx := newBrowser(t)

	backend := strconv.Itoa(freePort(t))
	p := startReloadproxy(t, dir, "LISTEN", "127.0.0.1:"+backend, "-p", "next.config.*",
		"--exec", npx, "next", "dev", "--hostname", "127.0.0.1", "--port", backend)
	p.waitOutput("ready in", 1, 2*projectTimeout)

	navs := countNavigations(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url("/"))); err != nil {
		t.Fatal(err)
	}
	waitInTab(t, ctx, `document.getElementById("out").textContent`, "version 1", projectTimeout, p)
	navs.expect(t, 1, time.Second, p)
	// Next's client is up: Turbopack's HMR runtime is there, and the page
	// is hydrated (so the router is initialised).
	waitInTab(t, ctx, `String(typeof window.TURBOPACK_CHUNK_UPDATE_LISTENERS !== "undefined" || typeof window.next !== "undefined")`, "true", 10*time.Second, p)
	waitInTab(t, ctx, `document.getElementById("out").dataset.hydrated`, "yes", projectTimeout, p)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.marker = 1; true`)); err != nil {
		t.Fatal(err)
	}

	// A page edit: Fast Refresh, no restart, no navigation. next dev sets
	// its file watcher up in the background: on a loaded machine an edit
	// may come before it, so the edit is made again until it is seen.
	editUntilShown(t, ctx, p, projectTimeout, func() {
		writeProject(t, dir, map[string]string{"app/page.js": nextPage("version 2")})
	}, `document.getElementById("out").textContent`, "version 2")
	stayedQuiet(t, p, time.Second)
	waitInTab(t, ctx, `String(window.marker)`, "1", time.Second, p)
	navs.expect(t, 1, 0, p)

	// A configuration edit: next dev restarts, the tab reloads once.
	writeProject(t, dir, map[string]string{"next.config.mjs": "export default { poweredByHeader: false };\n"})
	p.waitOutput("reloadproxy: restarting: next.config.mjs changed", 1, 10*time.Second)
	waitInTab(t, ctx, `String(window.marker)`, "undefined", 2*projectTimeout, p)
	waitInTab(t, ctx, `document.getElementById("out") ? document.getElementById("out").textContent : ""`, "version 2", projectTimeout, p)
	time.Sleep(2 * time.Second)
	navs.expect(t, 2, 0, p)
	if n := starts(p); n != 2 {
		t.Fatalf("%d starts of next dev, want 2:\n%s", n, p.out)
	}
}

// editUntilShown makes an edit, and makes it again every 5 s until the tab
// shows it (expr evaluates to want), for at most timeout.
func editUntilShown(t *testing.T, ctx context.Context, p *proc, timeout time.Duration, edit func(), expr, want string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		edit()
		round := min(5*time.Second, time.Until(deadline))
		for end := time.Now().Add(round); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			evalCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			got, err := chromedp.Run(evalCtx, chromedp.Evaluate[string](expr))
			cancel()
			if err == nil && got == want {
				return
			}
		}
		if time.Now().After(deadline) {
			waitInTab(t, ctx, expr, want, 0, p) // reports what the tab shows
			return
		}
	}
}
