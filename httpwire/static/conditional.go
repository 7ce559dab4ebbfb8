package static

import (
	"strconv"
	"time"

	"reloadproxy/httpwire"
)

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
	return etagListMatchesHow(list, etag, false)
}

// etagListMatchesStrongly evaluates If-Match (RFC 9110 §13.1.1): "*" or
// any entity tag equal to etag under strong comparison, which a weak tag
// never passes.
func etagListMatchesStrongly(list, etag []byte) bool {
	return etagListMatchesHow(list, etag, true)
}

func etagListMatchesHow(list, etag []byte, strong bool) bool {
	for i := 0; i < len(list); {
		switch b := list[i]; {
		case b == ' ' || b == '\t' || b == ',':
			i++
		case b == '*':
			return true
		default:
			weak := httpwire.HasPrefixFold(list[i:], "W/")
			if weak {
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
			if string(list[i:j+1]) == string(etag) && !(strong && weak) {
				return true
			}
			i = j + 1
		}
	}
	return false
}

// ifMatchFails evaluates If-Match (RFC 9110 §13.1.1), all its field lines
// one list (§5.3): it fails unless "*" or a tag equal to etag under strong
// comparison is in it. A nil etag (a listing) matches only "*".
func ifMatchFails(req *httpwire.RequestHead, etag []byte) bool {
	return !anyFieldLine(req, "If-Match", func(list []byte) bool { return etagListMatchesStrongly(list, etag) })
}

// anyFieldLine reports whether match holds for a field line of name.
func anyFieldLine(req *httpwire.RequestHead, name string, match func([]byte) bool) bool {
	for _, f := range req.Fields {
		if httpwire.EqualFold(f.Name, name) && match(f.Value) {
			return true
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
	if httpwire.HasPrefixFold(v, "W/") {
		return false // a weak tag never matches strongly
	}
	t, ok := httpwire.ParseHTTPDate(v)
	return ok && !mod.IsZero() && t.Unix() == mod.Unix() && now.Sub(mod) >= time.Second
}

// parseRange interprets a Range field for a representation of size bytes
// (size > 0), RFC 9110 §14.1.1 and §14.2. It returns 206 and the range,
// 416 when the one range asked for is unsatisfiable, or 0 when Range is to
// be ignored: another unit, a syntax error, or more than one range (the
// whole file is served then; a multipart/byteranges body would not be
// worth its complexity for a development server).
func parseRange(v []byte, size int64) (status int, off, n int64) {
	if !httpwire.HasPrefixFold(v, "bytes=") {
		return 0, 0, 0
	}
	var spec []byte
	count := 0
	valid := true
	httpwire.ForEachToken(v[len("bytes="):], func(el []byte) {
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

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
