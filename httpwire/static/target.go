package static

import (
	"bytes"
	"path"
	"strings"

	"reloadproxy/httpwire"
)

// parseFileTarget turns a request target, as RequestHead.Parse leaves it
// (without a fragment), into a clean URL path ("/" or "/a/b", decoded),
// the raw query, and whether the path ended in a slash. status is non-zero
// when the target is refused.
func parseFileTarget(t []byte) (urlPath string, query []byte, slash bool, status int) {
	if len(t) > 0 && t[0] != '/' {
		// absolute-form (RFC 9112 §3.2.2): drop scheme and authority.
		i := 0
		switch {
		case httpwire.HasPrefixFold(t, "http://"):
			i = len("http://")
		case httpwire.HasPrefixFold(t, "https://"):
			i = len("https://")
		default:
			return "", nil, false, 400
		}
		for i < len(t) && t[i] != '/' && t[i] != '?' {
			i++
		}
		t = t[i:]
	}
	p := t
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		p, query = t[:i], t[i+1:]
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
			hi, lo := httpwire.Unhex(p[i+1]), httpwire.Unhex(p[i+2])
			if hi < 0 || lo < 0 {
				return "", nil, false, 400
			}
			b = byte(hi<<4 | lo)
			i += 2
			if b == '/' {
				return "", nil, false, 400 // an encoded separator
			}
		}
		if refusedPathByte(b) {
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

// refusedPathByte reports whether a byte of a decoded path makes it 400:
// a backslash (a separator on other systems) or a control character.
func refusedPathByte(b byte) bool { return b == '\\' || b < 0x20 || b == 0x7f }

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
