package httpwire

import (
	"errors"
	"fmt"
	"html"
	"strconv"
	"time"
)

// answerPage writes page as the response to the current request. keep says
// whether the connection could stay open (the request body, if any, was
// fully read); it reports whether it does.
func (c *conn) answerPage(page *ErrorPage, wantsHTML, keep bool) bool {
	keep = keep && c.req.KeepAlive && c.srv.epoch.Load() == c.epoch
	c.out = c.appendPage(c.out[:0], page, wantsHTML, keep)
	return c.writeClient(c.out) && keep
}

// appendPage renders an error page response: HTML for browsers, with the
// reload client so the tab turns back into the app by itself; plain text
// for everything else. The backend's output is shown to local clients only.
func (c *conn) appendPage(dst []byte, page *ErrorPage, wantsHTML, keep bool) []byte {
	var body []byte
	ctype := "text/plain; charset=utf-8"
	output := page.Output
	if !c.loopback {
		output = nil
	}
	if wantsHTML {
		ctype = "text/html; charset=utf-8"
		body = appendHTMLPage(nil, page, output, c.srv.Inject)
	} else {
		body = append(body, page.Title...)
		body = append(body, "\n\n"...)
		if page.Detail != "" {
			body = append(body, page.Detail...)
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
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(page.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(page.Status)...)
	dst = append(dst, "\r\nContent-Type: "...)
	dst = append(dst, ctype...)
	dst = append(dst, "\r\nCache-Control: no-store\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	if !keep {
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, "\r\n\r\n"...)
	if !c.isHead {
		dst = append(dst, body...)
	}
	return dst
}

func appendHTMLPage(dst []byte, page *ErrorPage, output, inject []byte) []byte {
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
`, page.Status, title, page.Status, statusText(page.Status), title)
	if page.Detail != "" {
		dst = fmt.Appendf(dst, "<p>%s</p>\n", html.EscapeString(page.Detail))
	}
	if len(output) > 0 {
		dst = fmt.Appendf(dst, "<p>Last output:</p>\n<pre>%s</pre>\n", html.EscapeString(string(output)))
	}
	dst = fmt.Appendf(dst, "<footer>reloadproxy · %s · this page reloads by itself when the server is back.</footer>\n</main></body></html>\n",
		time.Now().Format("15:04:05"))
	return dst
}

// wantsHTML reports whether the client is a browser loading a page: it
// asked for a document (Sec-Fetch-Dest), or, without that field, accepts
// text/html.
func wantsHTML(req *RequestHead) bool {
	if dest := req.Field("Sec-Fetch-Dest"); dest != nil {
		return equalFold(dest, "document") || equalFold(dest, "iframe")
	}
	accept := req.Field("Accept")
	for i := 0; i+len("text/html") <= len(accept); i++ {
		if equalFold(accept[i:i+len("text/html")], "text/html") {
			return true
		}
	}
	return false
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
			Detail: "The request reached the server at " + c.beAddr + " but no response head came back in time (--response-timeout).",
		}
	case err == errUnsolicited:
		c.srv.logf("backend at %s switched protocols on a request that did not ask to upgrade", c.beAddr)
		return &ErrorPage{Status: 502, Title: "Your server sent an unexpected 101 Switching Protocols", Detail: "The request did not ask to upgrade the connection."}
	}
	var pe *Error
	if errors.As(err, &pe) {
		c.srv.logf("backend at %s sent a malformed response: %s", c.beAddr, pe.Reason)
		return &ErrorPage{Status: 502, Title: "Your server sent a malformed response", Detail: "The response could not be parsed: " + pe.Reason + "."}
	}
	return &ErrorPage{
		Status: 502,
		Title:  "Your server closed the connection without a complete response",
		Detail: "The server at " + c.beAddr + " ended the connection before its response head was complete.",
	}
}

// serveLocal answers requests for the proxy's own endpoints.
func (c *conn) serveLocal() bool {
	req := &c.req
	if req.Upgrade && c.srv.LocalUpgrade != nil {
		c.handOff()
		return false
	}
	path := req.Target
	for i, b := range path {
		if b == '?' {
			path = path[:i]
			break
		}
	}
	keep := req.KeepAlive && !req.HasBody()
	isHead := req.IsHead()
	var status int
	var file LocalFile
	if f, ok := c.srv.LocalFiles[string(path)]; !ok {
		status = 404
		file = LocalFile{ContentType: "text/plain; charset=utf-8", Body: []byte("404 page not found\n")}
	} else if isHead || string(req.Method) == "GET" {
		status, file = 200, f
	} else {
		status = 405
		file = LocalFile{ContentType: "text/plain; charset=utf-8", Body: []byte("405 method not allowed\n")}
	}
	minor := req.Minor
	c.in.consume(c.headLen)
	c.out = c.out[:0]
	c.out = append(c.out, "HTTP/1.1 "...)
	c.out = strconv.AppendInt(c.out, int64(status), 10)
	c.out = append(c.out, ' ')
	c.out = append(c.out, statusText(status)...)
	c.out = append(c.out, "\r\nContent-Type: "...)
	c.out = append(c.out, file.ContentType...)
	c.out = append(c.out, "\r\nCache-Control: no-cache\r\nContent-Length: "...)
	c.out = strconv.AppendInt(c.out, int64(len(file.Body)), 10)
	switch {
	case !keep:
		c.out = append(c.out, "\r\nConnection: close"...)
	case minor == 0:
		c.out = append(c.out, "\r\nConnection: keep-alive"...)
	}
	c.out = append(c.out, "\r\n\r\n"...)
	if !isHead {
		c.out = append(c.out, file.Body...)
	}
	return c.writeClient(c.out) && keep
}

// handOff gives the connection to LocalUpgrade, which owns it from then on:
// closing it is its job.
func (c *conn) handOff() {
	c.handedOff = true
	c.srv.LocalUpgrade(c.nc, c.in.buffered())
}
