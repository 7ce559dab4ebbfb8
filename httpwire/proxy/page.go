package proxy

import (
	"errors"
	"fmt"
	"html"
	"strconv"
	"time"

	"reloadproxy/httpwire"
)

// answerPage writes page as the response to the current request. keep says
// whether the connection could stay open (the request body, if any, was
// fully read); it reports whether it does.
func (c *conn) answerPage(page *ErrorPage, nav, keep bool) bool {
	keep = keep && c.req.KeepAlive && c.srv.epoch.Load() == c.epoch
	c.out = c.appendPage(c.out[:0], page, nav, keep)
	return c.writeClient(c.out) && keep
}

// appendPage renders page for the current request and client.
func (c *conn) appendPage(dst []byte, page *ErrorPage, nav, keep bool) []byte {
	return appendErrorPage(dst, page, pageFor{nav: nav, keep: keep, isHead: c.isHead, loopback: c.loopback, tag: c.srv.Inject})
}

// pageFor is who an error page is for.
type pageFor struct {
	nav      bool   // a page navigation: HTML, else plain text
	keep     bool   // the connection stays open after it
	isHead   bool   // no body
	loopback bool   // the client is on this machine: it may see the output
	tag      []byte // the reload client's tag, for the HTML page
}

// appendErrorPage renders an error page response: HTML for browsers, with
// the reload client so the tab turns back into the app by itself; plain
// text for everything else. The detail (which names the command) and the
// backend's output are shown to clients on this machine only; others get
// the status and the one-line title.
func appendErrorPage(dst []byte, page *ErrorPage, to pageFor) []byte {
	var body []byte
	ctype := "text/plain; charset=utf-8"
	detail, output := page.Detail, page.Output
	if !to.loopback {
		detail, output = "", nil
	}
	if to.nav {
		ctype = "text/html; charset=utf-8"
		body = appendHTMLPage(nil, page, detail, output, to.tag)
	} else {
		body = append(body, page.Title...)
		body = append(body, "\n\n"...)
		if detail != "" {
			body = append(body, detail...)
			body = append(body, '\n')
		}
		if len(output) > 0 {
			body = append(body, "\nLast output:\n"...)
			body = append(body, output...)
			if output[len(output)-1] != '\n' {
				body = append(body, '\n')
			}
		}
	}
	dst = httpwire.AppendStatusLine(dst, page.Status)
	dst = append(dst, "Content-Type: "...)
	dst = append(dst, ctype...)
	dst = append(dst, "\r\nCache-Control: no-store\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	if !to.keep {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !to.isHead {
		dst = append(dst, body...)
	}
	return dst
}

func appendHTMLPage(dst []byte, page *ErrorPage, detail string, output, inject []byte) []byte {
	title := html.EscapeString(page.Title)
	dst = append(dst, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">`...)
	dst = append(dst, inject...)
	dst = fmt.Appendf(dst, `<title>%d · %s</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
main{max-width:60rem;margin:3rem auto;padding:0 1.5rem}
h1{font-size:1.4rem;margin:0 0 .5rem}
.status{color:#b00020;font-weight:600;letter-spacing:.02em}
pre{background:#1e1e1e;color:#eee;padding:1rem;overflow:auto;border-radius:6px;font:13px/1.4 ui-monospace,monospace;white-space:pre-wrap}
footer{color:#777;font-size:.85rem;margin-top:2rem}
</style></head>
<body><main>
<p class="status">%d %s</p>
<h1>%s</h1>
`, page.Status, title, page.Status, httpwire.StatusText(page.Status), title)
	if detail != "" {
		dst = fmt.Appendf(dst, "<p>%s</p>\n", html.EscapeString(detail))
	}
	if len(output) > 0 {
		dst = fmt.Appendf(dst, "<p>Last output:</p>\n<pre>%s</pre>\n", html.EscapeString(string(output)))
	}
	dst = fmt.Appendf(dst, "<footer>reloadproxy · %s · this page reloads by itself when the server is back.</footer>\n</main></body></html>\n",
		time.Now().Format("15:04:05"))
	return dst
}

func unreachablePage(addr string, err error) *ErrorPage {
	return &ErrorPage{
		Status: 502,
		Title:  "Could not connect to your server at " + addr,
		Detail: "The connection failed: " + err.Error() + ". Check that your server listens on that address.",
	}
}

func (c *conn) backendFailurePage(err error) *ErrorPage {
	switch {
	case err == errResponseTimeout:
		return &ErrorPage{
			Status: 504,
			Title:  "Your server did not answer within " + c.srv.ResponseTimeout.String(),
			Detail: "The request reached the server at " + c.up.addr + " but no response head came back in time (--response-timeout).",
		}
	case err == errTooManyInterim:
		c.srv.logf("backend at %s sent more than %d interim (1xx) responses to one request", c.up.addr, maxInterim)
		return &ErrorPage{Status: 502, Title: "Your server sent 1xx responses without end", Detail: "It never sent a final response."}
	case err == errUnsolicited:
		c.srv.logf("backend at %s switched protocols on a request that did not ask to upgrade", c.up.addr)
		return &ErrorPage{Status: 502, Title: "Your server sent an unexpected 101 Switching Protocols", Detail: "The request did not ask to upgrade the connection."}
	}
	var pe *httpwire.Error
	if errors.As(err, &pe) {
		c.srv.logf("backend at %s sent a malformed response: %s", c.up.addr, pe.Reason)
		return &ErrorPage{Status: 502, Title: "Your server sent a malformed response", Detail: "The response could not be parsed: " + pe.Reason + "."}
	}
	return &ErrorPage{
		Status: 502,
		Title:  "Your server closed the connection without a complete response",
		Detail: "The server at " + c.up.addr + " ended the connection before its response head was complete.",
	}
}
