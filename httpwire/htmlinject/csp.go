package htmlinject

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"

	"reloadproxy/httpwire"
)

// A page's Content-Security-Policy would block the injected reload client.
// The proxy adds to that response's policy exactly what the client needs:
// permission for its one script, and for its one WebSocket, and nothing
// more (CSP Level 3, https://www.w3.org/TR/CSP3/).
//
// The script: where the effective directive (script-src-elem, script-src,
// default-src) already relies on nonces, hashes or 'strict-dynamic', a fresh
// nonce is added and put on the tag. Where it allows inline scripts without
// them, a nonce would switch 'unsafe-inline' off (CSP3 §8.3), so the
// script's own URL is added instead. A directive that already allows 'self'
// or * needs nothing.
//
// The socket: the effective directive (connect-src, default-src) gets the
// socket's URL unless it allows 'self' or * already.
//
// A directive is never widened for other resource types: when the
// effective directive is default-src, a script-src or connect-src copy of it
// is added rather than default-src itself changed.
//
// A field value is a list of policies joined by ',' (CSP3 "parse a
// serialized CSP list"), and a browser enforces every one of them: a
// resource loads only if each policy allows it. So each policy of the list
// is amended on its own by the rules above, and one that does not restrict
// the client is left as it is.

// cspPlan is what the proxy does to one response's policies.
type cspPlan struct {
	nonce []byte // non-empty: the tag carries nonce="..."
}

// newNonce returns 22 characters of base64url randomness (128 bits).
func newNonce(dst []byte) []byte {
	var raw [16]byte
	rand.Read(raw[:])
	n := base64.RawURLEncoding.EncodedLen(len(raw))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	base64.RawURLEncoding.Encode(dst[start:], raw[:])
	return dst
}

// directive is one serialized directive of a policy: its name and values.
type directive struct {
	name   []byte
	values [][]byte
}

// parsePolicy splits a serialized policy as CSP3 §2.2.1 does: on ';', then
// on ASCII whitespace only (a U+00A0 inside a token stays in it: a browser
// ignores such a directive, and so must the rewritten policy), with names
// lower-cased in ASCII.
func parsePolicy(policy []byte) []directive {
	var ds []directive
	for _, part := range bytes.Split(policy, []byte(";")) {
		fields := bytes.FieldsFunc(part, isASCIISpace)
		if len(fields) == 0 {
			continue
		}
		ds = append(ds, directive{name: asciiLower(fields[0]), values: fields[1:]})
	}
	return ds
}

// isASCIISpace is "ASCII whitespace" of the Infra standard: tab, LF, FF,
// CR and space.
func isASCIISpace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\f' || r == '\r' || r == ' '
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// isHostSource reports whether host can go into a source expression as it
// is (CSP3 §2.3.1: host-char is ALPHA / DIGIT / "-", with dots, a port and
// an IPv6 literal's brackets and colons). Anything else (a ';' or ',' in a
// reg-name) could end the directive or the policy early.
func isHostSource(host []byte) bool {
	if len(host) == 0 {
		return false
	}
	for _, c := range host {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func findDirective(ds []directive, names ...string) int {
	for _, name := range names {
		for i, d := range ds {
			if string(d.name) == name {
				return i
			}
		}
	}
	return -1
}

func hasSource(values [][]byte, pred func(v []byte) bool) bool {
	for _, v := range values {
		if pred(v) {
			return true
		}
	}
	return false
}

func isKeyword(kw string) func([]byte) bool {
	return func(v []byte) bool { return httpwire.EqualFold(v, kw) }
}

func isNonceOrHash(v []byte) bool {
	return httpwire.HasPrefixFold(v, "'nonce-") || httpwire.HasPrefixFold(v, "'sha256-") || httpwire.HasPrefixFold(v, "'sha384-") || httpwire.HasPrefixFold(v, "'sha512-")
}

func allowsSelf(values [][]byte) bool {
	return hasSource(values, isKeyword("'self'")) || hasSource(values, isKeyword("*"))
}

// rewritePolicy returns the field value list, a comma-separated list of
// policies, with the reload client allowed by each policy; list itself when
// none needed a change. A policy that changed is written out anew (after
// one space when it follows a comma); the others, empty ones included, keep
// their bytes. host is the request's Host; scriptPath and socketPath are
// the client's. When the script needs a nonce, plan.nonce is set (once per
// response, shared by every policy). A Host that is not a plain host-source
// gets no source of its own: the client may be blocked then, the policy
// never widened.
func rewritePolicy(list, host []byte, scriptPath, socketPath string, plan *cspPlan) []byte {
	var out []byte // nil until a policy changes
	for start := 0; start <= len(list); {
		end := bytes.IndexByte(list[start:], ',')
		if end < 0 {
			end = len(list)
		} else {
			end += start
		}
		// A browser strictly splits on ',' as well (no quoting, and a
		// directive-value cannot hold one, CSP3 §2.3): these pieces are
		// the policies it enforces.
		ds, changed := amendPolicy(list[start:end], host, scriptPath, socketPath, plan)
		switch {
		case changed:
			if out == nil {
				out = append(make([]byte, 0, len(list)+amendGrowth(host, scriptPath, socketPath)), list[:start]...)
			}
			if start > 0 {
				out = append(out, ' ')
			}
			out = appendPolicy(out, ds)
		case out != nil:
			out = append(out, list[start:end]...)
		}
		if out != nil && end < len(list) {
			out = append(out, ',')
		}
		start = end + 1
	}
	if out == nil {
		return list
	}
	return out
}

// amendGrowth is the room an amended list gets beyond its own length: a
// script URL (or a nonce) and a socket URL with the directives that may
// carry them, so that amending one policy needs no second allocation.
func amendGrowth(host []byte, scriptPath, socketPath string) int {
	return 2*len(host) + len(scriptPath) + len(socketPath) + len("; script-src http:// ; connect-src ws://")
}

// amendPolicy returns the directives of one serialized policy with the
// reload client allowed, and whether they differ from the policy's.
func amendPolicy(policy, host []byte, scriptPath, socketPath string, plan *cspPlan) (ds []directive, changed bool) {
	ds = parsePolicy(policy)

	if i := findDirective(ds, "script-src-elem", "script-src", "default-src"); i >= 0 {
		d := ds[i]
		var add []byte
		switch {
		case hasSource(d.values, isKeyword("'strict-dynamic'")) || hasSource(d.values, isNonceOrHash):
			if len(plan.nonce) == 0 {
				plan.nonce = newNonce(nil)
			}
			add = append(append([]byte("'nonce-"), plan.nonce...), '\'')
		case allowsSelf(d.values):
		case isHostSource(host):
			add = append(append([]byte("http://"), host...), scriptPath...)
		}
		if add != nil {
			ds = addSource(ds, i, "script-src", add)
			changed = true
		}
	}
	if i := findDirective(ds, "connect-src", "default-src"); i >= 0 && !allowsSelf(ds[i].values) && isHostSource(host) {
		ds = addSource(ds, i, "connect-src", append(append([]byte("ws://"), host...), socketPath...))
		changed = true
	}
	return ds, changed
}

// appendPolicy appends the serialized policy of ds to dst.
func appendPolicy(dst []byte, ds []directive) []byte {
	for k, d := range ds {
		if k > 0 {
			dst = append(dst, "; "...)
		}
		dst = append(dst, d.name...)
		for _, v := range d.values {
			dst = append(dst, ' ')
			dst = append(dst, v...)
		}
	}
	return dst
}

// addSource adds src to directive i, or, when i is default-src, to a new
// directive named as (a copy of default-src), leaving default-src alone.
// 'none' cannot be combined with sources, so it is replaced.
func addSource(ds []directive, i int, as string, src []byte) []directive {
	values := ds[i].values
	if string(ds[i].name) == "default-src" {
		values = append([][]byte(nil), values...)
	}
	kept := values[:0:0]
	for _, v := range values {
		if !httpwire.EqualFold(v, "'none'") {
			kept = append(kept, v)
		}
	}
	kept = append(kept, src)
	if string(ds[i].name) == "default-src" {
		return append(ds, directive{name: []byte(as), values: kept})
	}
	ds[i].values = kept
	return ds
}

// AmendCSP rewrites the Content-Security-Policy fields of resp so that
// every policy they list lets the reload client run: it appends the
// amended values to dst, in field order, and returns them with the tag to
// inject (tag itself, or a copy carrying a nonce when a policy needs one).
// host is the request's Host; scriptPath and socketPath are the client's. It allocates, but only for
// pages that have a policy.
func AmendCSP(dst [][]byte, resp *httpwire.ResponseHead, tag, host []byte, scriptPath, socketPath string) (policies [][]byte, tagOut []byte) {
	var plan cspPlan
	for _, f := range resp.Fields {
		if httpwire.EqualFold(f.Name, "content-security-policy") {
			dst = append(dst, rewritePolicy(f.Value, host, scriptPath, socketPath, &plan))
		}
	}
	if len(plan.nonce) > 0 && bytes.HasPrefix(tag, []byte("<script")) {
		withNonce := make([]byte, 0, len(tag)+len(plan.nonce)+10)
		withNonce = append(withNonce, "<script nonce=\""...)
		withNonce = append(withNonce, plan.nonce...)
		withNonce = append(withNonce, '"')
		tag = append(withNonce, tag[len("<script"):]...)
	}
	return dst, tag
}
