// Package static answers requests from a directory (reloadproxy's static
// mode): safe paths, directory listings, byte ranges, conditional requests,
// MIME types, and the reload client injected into HTML pages. It returns a
// response head and what to send after it; writing, and sendfile(2), stay
// with the connection (httpwire/proxy).
//
// Memory per request is bounded whatever the file or directory: HTML is
// injected while it streams from the file, and listings are written as the
// directory is read.
package static

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire"
	"reloadproxy/httpwire/htmlinject"
)

// inlineFileMax is the largest body sent in the same write as the head,
// read into the head's buffer; larger bodies are streamed (by sendfile(2)
// when the connection is TCP).
const inlineFileMax = 32 << 10

// FileServer serves the files under Root (static mode). Its zero value is
// not usable: Root is required. It is safe for concurrent use; Root must
// not change once the server runs.
//
// What it serves, and what it refuses:
//   - GET and HEAD only; other methods get 405 with Allow: GET, HEAD.
//   - The target is percent-decoded once. Encoded separators (%2F, %5C),
//     a backslash, NUL or any other control character give 400, and so
//     does any ".." segment (browsers and curl resolve dot-segments before
//     sending, so one that arrives is an attempt to climb out of Root).
//   - A path with a segment starting with '.' (.git/config, .env) is 404,
//     also when a symlink leads into one. Such names are hidden from
//     listings.
//   - Paths are resolved with filepath.EvalSymlinks and served only when
//     the result is inside Root (itself resolved): a symlink leading out
//     is 404, as if it did not exist. The file is then opened by its
//     resolved name without following a final symlink.
//   - A directory is redirected to its name with a slash (301) and
//     answered with its index.html, else an HTML listing.
//   - Files get Content-Type from the extension (a built-in table for web
//     types first, then package mime, then a look at the first bytes),
//     Last-Modified and a strong ETag (modification time in nanoseconds
//     and size: saving a file twice within a second changes it, which the
//     one-second Last-Modified would miss), Cache-Control: no-cache, and
//     single byte ranges. A request for several ranges gets the whole file
//     with 200 (RFC 9110 §14.2 lets a server ignore Range).
//   - HTML files get the reload tag on page navigations, inserted while
//     they stream from the disk.
//
// Root is resolved once, on the first request that finds it; replacing
// the directory behind Root (rm -rf dist; mkdir dist) is fine, pointing a
// symlinked Root elsewhere is not noticed.
type FileServer struct {
	Root string

	root atomic.Pointer[fileRoot]
}

// Request is what Answer needs to know of a request.
type Request struct {
	Head *httpwire.RequestHead
	// Tag is the reload client's script tag, inserted into HTML files and
	// into the HTML error pages; nil when the request is not a page
	// navigation or injection is off.
	Tag []byte
	// Keep says whether the connection may stay open after the response.
	Keep bool
}

// Response is an answer to a request: Head, then Body.
type Response struct {
	// Head holds the status line, the fields, the empty line and, for a
	// small body, the body itself.
	Head []byte
	// Body, when not nil, is the rest of the body. It is an
	// *io.LimitedReader over an *os.File for a plain file section, which a
	// TCP connection can send with sendfile(2).
	Body io.Reader
	// Length is how many bytes Body holds, as the head promised; -1 when
	// Body frames itself (a chunked listing) or ends with the connection.
	// A connection that cannot send exactly Length bytes must close.
	Length int64
	// Keep says whether the connection stays open after the response:
	// Request.Keep, unless the body is delimited by the close.
	Keep bool
	// Abort means nothing consistent can be answered (a range of a file
	// that shrank): close the connection without a response.
	Abort bool

	closer io.Closer
}

// Close releases what the response holds (an open file). It is safe to
// call on any Response, more than once.
func (r *Response) Close() {
	if r.closer != nil {
		r.closer.Close()
		r.closer = nil
	}
}

// answer is one call of Answer.
type answer struct {
	req    *httpwire.RequestHead
	tag    []byte
	keep   bool
	isHead bool
	now    time.Time
}

// Answer answers req, appending the head to dst. The caller writes
// Response.Head, then sends Response.Body, then calls Response.Close.
func (s *FileServer) Answer(dst []byte, r Request) Response {
	a := answer{req: r.Head, tag: r.Tag, keep: r.Keep, isHead: r.Head.IsHead(), now: time.Now()}
	if !a.isHead && string(a.req.Method) != "GET" {
		return a.error(dst, 405)
	}
	urlPath, query, slash, status := parseFileTarget(a.req.Target)
	if status != 0 {
		return a.error(dst, status)
	}
	root, err := s.resolvedRoot()
	if err != nil {
		return a.error(dst, 404)
	}
	name := root.dir
	if urlPath != "/" {
		name = filepath.Join(root.dir, urlPath[1:])
	}
	real, status := root.resolve(name)
	if status != 0 {
		return a.error(dst, status)
	}
	f, fi, status := openFile(real)
	if status != 0 {
		return a.error(dst, status)
	}
	base := path.Base(urlPath)
	if fi.IsDir() {
		if !slash {
			f.Close()
			return a.redirect(dst, urlPath, query)
		}
		idx, status := root.resolve(real + "/index.html")
		var xf *os.File
		var xfi fs.FileInfo
		if status == 0 {
			xf, xfi, status = openFile(idx)
		}
		switch {
		case status == 0 && xfi.Mode().IsRegular():
			f.Close()
			f, fi, real, base = xf, xfi, idx, "index.html"
			slash = false
		case status == 403:
			f.Close()
			return a.error(dst, 403)
		default:
			if xf != nil {
				xf.Close()
			}
			if a.req.Field("If-Match") != nil && ifMatchFails(a.req, nil) {
				// A listing has no entity tag: only "*" matches it.
				f.Close()
				return a.error(dst, 412)
			}
			return a.listing(dst, root, f, real, urlPath)
		}
	}
	if !fi.Mode().IsRegular() || slash {
		// Devices, FIFOs and sockets are not files to serve; a file named
		// with a trailing slash does not exist.
		f.Close()
		if slash {
			return a.error(dst, 404)
		}
		return a.error(dst, 403)
	}
	resp := a.file(dst, f, fi, base, real)
	if resp.closer == nil {
		f.Close()
	}
	return resp
}

// file answers with a regular file: 200, 206, 304 or 416.
func (a *answer) file(dst []byte, f *os.File, fi fs.FileInfo, base, real string) Response {
	req := a.req
	size := fi.Size()
	mod := fi.ModTime()
	ctype := contentType(base, real, f)
	inject := len(a.tag) > 0 && strings.HasPrefix(ctype, "text/html")

	var rawTag, injTag [48]byte
	etagRaw := appendETag(rawTag[:0], mod, size, false)
	etag := etagRaw
	if inject {
		etag = appendETag(injTag[:0], mod, size, true)
	}

	// A Last-Modified date is sent only once the second it names has
	// passed: a file saved twice within one second (an editor's save, then
	// a formatter's) would otherwise give both versions the same date, and
	// an If-Modified-Since of the first would get 304 for the second. (RFC
	// 9110 §8.8.2.2 calls such a date weak.) The ETag, from the time in
	// nanoseconds and the size, tells them apart meanwhile.
	lastModified := mod
	if mod.Unix() >= a.now.Unix() {
		lastModified = time.Time{}
	}

	// Preconditions, in the order of RFC 9110 §13.2.2: If-Match, and only
	// without it If-Unmodified-Since, then If-None-Match, and only without
	// it If-Modified-Since.
	failed := false
	if req.Field("If-Match") != nil {
		failed = ifMatchFails(req, etag)
	} else if ius := req.Field("If-Unmodified-Since"); ius != nil {
		if t, ok := httpwire.ParseHTTPDate(ius); ok && mod.Unix() > t.Unix() {
			failed = true
		}
	}
	if failed {
		return a.error(dst, 412)
	}
	notModified := false
	if req.Field("If-None-Match") != nil {
		notModified = anyFieldLine(req, "If-None-Match", func(list []byte) bool { return etagListMatches(list, etag) })
	} else if ims := req.Field("If-Modified-Since"); ims != nil && !lastModified.IsZero() {
		if t, ok := httpwire.ParseHTTPDate(ims); ok && mod.Unix() <= t.Unix() {
			notModified = true
		}
	}
	if notModified {
		// §15.4.5: the fields a 200 would carry that describe caching.
		dst = a.statusLine(dst, 304)
		dst = appendETagField(dst, etag)
		dst = appendLastModified(dst, lastModified)
		dst = append(dst, "Cache-Control: no-cache\r\n"...)
		return a.done(dst)
	}

	status, off, n := 200, int64(0), size
	// Range is defined for GET only (RFC 9110 §14.2); an empty file has no
	// ranges to satisfy, so Range is ignored for it.
	if rng := req.Field("Range"); rng != nil && !a.isHead && size > 0 &&
		ifRangeMatches(req.Field("If-Range"), etagRaw, mod, a.now) {
		status, off, n = parseRange(rng, size)
		if status == 0 {
			status, off, n = 200, 0, size
		}
	}
	if status == 416 {
		const msg = "416 range not satisfiable\n"
		dst = a.statusLine(dst, 416)
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Range: bytes */"...)
		dst = strconv.AppendInt(dst, size, 10)
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(msg)), 10)
		dst = append(dst, "\r\n"...)
		dst = httpwire.AppendHeadEnd(dst, a.keep, req.Minor)
		return Response{Head: append(dst, msg...), Keep: a.keep} // never HEAD: Range is ignored for it
	}
	if status == 206 {
		inject = false // ranges are of the file as stored
		etag = etagRaw
	}

	length := n
	if inject {
		length += int64(len(a.tag)) // the injector inserts the tag exactly once
	}
	head := func(dst []byte, length int64) []byte {
		dst = a.statusLine(dst, status)
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, ctype...)
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, length, 10)
		dst = append(dst, "\r\n"...)
		if status == 206 {
			// RFC 9110 §14.4.
			dst = append(dst, "Content-Range: bytes "...)
			dst = strconv.AppendInt(dst, off, 10)
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, off+n-1, 10)
			dst = append(dst, '/')
			dst = strconv.AppendInt(dst, size, 10)
			dst = append(dst, "\r\n"...)
		}
		dst = appendETagField(dst, etag)
		dst = appendLastModified(dst, lastModified)
		dst = append(dst, "Cache-Control: no-cache\r\nAccept-Ranges: bytes\r\n"...)
		return httpwire.AppendHeadEnd(dst, a.keep, a.req.Minor)
	}
	start := len(dst)
	dst = head(dst, length)
	switch {
	case a.isHead:
		return Response{Head: dst, Keep: a.keep}
	case inject:
		return Response{Head: dst, Body: newInjectReader(f, n, a.tag), Length: length, Keep: a.keep, closer: f}
	case n <= inlineFileMax:
		bodyAt := len(dst)
		dst = slices.Grow(dst, int(n))[:bodyAt+int(n)]
		got, _ := f.ReadAt(dst[bodyAt:], off)
		if int64(got) < n {
			if status == 206 {
				// The range is gone: nothing consistent can be sent.
				return Response{Head: dst[:start], Abort: true}
			}
			// The file shrank since fstat: send what it holds now.
			body := slices.Clone(dst[bodyAt : bodyAt+got])
			dst = append(head(dst[:start], int64(got)), body...)
		}
		return Response{Head: dst, Keep: a.keep}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return Response{Head: dst[:start], Abort: true}
	}
	return Response{Head: dst, Body: &io.LimitedReader{R: f, N: n}, Length: n, Keep: a.keep, closer: f}
}

// done ends a head that has no body.
func (a *answer) done(dst []byte) Response {
	return Response{Head: httpwire.AppendHeadEnd(dst, a.keep, a.req.Minor), Keep: a.keep}
}

// statusLine appends the status line and the Date field (RFC 9110 §6.6.1:
// an origin server with a clock sends it).
func (a *answer) statusLine(dst []byte, status int) []byte {
	dst = httpwire.AppendStatusLine(dst, status)
	dst = append(dst, "Date: "...)
	dst = a.now.UTC().AppendFormat(dst, httpwire.HTTPDate)
	return append(dst, "\r\n"...)
}

func appendLastModified(dst []byte, mod time.Time) []byte {
	if mod.IsZero() {
		return dst
	}
	dst = append(dst, "Last-Modified: "...)
	dst = mod.UTC().AppendFormat(dst, httpwire.HTTPDate)
	return append(dst, "\r\n"...)
}

func appendETagField(dst, etag []byte) []byte {
	dst = append(dst, "ETag: "...)
	dst = append(dst, etag...)
	return append(dst, "\r\n"...)
}

// error answers with a short error page: HTML with the reload tag for page
// navigations (so that a page not created yet appears by itself once it
// is), plain text otherwise. It never names a path.
func (a *answer) error(dst []byte, status int) Response {
	var msg string
	switch status {
	case 400:
		msg = "400 bad request: invalid path"
	case 403:
		msg = "403 forbidden"
	case 404:
		msg = "404 page not found"
	case 405:
		msg = "405 method not allowed"
	default:
		msg = strconv.Itoa(status) + " " + httpwire.StatusText(status)
	}
	page := len(a.tag) > 0
	dst = a.statusLine(dst, status)
	if status == 405 {
		dst = append(dst, "Allow: GET, HEAD\r\n"...) // RFC 9110 §15.5.6
	}
	length := len(msg) + 1
	if page {
		dst = append(dst, "Content-Type: text/html; charset=utf-8"...)
		length = len(errorPageStart) + len(a.tag) + len("<title>") + len(msg) + len(errorPageMiddle) + len(msg) + len(errorPageEnd)
	} else {
		dst = append(dst, "Content-Type: text/plain; charset=utf-8"...)
	}
	dst = append(dst, "\r\nCache-Control: no-cache\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(length), 10)
	dst = append(dst, "\r\n"...)
	resp := a.done(dst)
	if a.isHead {
		return resp
	}
	if !page {
		resp.Head = append(append(resp.Head, msg...), '\n')
		return resp
	}
	dst = append(resp.Head, errorPageStart...)
	dst = append(dst, a.tag...)
	dst = append(dst, "<title>"...)
	dst = append(dst, msg...)
	dst = append(dst, errorPageMiddle...)
	dst = append(dst, msg...)
	resp.Head = append(dst, errorPageEnd...)
	return resp
}

const (
	errorPageStart  = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	errorPageMiddle = "</title></head>\n<body><h1>"
	errorPageEnd    = "</h1></body></html>\n"
)

// redirect answers with a 301 to the directory's name with a slash. The
// Location is built from the cleaned path, so "//host" style targets can
// never become a redirect to another site.
func (a *answer) redirect(dst []byte, urlPath string, query []byte) Response {
	dst = a.statusLine(dst, 301)
	dst = append(dst, "Location: "...)
	dst = appendPathEscaped(dst, urlPath)
	dst = append(dst, '/')
	if len(query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, query...) // visible ASCII, checked by the parser
	}
	dst = append(dst, "\r\nCache-Control: no-cache\r\nContent-Length: 0\r\n"...)
	return a.done(dst)
}

// injectReader streams a file's first n bytes through the HTML injector,
// a buffer at a time.
type injectReader struct {
	src  io.LimitedReader
	inj  htmlinject.Injector
	in   []byte
	out  []byte // injected output not read yet
	done bool
}

func newInjectReader(f *os.File, n int64, tag []byte) *injectReader {
	r := &injectReader{src: io.LimitedReader{R: f, N: n}, in: make([]byte, 16<<10)}
	r.inj.Reset(tag)
	return r
}

func (r *injectReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.done {
			return 0, io.EOF
		}
		n, err := r.src.Read(r.in)
		r.out = r.inj.Append(r.out[:0], r.in[:n])
		if err == io.EOF {
			r.out = r.inj.Finish(r.out)
			r.done = true
		} else if err != nil {
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// fileRoot is Root, absolute and with its symlinks resolved.
type fileRoot struct {
	dir    string // no trailing slash unless it is "/"
	prefix string // dir with a trailing slash: what paths inside it start with
}

func (s *FileServer) resolvedRoot() (*fileRoot, error) {
	if r := s.root.Load(); r != nil {
		return r, nil
	}
	abs, err := filepath.Abs(s.Root)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err // not cached: the directory may appear later
	}
	r := &fileRoot{dir: dir, prefix: dir + "/"}
	if dir == "/" {
		r.prefix = "/"
	}
	s.root.Store(r)
	return r, nil
}

// resolve resolves the symlinks of name, a path under r.dir, and checks
// that the result stays inside r and passes through no dot-directory. It
// returns the resolved path, or the status to answer with.
func (r *fileRoot) resolve(name string) (string, int) {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "", 403
		}
		return "", 404
	}
	if real == r.dir {
		return real, 0
	}
	if !strings.HasPrefix(real, r.prefix) || hasDotSegment(real[len(r.prefix):]) {
		return "", 404
	}
	return real, 0
}

// openFile opens a resolved path for reading. O_NOFOLLOW refuses a symlink
// put in its place since it was resolved; O_NONBLOCK keeps a FIFO from
// blocking the open (it is refused once fstat shows what it is).
func openFile(name string) (*os.File, fs.FileInfo, int) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, nil, 403
		}
		return nil, nil, 404
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 404
	}
	return f, fi, 0
}
