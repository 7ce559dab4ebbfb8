package static

import (
	"errors"
	"html"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"reloadproxy/httpwire"
)

// listBatch is how many directory entries a listing holds at once. A
// directory with no more is listed sorted, with a Content-Length; a larger
// one is listed in directory order as it is read, a batch at a time, so
// that its size never shows in memory.
const listBatch = 1000

// listChunk is how many entries of a streamed listing are rendered at a
// time: what a client that does not read holds in memory.
const listChunk = 64

// listEntry is one line of a directory listing.
type listEntry struct {
	name string
	dir  bool
	size int64
	mod  time.Time
}

// listing answers with an HTML listing of the open directory dir (real is
// its resolved path, urlPath its URL path). Dotfiles, and symlinks that
// lead out of the root or nowhere, are left out.
func (a *answer) listing(dst []byte, root *fileRoot, dir *os.File, real, urlPath string) Response {
	ents, err := dir.ReadDir(listBatch + 1)
	if err != nil && !errors.Is(err, io.EOF) && len(ents) == 0 {
		dir.Close()
		if errors.Is(err, fs.ErrPermission) {
			return a.error(dst, 403)
		}
		return a.error(dst, 404)
	}
	l := &listReader{root: root, dir: dir, real: real, urlPath: urlPath, tag: a.tag}
	if len(ents) <= listBatch {
		// All of it: sorted, directories first, with a length.
		dir.Close()
		list := l.entries(nil, ents)
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
		body := l.appendStart(nil, false)
		for _, e := range list {
			body = appendEntry(body, e)
		}
		body = append(body, listingEnd...)
		dst = a.statusLine(dst, 200)
		dst = append(dst, "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
		resp := a.done(dst)
		if !a.isHead {
			resp.Head = append(resp.Head, body...)
		}
		return resp
	}

	// Too many to hold: stream them as they are read, chunked for
	// HTTP/1.1, until the close for HTTP/1.0.
	keep := a.keep && a.req.Minor == 1
	dst = a.statusLine(dst, 200)
	dst = append(dst, "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n"...)
	if a.req.Minor == 1 {
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		l.chunked = true
	}
	dst = httpwire.AppendHeadEnd(dst, keep, a.req.Minor)
	if a.isHead {
		dir.Close()
		return Response{Head: dst, Keep: keep}
	}
	l.pending = ents
	l.body = l.appendStart(nil, true)
	l.frame(l.body)
	return Response{Head: dst, Body: l, Length: -1, Keep: keep, closer: dir}
}

// listReader renders a large directory's listing a batch at a time.
type listReader struct {
	root          *fileRoot
	dir           *os.File
	real, urlPath string
	tag           []byte
	chunked       bool

	pending []os.DirEntry // read, not rendered yet
	list    []listEntry
	out     []byte // rendered, not read yet
	body    []byte // one batch's HTML before framing
	ended   bool   // the directory was read to its end
	done    bool   // the last bytes are in out
}

func (l *listReader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.done {
			return 0, io.EOF
		}
		l.next()
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// next renders the next batch into l.out.
func (l *listReader) next() {
	if len(l.pending) == 0 && !l.ended {
		ents, err := l.dir.ReadDir(listChunk)
		l.pending = ents
		if err != nil {
			l.ended = true // EOF, or an error: end the listing there
		}
	}
	if len(l.pending) > 0 {
		k := min(len(l.pending), listChunk)
		l.list = l.entries(l.list[:0], l.pending[:k])
		clear(l.pending[:k])
		l.pending = l.pending[k:]
		body := l.body[:0]
		for _, e := range l.list {
			body = appendEntry(body, e)
		}
		l.body = body
		l.frame(body)
		return
	}
	l.frame(append(l.body[:0], listingEnd...))
	if l.chunked {
		l.out = append(l.out, "0\r\n\r\n"...)
	}
	l.done = true
}

// frame puts p in l.out, as one chunk when the body is chunked.
func (l *listReader) frame(p []byte) {
	l.out = l.out[:0]
	if len(p) == 0 {
		return // an empty chunk would end the body
	}
	if l.chunked {
		l.out = strconv.AppendUint(l.out, uint64(len(p)), 16)
		l.out = append(l.out, "\r\n"...)
	}
	l.out = append(l.out, p...)
	if l.chunked {
		l.out = append(l.out, "\r\n"...)
	}
}

// entries appends the listable entries of ents to list.
func (l *listReader) entries(list []listEntry, ents []os.DirEntry) []listEntry {
	for _, e := range ents {
		name := e.Name()
		if name[0] == '.' || !servableName(name) {
			continue
		}
		var fi fs.FileInfo
		var err error
		if e.Type()&fs.ModeSymlink != 0 {
			target, st := l.root.resolve(l.real + "/" + name)
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
	return list
}

// appendStart appends the page up to the first entry.
func (l *listReader) appendStart(dst []byte, unsorted bool) []byte {
	dirPath := l.urlPath
	if dirPath != "/" {
		dirPath += "/"
	}
	title := html.EscapeString(dirPath)
	dst = append(dst, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"...)
	dst = append(dst, l.tag...)
	dst = append(dst, "<title>Index of "...)
	dst = append(dst, title...)
	dst = append(dst, listingStyle...)
	dst = append(dst, title...)
	dst = append(dst, "</h1>\n"...)
	if unsorted {
		dst = append(dst, "<p>More than "...)
		dst = strconv.AppendInt(dst, listBatch, 10)
		dst = append(dst, " entries: listed in directory order.</p>\n"...)
	}
	dst = append(dst, "<table>\n<thead><tr><th>Name</th><th class=\"size\">Size</th><th>Modified</th></tr></thead>\n<tbody>\n"...)
	if l.urlPath != "/" {
		dst = append(dst, "<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td class=\"mod\"></td></tr>\n"...)
	}
	return dst
}

func appendEntry(dst []byte, e listEntry) []byte {
	dst = append(dst, "<tr><td><a href=\"./"...)
	dst = appendPathEscaped(dst, e.name)
	if e.dir {
		dst = append(dst, '/')
	}
	dst = append(dst, "\">"...)
	dst = append(dst, html.EscapeString(e.name)...)
	if e.dir {
		dst = append(dst, '/')
	}
	dst = append(dst, "</a></td><td class=\"size\">"...)
	if !e.dir {
		dst = appendSize(dst, e.size)
	}
	dst = append(dst, "</td><td class=\"mod\">"...)
	dst = e.mod.AppendFormat(dst, "2006-01-02 15:04")
	return append(dst, "</td></tr>\n"...)
}

const (
	listingStyle = `</title>
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
<h1>Index of `
	listingEnd = "</tbody>\n</table>\n</main></body></html>\n"
)

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

// servableName reports whether a request can name the file: a path with a
// byte parseFileTarget refuses is 400, so such a name is not listed
// either, as a dotfile is not.
func servableName(name string) bool {
	for i := 0; i < len(name); i++ {
		if refusedPathByte(name[i]) {
			return false
		}
	}
	return true
}
