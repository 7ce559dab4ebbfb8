package httpwire

import (
	"errors"
	"html"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

const (
	// maxInjectFile is the largest HTML file that gets the reload tag: it
	// is read whole to be injected. Larger files are served untouched.
	maxInjectFile = 8 << 20
	// inlineFileMax is the largest body sent in the same write as the head,
	// read into the output buffer; larger bodies go by sendfile(2).
	inlineFileMax = spliceMin
	// maxSkipBody is the most request body (to a GET or HEAD, which has no
	// use for it) read and dropped to keep the connection; past it, the
	// connection closes after the response.
	maxSkipBody = 64 << 10
)

// httpDate is the IMF-fixdate layout of RFC 9110 §5.6.7, in UTC.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

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
//   - HTML files up to 8 MiB get the reload tag on page navigations.
//
// Root is resolved once, on the first request that finds it; replacing
// the directory behind Root (rm -rf dist; mkdir dist) is fine, pointing a
// symlinked Root elsewhere is not noticed.
type FileServer struct {
	Root string

	root atomic.Pointer[fileRoot]
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

// fileSection is a part of an open file still to be sent after c.out.
// abort means nothing consistent can be answered: the connection closes.
type fileSection struct {
	f      *os.File
	off, n int64
	abort  bool
}

// serveFile answers the current request from the FileServer. It reports
// whether the client connection stays open.
func (c *conn) serveFile() bool {
	req := &c.req
	buffered, complete, valid := c.bufferedRequestBody()
	// A GET or HEAD body has no meaning (RFC 9110 §9.3.1): a small one is
	// read and dropped after the response, anything else closes the
	// connection so that its bytes are never read as a request.
	keep := req.KeepAlive && valid &&
		(complete || !req.Chunked && !req.Expect100 && req.ContentLength-int64(buffered) <= maxSkipBody) &&
		c.srv.epoch.Load() == c.epoch && c.state.Load() == stateActive
	bodyLeft := req.ContentLength - int64(buffered)

	var send fileSection
	if c.isHead || string(req.Method) == "GET" {
		send = c.answerFile(keep)
	} else {
		c.out = c.appendFileError(c.out[:0], 405, wantsHTML(req), keep)
	}
	c.in.consume(c.headLen + buffered) // c.req's slices are stale from here

	ok := !send.abort && c.writeClient(c.out)
	if send.f != nil {
		ok = ok && c.sendFileSection(send)
		send.f.Close()
	}
	switch {
	case !ok:
		return false
	case !keep:
		if !complete || c.in.len() > 0 {
			c.lingerClose()
		}
		return false
	case !complete:
		return c.skipRequestBody(bodyLeft)
	}
	return true
}

// bufferedRequestBody looks at the request body bytes that came with the
// head: how many there are, whether they are the whole body, and whether
// they are well-formed.
func (c *conn) bufferedRequestBody() (n int, complete, valid bool) {
	req := &c.req
	avail := c.in.buffered()[c.headLen:]
	switch {
	case req.Chunked:
		c.reqChunks.Reset()
		n, err := c.reqChunks.Scan(avail)
		if err != nil {
			return 0, false, false
		}
		return n, c.reqChunks.Done(), true
	case req.ContentLength > 0:
		if int64(len(avail)) >= req.ContentLength {
			return int(req.ContentLength), true, true
		}
		return len(avail), false, true
	}
	return 0, true, true
}

// skipRequestBody reads and drops the rest of a Content-Length body.
func (c *conn) skipRequestBody(left int64) bool {
	c.nc.SetReadDeadline(time.Now().Add(c.srv.headTimeout()))
	for left > 0 {
		if c.in.len() == 0 {
			if n, err := c.in.fill(c.nc); n == 0 && err != nil {
				return false
			}
		}
		k := min(int64(c.in.len()), left)
		c.in.consume(int(k))
		left -= k
	}
	c.nc.SetReadDeadline(time.Time{})
	return true
}

// sendFileSection sends a file section after the head, by sendfile(2) when
// the client is TCP. A file that shrank meanwhile ends the connection: the
// promised length cannot be kept.
func (c *conn) sendFileSection(s fileSection) bool {
	if s.off > 0 {
		if _, err := s.f.Seek(s.off, io.SeekStart); err != nil {
			return false
		}
	}
	c.limited = io.LimitedReader{R: s.f, N: s.n}
	var written int64
	var err error
	if c.tcp != nil {
		written, err = c.tcp.ReadFrom(&c.limited)
	} else {
		written, err = io.Copy(c.nc, &c.limited)
	}
	c.limited.R = nil
	return err == nil && written == s.n
}

// answerFile builds the response to a GET or HEAD in c.out, and returns
// the part of a file that follows it, if any.
func (c *conn) answerFile(keep bool) fileSection {
	req := &c.req
	nav := wantsHTML(req)
	urlPath, query, slash, status := parseFileTarget(req.Target)
	if status != 0 {
		c.out = c.appendFileError(c.out[:0], status, nav, keep)
		return fileSection{}
	}
	root, err := c.srv.Files.resolvedRoot()
	if err != nil {
		c.out = c.appendFileError(c.out[:0], 404, nav, keep)
		return fileSection{}
	}
	name := root.dir
	if urlPath != "/" {
		name = filepath.Join(root.dir, urlPath[1:])
	}
	real, status := root.resolve(name)
	if status != 0 {
		c.out = c.appendFileError(c.out[:0], status, nav, keep)
		return fileSection{}
	}
	f, fi, status := openFile(real)
	if status != 0 {
		c.out = c.appendFileError(c.out[:0], status, nav, keep)
		return fileSection{}
	}
	base := path.Base(urlPath)
	if fi.IsDir() {
		if !slash {
			f.Close()
			c.out = c.appendRedirect(c.out[:0], urlPath, query, keep)
			return fileSection{}
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
			c.out = c.appendFileError(c.out[:0], 403, nav, keep)
			return fileSection{}
		default:
			if xf != nil {
				xf.Close()
			}
			c.out = c.appendListing(c.out[:0], root, f, real, urlPath, nav, keep)
			f.Close()
			return fileSection{}
		}
	}
	if !fi.Mode().IsRegular() || slash {
		// Devices, FIFOs and sockets are not files to serve; a file named
		// with a trailing slash does not exist.
		f.Close()
		st := 403
		if slash {
			st = 404
		}
		c.out = c.appendFileError(c.out[:0], st, nav, keep)
		return fileSection{}
	}
	send := c.answerRegular(f, fi, base, real, nav, keep)
	if send.f == nil {
		f.Close()
	}
	return send
}

// answerRegular builds the response for a regular file: 200, 206, 304 or
// 416, with the body inline in c.out or as the returned section of f.
func (c *conn) answerRegular(f *os.File, fi fs.FileInfo, base, real string, nav, keep bool) fileSection {
	req := &c.req
	now := time.Now()
	size := fi.Size()
	mod := fi.ModTime()
	ctype := contentType(base, real, f)
	tag := c.srv.Inject
	inject := nav && len(tag) > 0 && isHTMLType(ctype) && size <= maxInjectFile

	var rawTag, injTag [48]byte
	etagRaw := appendETag(rawTag[:0], mod, size, false)
	etag := etagRaw
	if inject {
		etag = appendETag(injTag[:0], mod, size, true)
	}

	// Preconditions, RFC 9110 §13.2.2: If-None-Match, and only without it
	// If-Modified-Since (§13.1.3).
	notModified := false
	if inm := req.Field("If-None-Match"); inm != nil {
		notModified = etagListMatches(inm, etag)
	} else if ims := req.Field("If-Modified-Since"); ims != nil && !mod.IsZero() {
		if t, ok := parseHTTPDate(ims); ok && mod.Unix() <= t.Unix() {
			notModified = true
		}
	}
	dst := c.out[:0]
	if notModified {
		// §15.4.5: the fields a 200 would carry that describe caching.
		dst = appendStatusLine(dst, 304, now)
		dst = append(dst, "ETag: "...)
		dst = append(dst, etag...)
		dst = appendLastModified(dst, mod)
		dst = append(dst, "\r\nCache-Control: no-cache"...)
		c.out = appendHeadEnd(dst, keep, req.Minor)
		return fileSection{}
	}

	status, off, n := 200, int64(0), size
	// Range is defined for GET only (RFC 9110 §14.2); an empty file has no
	// ranges to satisfy, so Range is ignored for it.
	if rng := req.Field("Range"); rng != nil && !c.isHead && size > 0 &&
		ifRangeMatches(req.Field("If-Range"), etagRaw, mod, now) {
		status, off, n = parseRange(rng, size)
		if status == 0 {
			status, off, n = 200, 0, size
		}
	}
	if status == 416 {
		dst = appendStatusLine(dst, 416, now)
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Range: bytes */"...)
		dst = strconv.AppendInt(dst, size, 10)
		const msg = "416 range not satisfiable\n"
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(msg)), 10)
		dst = appendHeadEnd(dst, keep, req.Minor)
		c.out = append(dst, msg...) // never HEAD: Range is ignored for it
		return fileSection{}
	}
	if status == 206 {
		inject = false // ranges are of the file as stored
		etag = etagRaw
	}

	var doc []byte
	length := n
	if inject {
		if !c.isHead {
			doc = make([]byte, size)
			got, _ := f.ReadAt(doc, 0)
			doc = doc[:got] // a file being rewritten may have shrunk
			length = int64(got)
		}
		length += int64(len(tag)) // InjectHTML always inserts the tag once
	}

	head := func(dst []byte, length int64) []byte {
		dst = appendStatusLine(dst, status, now)
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, ctype...)
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, length, 10)
		if status == 206 {
			// RFC 9110 §14.4.
			dst = append(dst, "\r\nContent-Range: bytes "...)
			dst = strconv.AppendInt(dst, off, 10)
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, off+n-1, 10)
			dst = append(dst, '/')
			dst = strconv.AppendInt(dst, size, 10)
		}
		dst = append(dst, "\r\nETag: "...)
		dst = append(dst, etag...)
		dst = appendLastModified(dst, mod)
		dst = append(dst, "\r\nCache-Control: no-cache\r\nAccept-Ranges: bytes"...)
		return appendHeadEnd(dst, keep, c.req.Minor)
	}
	dst = head(dst, length)
	switch {
	case c.isHead:
	case inject:
		dst = InjectHTML(dst, doc, tag)
	case n <= inlineFileMax:
		start := len(dst)
		dst = slices.Grow(dst, int(n))[:start+int(n)]
		got, _ := f.ReadAt(dst[start:], off)
		if int64(got) < n {
			if status == 206 {
				// The range is gone: nothing consistent can be sent.
				c.out = dst[:0]
				return fileSection{abort: true}
			}
			// The file shrank since fstat: send what it holds now.
			body := slices.Clone(dst[start : start+got])
			dst = append(head(dst[:0], int64(got)), body...)
		}
	default:
		c.out = dst
		return fileSection{f: f, off: off, n: n}
	}
	c.out = dst
	return fileSection{}
}

// parseFileTarget turns a request target into a clean URL path ("/" or
// "/a/b", decoded), the raw query, and whether the path ended in a slash.
// status is non-zero when the target is refused.
func parseFileTarget(t []byte) (urlPath string, query []byte, slash bool, status int) {
	if len(t) > 0 && t[0] != '/' {
		// absolute-form (RFC 9112 §3.2.2): drop scheme and authority.
		i := 0
		switch {
		case hasPrefixFold(t, "http://"):
			i = len("http://")
		case hasPrefixFold(t, "https://"):
			i = len("https://")
		default:
			return "", nil, false, 400
		}
		for i < len(t) && t[i] != '/' && t[i] != '?' && t[i] != '#' {
			i++
		}
		t = t[i:]
	}
	p := t
	for i, b := range t {
		if b == '?' || b == '#' {
			p = t[:i]
			if b == '?' {
				query = t[i+1:]
				for j, q := range query {
					if q == '#' {
						query = query[:j]
						break
					}
				}
			}
			break
		}
	}
	if len(p) == 0 {
		return "/", query, true, 0
	}
	dec := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		b := p[i]
		if b == '%' {
			if i+2 >= len(p) {
				return "", nil, false, 400
			}
			hi, ok1 := percentDigit(p[i+1])
			lo, ok2 := percentDigit(p[i+2])
			if !ok1 || !ok2 {
				return "", nil, false, 400
			}
			b = hi<<4 | lo
			i += 2
			if b == '/' {
				return "", nil, false, 400 // an encoded separator
			}
		}
		if b == '\\' || b < 0x20 || b == 0x7f {
			return "", nil, false, 400
		}
		dec = append(dec, b)
	}
	s := string(dec)
	for seg := range strings.SplitSeq(s, "/") {
		if seg == ".." {
			return "", nil, false, 400
		}
	}
	urlPath = path.Clean(s)
	slash = s[len(s)-1] == '/' || urlPath == "/"
	if hasDotSegment(urlPath[1:]) {
		return "", nil, false, 404
	}
	return urlPath, query, slash, 0
}

// hasDotSegment reports whether a slash-separated path has a segment that
// starts with '.': a dotfile or dot-directory, never served.
func hasDotSegment(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '.' && (i == 0 || p[i-1] == '/') {
			return true
		}
	}
	return false
}

// percentDigit is the value of a hex digit of a percent-encoding.
func percentDigit(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// appendPathEscaped appends p percent-encoded, keeping only unreserved
// characters and '/' as they are: safe in a Location field and in an href
// (no scheme can be read from it, no HTML escaping is needed).
func appendPathEscaped(dst []byte, p string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		b := p[i]
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			b == '-' || b == '.' || b == '_' || b == '~' || b == '/' {
			dst = append(dst, b)
			continue
		}
		dst = append(dst, '%', hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// appendStatusLine appends the status line and the Date field (RFC 9110
// §6.6.1: an origin server with a clock sends it).
func appendStatusLine(dst []byte, status int, now time.Time) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	dst = append(dst, "\r\nDate: "...)
	dst = now.UTC().AppendFormat(dst, httpDate)
	return append(dst, "\r\n"...)
}

func appendLastModified(dst []byte, mod time.Time) []byte {
	if mod.IsZero() {
		return dst
	}
	dst = append(dst, "\r\nLast-Modified: "...)
	return mod.UTC().AppendFormat(dst, httpDate)
}

// appendHeadEnd ends a head that does not end in CRLF yet, saying whether
// the connection stays open where the default would mislead.
func appendHeadEnd(dst []byte, keep bool, minor int) []byte {
	switch {
	case !keep:
		dst = append(dst, "\r\nConnection: close"...)
	case minor == 0:
		dst = append(dst, "\r\nConnection: keep-alive"...)
	}
	return append(dst, "\r\n\r\n"...)
}

// appendETag appends a strong entity tag (RFC 9110 §8.8.3) made of the
// modification time and size; the injected variant of an HTML file has its
// own, since its bytes differ.
func appendETag(dst []byte, mod time.Time, size int64, injected bool) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendInt(dst, mod.UnixNano(), 16)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, size, 16)
	if injected {
		dst = append(dst, "-r"...)
	}
	return append(dst, '"')
}

// etagListMatches evaluates If-None-Match (RFC 9110 §13.1.2): "*" or any
// entity tag equal to etag under weak comparison.
func etagListMatches(list, etag []byte) bool {
	for i := 0; i < len(list); {
		switch b := list[i]; {
		case b == ' ' || b == '\t' || b == ',':
			i++
		case b == '*':
			return true
		default:
			if hasPrefixFold(list[i:], "W/") {
				i += 2
			}
			if i >= len(list) || list[i] != '"' {
				return false // malformed: no match
			}
			j := i + 1
			for j < len(list) && list[j] != '"' {
				j++
			}
			if j == len(list) {
				return false
			}
			if string(list[i:j+1]) == string(etag) {
				return true
			}
			i = j + 1
		}
	}
	return false
}

// ifRangeMatches evaluates If-Range (RFC 9110 §13.1.5): an entity tag
// must equal etag under strong comparison; a date must equal Last-Modified
// exactly, and only counts when the file is at least a second older than
// now (otherwise a second change within that second would go unseen).
func ifRangeMatches(v, etag []byte, mod, now time.Time) bool {
	if v == nil {
		return true
	}
	if len(v) > 0 && v[0] == '"' {
		return string(v) == string(etag)
	}
	if hasPrefixFold(v, "W/") {
		return false // a weak tag never matches strongly
	}
	t, ok := parseHTTPDate(v)
	return ok && !mod.IsZero() && t.Unix() == mod.Unix() && now.Sub(mod) >= time.Second
}

// parseHTTPDate parses the three HTTP-date forms a recipient must accept
// (RFC 9110 §5.6.7).
func parseHTTPDate(v []byte) (time.Time, bool) {
	s := string(v)
	for _, layout := range [...]string{httpDate, "Monday, 02-Jan-06 15:04:05 GMT", time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseRange interprets a Range field for a representation of size bytes
// (size > 0), RFC 9110 §14.1.1 and §14.2. It returns 206 and the range,
// 416 when the one range asked for is unsatisfiable, or 0 when Range is to
// be ignored: another unit, a syntax error, or more than one range (the
// whole file is served then; a multipart/byteranges body would not be
// worth its complexity for a development server).
func parseRange(v []byte, size int64) (status int, off, n int64) {
	if !hasPrefixFold(v, "bytes=") {
		return 0, 0, 0
	}
	var spec []byte
	count := 0
	valid := true
	forEachToken(v[len("bytes="):], func(el []byte) {
		count++
		spec = el
		dash := -1
		for i, b := range el {
			if b == '-' {
				dash = i
				break
			}
			if !isDigit(b) {
				valid = false
				return
			}
		}
		if dash < 0 || dash == 0 && len(el) == 1 {
			valid = false
			return
		}
		for _, b := range el[dash+1:] {
			if !isDigit(b) {
				valid = false
				return
			}
		}
	})
	if !valid || count != 1 {
		return 0, 0, 0
	}
	dash := 0
	for spec[dash] != '-' {
		dash++
	}
	if dash == 0 { // suffix-range
		k := atoiSat(spec[1:])
		if k == 0 {
			return 416, 0, 0
		}
		k = min(k, size)
		return 206, size - k, k
	}
	first := atoiSat(spec[:dash])
	last := size - 1
	if dash+1 < len(spec) {
		last = atoiSat(spec[dash+1:])
		if last < first {
			return 0, 0, 0 // invalid int-range
		}
		last = min(last, size-1)
	}
	if first >= size {
		return 416, 0, 0
	}
	return 206, first, last - first + 1
}

// atoiSat parses decimal digits, saturating at the largest int64.
func atoiSat(b []byte) int64 {
	var n int64
	for _, c := range b {
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 1<<63 - 1
		}
		n = n*10 + d
	}
	return n
}

// webTypes are the types of common web files, so that they do not depend
// on the machine's /etc/mime.types (which may say application/javascript,
// or lack .mjs and .wasm).
var webTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".json":        "application/json", // always UTF-8, no charset parameter (RFC 8259 §11)
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".xml":         "text/xml; charset=utf-8",
	".svg":         "image/svg+xml",
	".wasm":        "application/wasm",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".pdf":         "application/pdf",
}

// contentType picks the Content-Type of a file from the extension of the
// name it was asked by, else of its real name, else from its first bytes.
func contentType(base, real string, f *os.File) string {
	if t := typeByExtension(path.Ext(base)); t != "" {
		return t
	}
	if t := typeByExtension(filepath.Ext(real)); t != "" {
		return t
	}
	var buf [512]byte
	n, _ := f.ReadAt(buf[:], 0)
	if looksLikeText(buf[:n], n == len(buf)) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func typeByExtension(ext string) string {
	if ext == "" {
		return ""
	}
	if t, ok := webTypes[strings.ToLower(ext)]; ok {
		return t
	}
	t := mime.TypeByExtension(ext)
	if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset=") {
		t += "; charset=utf-8"
	}
	return t
}

// looksLikeText reports whether b is UTF-8 without the control bytes that
// mark binary data (those of the WHATWG MIME Sniffing standard). truncated
// says b was cut off, so a partial rune may end it.
func looksLikeText(b []byte, truncated bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c <= 0x08 || c == 0x0b || 0x0e <= c && c <= 0x1a || 0x1c <= c && c <= 0x1f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return truncated && !utf8.FullRune(b[i:])
		}
		i += size
	}
	return true
}

func isHTMLType(ctype string) bool {
	return strings.HasPrefix(ctype, "text/html")
}

// appendFileError appends a complete error response: a small HTML page with
// the reload tag for page navigations (so that a page not created yet
// appears by itself once it is), plain text otherwise. It never names a
// path.
func (c *conn) appendFileError(dst []byte, status int, nav, keep bool) []byte {
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
		msg = strconv.Itoa(status) + " " + statusText(status)
	}
	tag := c.srv.Inject
	page := nav && len(tag) > 0
	dst = appendStatusLine(dst, status, time.Now())
	if status == 405 {
		dst = append(dst, "Allow: GET, HEAD\r\n"...) // RFC 9110 §15.5.6
	}
	length := len(msg) + 1
	if page {
		dst = append(dst, "Content-Type: text/html; charset=utf-8"...)
		length = len(errorPageStart) + len(tag) + len("<title>") + len(msg) + len(errorPageMiddle) + len(msg) + len(errorPageEnd)
	} else {
		dst = append(dst, "Content-Type: text/plain; charset=utf-8"...)
	}
	dst = append(dst, "\r\nCache-Control: no-cache\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(length), 10)
	dst = appendHeadEnd(dst, keep, c.req.Minor)
	if c.isHead {
		return dst
	}
	if !page {
		dst = append(dst, msg...)
		return append(dst, '\n')
	}
	dst = append(dst, errorPageStart...)
	dst = append(dst, tag...)
	dst = append(dst, "<title>"...)
	dst = append(dst, msg...)
	dst = append(dst, errorPageMiddle...)
	dst = append(dst, msg...)
	return append(dst, errorPageEnd...)
}

const (
	errorPageStart  = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	errorPageMiddle = "</title></head>\n<body><h1>"
	errorPageEnd    = "</h1></body></html>\n"
)

// appendRedirect appends a 301 to the directory's name with a slash. The
// Location is built from the cleaned path, so "//host" style targets can
// never become a redirect to another site.
func (c *conn) appendRedirect(dst []byte, urlPath string, query []byte, keep bool) []byte {
	dst = appendStatusLine(dst, 301, time.Now())
	dst = append(dst, "Location: "...)
	dst = appendPathEscaped(dst, urlPath)
	dst = append(dst, '/')
	if len(query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, query...) // visible ASCII, checked by the parser
	}
	dst = append(dst, "\r\nCache-Control: no-cache\r\nContent-Length: 0"...)
	return appendHeadEnd(dst, keep, c.req.Minor)
}

// listEntry is one line of a directory listing.
type listEntry struct {
	name string
	dir  bool
	size int64
	mod  time.Time
}

// appendListing appends a 200 response with an HTML listing of the open
// directory dir (real is its resolved path, urlPath its URL path). Dotfiles,
// and symlinks that lead out of the root or nowhere, are left out.
func (c *conn) appendListing(dst []byte, root *fileRoot, dir *os.File, real, urlPath string, nav, keep bool) []byte {
	ents, err := dir.ReadDir(-1)
	if err != nil && len(ents) == 0 {
		st := 404
		if errors.Is(err, fs.ErrPermission) {
			st = 403
		}
		return c.appendFileError(dst, st, nav, keep)
	}
	list := make([]listEntry, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if name[0] == '.' {
			continue
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			target, st := root.resolve(real + "/" + name)
			if st != 0 {
				continue
			}
			fi, err = os.Stat(target)
		} else {
			fi, err = e.Info()
		}
		if err != nil || !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		list = append(list, listEntry{name: name, dir: fi.IsDir(), size: fi.Size(), mod: fi.ModTime()})
	}
	slices.SortFunc(list, func(a, b listEntry) int {
		if a.dir != b.dir {
			if a.dir {
				return -1
			}
			return 1
		}
		if d := strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)); d != 0 {
			return d
		}
		return strings.Compare(a.name, b.name)
	})

	dirPath := urlPath
	if dirPath != "/" {
		dirPath += "/"
	}
	title := html.EscapeString(dirPath)
	body := make([]byte, 0, 1024+128*len(list))
	body = append(body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"...)
	if nav {
		body = append(body, c.srv.Inject...)
	}
	body = append(body, "<title>Index of "...)
	body = append(body, title...)
	body = append(body, `</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
main{max-width:60rem;margin:2rem auto;padding:0 1.5rem}
h1{font-size:1.3rem;font-weight:600}
table{border-collapse:collapse;width:100%}
td,th{padding:.2rem .8rem .2rem 0;text-align:left}
th{color:#777;font-weight:500;border-bottom:1px solid #ddd}
td.size,th.size{text-align:right;white-space:nowrap}
td.mod{color:#777;white-space:nowrap}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}
</style></head>
<body><main>
<h1>Index of `...)
	body = append(body, title...)
	body = append(body, "</h1>\n<table>\n<thead><tr><th>Name</th><th class=\"size\">Size</th><th>Modified</th></tr></thead>\n<tbody>\n"...)
	if urlPath != "/" {
		body = append(body, "<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td class=\"mod\"></td></tr>\n"...)
	}
	for _, e := range list {
		body = append(body, "<tr><td><a href=\"./"...)
		body = appendPathEscaped(body, e.name)
		if e.dir {
			body = append(body, '/')
		}
		body = append(body, "\">"...)
		body = append(body, html.EscapeString(e.name)...)
		if e.dir {
			body = append(body, '/')
		}
		body = append(body, "</a></td><td class=\"size\">"...)
		if !e.dir {
			body = appendSize(body, e.size)
		}
		body = append(body, "</td><td class=\"mod\">"...)
		body = e.mod.AppendFormat(body, "2006-01-02 15:04")
		body = append(body, "</td></tr>\n"...)
	}
	body = append(body, "</tbody>\n</table>\n</main></body></html>\n"...)

	dst = appendStatusLine(dst, 200, time.Now())
	dst = append(dst, "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = appendHeadEnd(dst, keep, c.req.Minor)
	if !c.isHead {
		dst = append(dst, body...)
	}
	return dst
}

// appendSize appends a file size for people: bytes below 1 KiB, then one
// decimal in binary units.
func appendSize(dst []byte, n int64) []byte {
	if n < 1024 {
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, " B"...)
	}
	units := "KMGTPE"
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	dst = strconv.AppendFloat(dst, v, 'f', 1, 64)
	return append(dst, ' ', units[i], 'i', 'B')
}
