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

	clientScript     = withCommon(clientSource)
	liveReloadScript = withCommon(liveReloadSource)
)

// withCommon puts common.js in place of its marker line.
func withCommon(src []byte) []byte {
	const marker = "  /* common.js */\n"
	if bytes.Count(src, []byte(marker)) != 1 {
		panic("ws: a browser script lacks its common.js marker")
	}
	return bytes.Replace(src, []byte(marker), commonSource, 1)
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
// with another generation than it last saw), swaps stylesheets on css and
// shows a small badge on restarting. The caller must not modify the result.
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
