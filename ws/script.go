package ws

import (
	"bytes"
	_ "embed"
)

// The browser clients, embedded so that the binary needs nothing else. Both
// keep their socket open and swap stylesheets with the same code, kept
// once in common.js.
var (
	//go:embed client.js
	clientSource []byte
	//go:embed livereload.js
	liveReloadSource []byte
	//go:embed common.js
	commonSource []byte

	clientScript     = compact(withCommon(clientSource))
	liveReloadScript = compact(withCommon(liveReloadSource))
)

// withCommon puts common.js in place of its marker line.
func withCommon(src []byte) []byte {
	const marker = "  /* common.js */\n"
	if bytes.Count(src, []byte(marker)) != 1 {
		panic("ws: a browser script lacks its common.js marker")
	}
	return bytes.Replace(src, []byte(marker), commonSource, 1)
}

// compact drops from a browser script its indentation, blank lines and
// whole-line // comments, except the leading ones that say what the script
// is: the sources are commented for their readers, browsers get the code
// (a third smaller). Line breaks stay, so automatic semicolon insertion is
// unchanged. It relies on what the sources are: plain ES5, where no string
// spans lines, and no line of a string or regular expression starts with //.
func compact(src []byte) []byte {
	out := make([]byte, 0, len(src))
	header := true
	for line := range bytes.Lines(src) {
		t := bytes.TrimLeft(line, " \t")
		comment := bytes.HasPrefix(t, []byte("//"))
		header = header && comment
		if len(bytes.TrimSpace(t)) == 0 || comment && !header {
			continue
		}
		out = append(out, t...)
	}
	return out
}

// The LiveReload port's endpoints (protocol v7): the script pages include
// themselves, and the WebSocket it connects to.
const (
	LiveReloadScriptPath = "/livereload.js"
	LiveReloadSocketPath = "/livereload"
)

// scriptTag is what the proxy injects into HTML pages.
const scriptTag = `<script src="` + ScriptPath + `" async></script>`

// ClientScript returns the browser client served on ScriptPath: it connects
// to SocketPath, reconnects with backoff, reloads on reload (or on a hello
// with another generation than it last saw) except for a change when the
// page runs a dev server's own client (Vite, webpack HMR, Next.js,
// livereload.js, browser-sync), swaps stylesheets on css, shows a small
// badge on restarting and building, and shows a failed build's output over
// the page (ANSI colours kept) until closed or the next reload message. The
// caller must not modify the result.
func ClientScript() []byte { return clientScript }

// ScriptTag returns the tag the proxy injects into HTML pages to load the
// client. It is constant (the same bytes, the same length, for every page),
// so the proxy can add len(ScriptTag()) to Content-Length before streaming.
// The caller must not modify the result.
func ScriptTag() []byte { return scriptTagBytes }

var scriptTagBytes = []byte(scriptTag)

// LiveReloadScript returns the small LiveReload v7 client served on
// LiveReloadScriptPath of the LiveReload port, for pages that include it
// themselves: it connects to /livereload on the host and port it was loaded
// from and behaves as ClientScript does for reload and CSS messages. The
// caller must not modify the result.
func LiveReloadScript() []byte { return liveReloadScript }
