package htmlinject

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"reloadproxy/httpwire"
)

// Fuzz targets check properties of the injector and the CSP rewrite, not
// only that they do not panic. Run one with, for example,
//
//	go test ./httpwire/htmlinject -run '^$' -fuzz '^FuzzInjector$' -fuzztime 10m -parallel 1

// fuzzTag is the tag the proxy injects (ws.scriptTag).
const fuzzTag = `<script src="/.reloadproxy/client.js" async></script>`

// htmlSeeds are documents for the seed corpora: the shapes of
// TestInjectHTMLInsertionPoint and pages as servers send them.
var htmlSeeds = []string{
	"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
	`<html><head lang="en" data-x='a>b'><meta charset=utf-8>`,
	"<HTML><HEAD>\n<TITLE>", "<head\n>x", "<body><header>h</header>", "<html><body class=\"x\">hi", "<BODY>",
	"<bodyx><p>", "<!-- <head> --><head>x", "<!-- a -- b --->  <body>", "<p>fragment</p>", "", "a <", "<hea",
	"<head><head>", "<!-->", "<!---><head>", "<!doctype html><!--[if IE]><head><![endif]--><head data-a=\"1\">",
	"<head/><body>", "<head a=\"x\" b='y' c=z>", "<head a=\"unterminated>", "<html>\n<body\t>\n<head>", "<<head>>", "<!<head>",
	"<svg><head></head></svg>", "<script>if (a<b) {}</script><body>", "<title><head></title>", "\xef\xbb\xbf<head>",
	"<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Dev</title>\n" +
		"    <link rel=\"stylesheet\" href=\"/static/app.css\">\n  </head>\n  <body>\n    <div id=\"root\"></div>\n" +
		"    <script type=\"module\" src=\"/src/main.js\"></script>\n  </body>\n</html>\n",
}

// pieces cuts b into the pieces a fuzz input's split bytes describe: each
// byte is the length of the next piece (0: an empty write), cycling; no
// split bytes means one piece.
func pieces(b, splits []byte) [][]byte {
	if len(splits) == 0 {
		return [][]byte{b}
	}
	var out [][]byte
	zeros := 0 // empty pieces in a row
	for i := 0; len(b) > 0 || i < len(splits); i++ {
		n := min(int(splits[i%len(splits)]), len(b))
		out = append(out, b[:n])
		b = b[n:]
		if n > 0 {
			zeros = 0
		} else if zeros++; zeros > len(splits) {
			return append(out, b) // the splits are all zero: the rest in one
		}
	}
	return out
}

// insertion returns where tag was inserted into doc to give out, or -1
// when out is not doc with tag inserted exactly once.
func insertion(doc, out, tag []byte) int {
	if len(out) != len(doc)+len(tag) {
		return -1
	}
	p := 0 // common prefix
	for p < len(doc) && doc[p] == out[p] {
		p++
	}
	s := 0 // common suffix
	for s < len(doc) && doc[len(doc)-1-s] == out[len(out)-1-s] {
		s++
	}
	for k := max(0, len(doc)-s); k <= p; k++ {
		if bytes.Equal(out[k:k+len(tag)], tag) {
			return k
		}
	}
	return -1
}

// hasPrefixFold reports whether b starts with the ASCII string s, ignoring
// case.
func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && httpwire.EqualFold(b[:len(s)], s)
}

// FuzzInjector checks that for any document and any split into writes,
// the output is the document with the tag inserted exactly once, at a
// place the Injector's doc allows, and exactly where referenceInsertion
// puts it (never in raw text); that the Injector over the split equals
// InjectHTML on the whole; and that ChunkedInjector over a chunked
// encoding of the document (chunks cut by the same split, with extensions
// and a trailer) decodes to the same bytes, trailer untouched.
func FuzzInjector(f *testing.F) {
	for i, doc := range htmlSeeds {
		f.Add([]byte(doc), []byte{byte(i), 1, 7})
		f.Add([]byte(doc), []byte{})
	}
	for i, tt := range rawTextTests {
		f.Add([]byte(tt.in), []byte{byte(i % 5), 2})
	}
	f.Add([]byte("<head>"), []byte{1})
	f.Add([]byte("<body>"), []byte{0, 2, 0, 3})
	tag := []byte(fuzzTag)
	f.Fuzz(func(t *testing.T, doc, splits []byte) {
		want := InjectHTML(nil, doc, tag)
		k := insertion(doc, want, tag)
		if k < 0 {
			t.Fatalf("InjectHTML(%q) = %q: not the document with the tag inserted once", doc, want)
		}
		// Where: after a <head ...> start tag, before <body, or at the end.
		// (Comments and which of several candidates is first are the
		// table tests' business.)
		afterHead := k > 0 && doc[k-1] == '>' && bytes.Contains(bytes.ToLower(doc[:k]), []byte("<head"))
		beforeBody := hasPrefixFold(doc[k:], "<body") && (len(doc) == k+5 || isTagEnd(doc[k+5]))
		if k != len(doc) && !afterHead && !beforeBody {
			t.Fatalf("InjectHTML(%q): tag at %d, after %q, before %q: neither after <head>, before <body nor at the end", doc, k, doc[:k], doc[k:])
		}
		if r := referenceInsertion(doc); !bytes.Equal(want, slices.Concat(doc[:r], tag, doc[r:])) {
			t.Fatalf("InjectHTML(%q) = %q: want the tag at %d, after %q", doc, want, r, doc[:r])
		}

		var j Injector
		j.Reset(tag)
		var out []byte
		for _, p := range pieces(doc, splits) {
			out = j.Append(out, p)
		}
		out = j.Finish(out)
		if !bytes.Equal(out, want) {
			t.Fatalf("split %v of %q:\n got %q\nwant %q", splits, doc, out, want)
		}
		if again := j.Finish(out); !bytes.Equal(again, want) {
			t.Fatalf("a second Finish changed the output: %q", again)
		}

		// A chunked encoding of doc: one chunk per non-empty piece, an
		// extension on every other one, then a trailer.
		var body []byte
		for i, p := range pieces(doc, splits) {
			if len(p) == 0 {
				continue
			}
			body = fmt.Appendf(body, "%x", len(p))
			if i%2 == 1 {
				body = append(body, ";x=\"y\""...)
			}
			body = append(body, "\r\n"...)
			body = append(body, p...)
			body = append(body, "\r\n"...)
		}
		const trailer = "X-T: 1\r\n\r\n"
		body = append(body, "0;z\r\n"+trailer...)
		stream := append(bytes.Clone(body), "GET / HTTP/1.1\r\n"...) // the next message is not consumed
		var ci ChunkedInjector
		ci.Reset(tag)
		var cout []byte
		read := 0
		for _, p := range pieces(stream, append([]byte{3}, splits...)) {
			if ci.Done() {
				break
			}
			var n int
			var err error
			cout, n, err = ci.Append(cout, p)
			if err != nil {
				t.Fatalf("ChunkedInjector on %q: %v at %d", body, err, read+n)
			}
			read += n
			if n != len(p) && !ci.Done() {
				t.Fatalf("ChunkedInjector consumed %d of %d bytes without ending the body", n, len(p))
			}
		}
		if !ci.Done() || read != len(body) {
			t.Fatalf("ChunkedInjector on %q: done %v after %d bytes, want %d", body, ci.Done(), read, len(body))
		}
		data, tr, err := decodeChunked(cout)
		if err != nil {
			t.Fatalf("ChunkedInjector output %q is no chunked body: %v", cout, err)
		}
		if !bytes.Equal(data, want) || string(tr) != trailer {
			t.Fatalf("ChunkedInjector on %q:\n got %q | %q\nwant %q | %q", body, data, tr, want, trailer)
		}
	})
}

// referenceInsertion returns where the tag goes in doc, found as the
// Injector's doc says but by reading the whole document with lookahead
// rather than byte by byte. It reads HTML the way the Injector does, which
// is simpler than a browser: a comment is "<!-->", "<!--->", or ends at
// the first "-->" or "--!>"; in a <head>, raw text start tag or end tag a
// quote opens a quoted run where an attribute value starts (after '=' and
// white space); the attributes of other tags are not read.
func referenceInsertion(doc []byte) int {
	ld := asciiLower(doc)
	for i := 0; ; {
		lt := bytes.IndexByte(ld[i:], '<')
		if lt < 0 {
			return len(doc)
		}
		i += lt
		if bytes.HasPrefix(ld[i:], []byte("<!--")) {
			// "<!-->" and "<!--->" are whole comments; else the first
			// "-->" or "--!>" ends one.
			body := ld[i+4:]
			switch {
			case bytes.HasPrefix(body, []byte(">")):
				i += 5
				continue
			case bytes.HasPrefix(body, []byte("->")):
				i += 6
				continue
			}
			end, endLen := bytes.Index(body, []byte("-->")), 3
			if bang := bytes.Index(body, []byte("--!>")); bang >= 0 && (end < 0 || bang < end) {
				end, endLen = bang, 4
			}
			if end < 0 {
				return len(doc)
			}
			i += 4 + end + endLen
			continue
		}
		name := ""
		for _, n := range []string{"head", "body", "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"} {
			if tagFollows(ld[i+1:], n) {
				name = n
			}
		}
		switch name {
		case "":
			i++
		case "body":
			return i
		case "head":
			return min(tagClose(ld, i+1+len(name))+1, len(doc))
		default:
			content := tagClose(ld, i+1+len(name)) + 1
			end := rawTextEnd(ld, content, name)
			if content > len(ld) || end == len(ld) {
				return len(doc)
			}
			i = tagClose(ld, end+2+len(name)) + 1
			if i > len(ld) {
				return len(doc)
			}
		}
	}
}

// rawTextEnd returns the index of the end tag of the raw text element name
// whose content starts at ld[from], or len(ld).
func rawTextEnd(ld []byte, from int, name string) int {
	if name == "plaintext" {
		return len(ld)
	}
	// In a script, "<!--" starts an escape that "-->" ends, and "<script"
	// in an escape starts a double escape that "</script" only ends
	// (WHATWG HTML, script data escaped states). The dashes of "<!--"
	// count for "-->".
	const scriptData, escaped, doubleEscaped = 0, 1, 2
	mode := scriptData
	for j := from; j < len(ld); j++ {
		switch rest := ld[j:]; {
		case bytes.HasPrefix(rest, []byte("</")) && tagFollows(rest[2:], name):
			if mode != doubleEscaped {
				return j
			}
			mode = escaped
			j += len("</") + len(name) // and the delimiter, with j++
		case name != "script":
		case mode == scriptData && bytes.HasPrefix(rest, []byte("<!--")):
			mode = escaped
			j += len("<!-") // and the last '-', with j++
		case mode == escaped && bytes.HasPrefix(rest, []byte("<")) && tagFollows(rest[1:], "script"):
			mode = doubleEscaped
			j += len("<script")
		case mode != scriptData && rest[0] == '>' && ld[j-1] == '-' && ld[j-2] == '-':
			mode = scriptData
		}
	}
	return len(ld)
}

// tagFollows reports whether b starts with name and a character that ends
// a tag name.
func tagFollows(b []byte, name string) bool {
	return len(b) > len(name) && string(b[:len(name)]) == name && strings.IndexByte(" \t\n\r\f/>", b[len(name)]) >= 0
}

// tagClose returns the index of the '>' that closes the tag whose name
// ends at ld[from], skipping quoted runs, or len(ld).
func tagClose(ld []byte, from int) int {
	valueNext := false // after '=', before the value
	for j := from; j < len(ld); j++ {
		c := ld[j]
		switch {
		case c == '>':
			return j
		case valueNext && strings.IndexByte(" \t\n\r\f", c) >= 0:
		case valueNext && (c == '"' || c == '\''):
			end := bytes.IndexByte(ld[j+1:], c)
			if end < 0 {
				return len(ld)
			}
			j += 1 + end
			valueNext = false
		case c == '=':
			valueNext = true
		default:
			valueNext = false
		}
	}
	return len(ld)
}

// decodeChunked decodes a whole chunked body with httpwire's scanner: its
// data and its trailer section (with the final CRLF).
func decodeChunked(b []byte) (data, trailer []byte, err error) {
	var s httpwire.ChunkedScanner
	n := 0
	for n < len(b) && !s.Done() {
		k, kind, err := s.ScanSegment(b[n:])
		switch kind {
		case httpwire.SegmentData:
			data = append(data, b[n:n+k]...)
		case httpwire.SegmentTrailer:
			trailer = append(trailer, b[n:n+k]...)
		}
		n += k
		if err != nil {
			return nil, nil, err
		}
	}
	if !s.Done() || n != len(b) {
		return nil, nil, fmt.Errorf("body ends at %d of %d (done %v)", n, len(b), s.Done())
	}
	return data, trailer, nil
}

// cspSeeds are policies for the seed corpora: TestRewritePolicy's and
// policies real sites send.
var cspSeeds = []string{
	"default-src 'self'", "script-src *; connect-src *", "script-src 'nonce-abc'; connect-src 'self'",
	"script-src 'sha256-xyz=' 'self'", "script-src 'strict-dynamic' 'self' 'nonce-a'; default-src 'self'",
	"script-src 'unsafe-inline'; connect-src https://api.test", "script-src 'none'; connect-src 'none'",
	"default-src https://cdn.test; img-src *", "script-src-elem 'nonce-q'; script-src 'self'; connect-src 'self'",
	"frame-ancestors 'none'", "", ";", " ; ;", "DEFAULT-SRC 'NONE'", "default-src 'none'; script-src 'none'; script-src 'self'",
	"default-src 'self'; script-src 'report-sample' 'nonce-r4nd0m' 'strict-dynamic' https: http:; object-src 'none'; base-uri 'none'; report-uri https://csp.example/r",
	"upgrade-insecure-requests; block-all-mixed-content", "script-src\t'self'\t; connect-src\twss://x",
	"default-src 'none'\x85; script-src 'self'", "img-src \xc3\xa9; default-src 'none'",
	"default-src https://cdn.example, script-src https://cdn.example", "script-src 'nonce-abc', img-src *",
	"script-src 'self'; connect-src 'none', img-src *", ",, script-src 'none' ,,connect-src 'none',",
	"DEFAULT-SRC 'self', Script-Src 'Nonce-abc'; CONNECT-SRC 'SELF'", "connect-src 'self', default-src 'none'",
}

// cspDirective is one directive as a browser reads it.
type cspDirective struct {
	name   string
	values []string
}

// parseCSPList parses a field value as CSP Level 3's "parse a serialized
// CSP list" does: split on ',', each piece a policy. Empty policies, which
// a browser drops, are kept here so that policies in and out line up.
func parseCSPList(list []byte) [][]cspDirective {
	var policies [][]cspDirective
	for _, policy := range strings.Split(string(list), ",") {
		policies = append(policies, parseCSP(policy))
	}
	return policies
}

// parseCSP parses a serialized policy as CSP Level 3 §2.2.1 says: split on
// ';', skip empty and non-ASCII directives and repeated names, split on
// ASCII whitespace. It is the reference AmendCSP's output is read with.
func parseCSP(policy string) []cspDirective {
	var ds []cspDirective
	seen := map[string]bool{}
	for _, tok := range strings.Split(policy, ";") {
		tok = strings.Trim(tok, "\t\n\f\r ")
		if tok == "" || !isASCII(tok) {
			continue
		}
		fields := strings.FieldsFunc(tok, func(r rune) bool { return strings.ContainsRune("\t\n\f\r ", r) })
		name := strings.ToLower(fields[0])
		if seen[name] {
			continue
		}
		seen[name] = true
		ds = append(ds, cspDirective{name: name, values: fields[1:]})
	}
	return ds
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// amendable are the directives AmendCSP may change or add.
var amendable = map[string]bool{"script-src-elem": true, "script-src": true, "connect-src": true}

var nonceTag = regexp.MustCompile(`^<script nonce="([A-Za-z0-9_-]{22})"`)

// FuzzCSP checks AmendCSP on one or two Content-Security-Policy fields,
// each a list of policies: it never panics; each output field is a valid
// field value holding as many policies as its input; read as a browser
// reads it, in every policy every directive other than script-src-elem,
// script-src and connect-src is unchanged, and those keep their sources
// (less 'none'); every policy lets the client's script and socket load
// when the Host can be named in a source; the tag carries a nonce if and
// only if a policy got that nonce, which no input had.
func FuzzCSP(f *testing.F) {
	for i, p := range cspSeeds {
		f.Add(p, cspSeeds[(i+3)%len(cspSeeds)], "localhost:8000")
	}
	f.Add("script-src 'self'", "", "[::1]:3000")
	f.Add("connect-src 'self'", "", "")
	tag := []byte(fuzzTag)
	const scriptPath, socketPath = "/.reloadproxy/client.js", "/.reloadproxy/ws"
	var req httpwire.RequestHead
	var resp httpwire.ResponseHead
	f.Fuzz(func(t *testing.T, policy1, policy2, host string) {
		// The fields come from a parsed response, the host from a parsed
		// request, as in the proxy.
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Security-Policy: " + policy1 + "\r\n"
		if policy2 != "" {
			head += "content-security-policy: " + policy2 + "\r\n"
		}
		if _, err := resp.Parse([]byte(head + "\r\n")); err != nil {
			return
		}
		if _, err := req.Parse([]byte("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")); err != nil {
			return
		}
		var in [][]byte
		for _, fl := range resp.Fields {
			if httpwire.EqualFold(fl.Name, "content-security-policy") {
				in = append(in, fl.Value)
			}
		}
		inCopy := make([][]byte, len(in))
		for i, p := range in {
			inCopy[i] = bytes.Clone(p)
		}
		out, tagOut := AmendCSP(nil, &resp, tag, req.Host, scriptPath, socketPath)
		if len(out) != len(in) {
			t.Fatalf("%d policies in, %d out", len(in), len(out))
		}
		for i := range in {
			if !bytes.Equal(in[i], inCopy[i]) {
				t.Fatalf("AmendCSP changed its input %q to %q", inCopy[i], in[i])
			}
		}

		nonce := ""
		if !bytes.Equal(tagOut, tag) {
			m := nonceTag.FindSubmatch(tagOut)
			if m == nil || !bytes.Equal(tagOut[len(m[0]):], tag[len("<script"):]) {
				t.Fatalf("tag %q: want %q or it with a nonce", tagOut, tag)
			}
			nonce = "'nonce-" + string(m[1]) + "'"
		}
		nonceAdded := false
		for i := range in {
			if !validFieldValue(out[i]) {
				t.Fatalf("policy %q became %q: not a field value", in[i], out[i])
			}
			beforeList, afterList := parseCSPList(in[i]), parseCSPList(out[i])
			if len(beforeList) != len(afterList) {
				t.Fatalf("policy list %q became %q: %d policies, then %d", in[i], out[i], len(beforeList), len(afterList))
			}
			for k, after := range afterList {
				checkAmendedPolicy(t, in[i], out[i], beforeList[k], after)
				if isHostSource(req.Host) && isASCII(string(out[i])) {
					checkClientAllowed(t, out[i], after, nonce, "http://"+string(req.Host)+scriptPath, "ws://"+string(req.Host)+socketPath)
				}
			}
			// Nonces are looked for in every directive, also in those a
			// browser ignores. Tokens are compared in lower case: a
			// rewritten policy lower-cases directive names, and a name
			// may look like a nonce.
			had := map[string]bool{}
			for _, v := range cspTokens(in[i]) {
				had[strings.ToLower(v)] = true
			}
			for _, v := range cspTokens(out[i]) {
				if had[strings.ToLower(v)] || !strings.HasPrefix(strings.ToLower(v), "'nonce-") {
					continue
				}
				if v != nonce {
					t.Fatalf("policy %q became %q: it got %s, the tag %q", in[i], out[i], v, tagOut)
				}
				nonceAdded = true
			}
		}
		if nonce != "" && !nonceAdded {
			t.Fatalf("policies %q became %q: the tag %q has a nonce no policy got", in, out, tagOut)
		}
	})
}

// checkAmendedPolicy checks one policy of a list: directives other than
// the amendable ones are untouched, in order; the amendable ones keep
// their sources.
func checkAmendedPolicy(t *testing.T, in, out []byte, before, after []cspDirective) {
	t.Helper()
	var keep1, keep2 []cspDirective
	for _, d := range before {
		if !amendable[d.name] {
			keep1 = append(keep1, d)
		}
	}
	for _, d := range after {
		if !amendable[d.name] {
			keep2 = append(keep2, d)
		}
	}
	if fmt.Sprint(keep1) != fmt.Sprint(keep2) {
		t.Fatalf("policy %q became %q: other directives changed:\n-%q\n+%q", in, out, keep1, keep2)
	}
	for _, d := range before {
		if !amendable[d.name] {
			continue
		}
		nd := findCSP(after, d.name)
		if nd == nil {
			t.Fatalf("policy %q became %q: %s is gone", in, out, d.name)
		}
		for _, v := range d.values {
			if !strings.EqualFold(v, "'none'") && !containsString(nd.values, v) {
				t.Fatalf("policy %q became %q: %s lost %s", in, out, d.name, v)
			}
		}
	}
}

// checkClientAllowed checks that a policy of out lets the client's script
// (by nonce, by URL, or by 'self' or * where 'strict-dynamic' does not
// switch those off) and its socket load.
func checkClientAllowed(t *testing.T, out []byte, policy []cspDirective, nonce, scriptURL, socketURL string) {
	t.Helper()
	hasFold := func(d *cspDirective, kw string) bool {
		return slices.ContainsFunc(d.values, func(v string) bool { return strings.EqualFold(v, kw) })
	}
	script := findCSP(policy, "script-src-elem")
	if script == nil {
		script = findCSP(policy, "script-src")
	}
	if script == nil {
		script = findCSP(policy, "default-src")
	}
	if script != nil && !(nonce != "" && containsString(script.values, nonce) || containsString(script.values, scriptURL) ||
		!hasFold(script, "'strict-dynamic'") && (hasFold(script, "'self'") || hasFold(script, "*"))) {
		t.Fatalf("%q: policy %q blocks the client script (tag nonce %q)", out, policy, nonce)
	}
	connect := findCSP(policy, "connect-src")
	if connect == nil {
		connect = findCSP(policy, "default-src")
	}
	if connect != nil && !(containsString(connect.values, socketURL) || hasFold(connect, "'self'") || hasFold(connect, "*")) {
		t.Fatalf("%q: policy %q blocks the client socket", out, policy)
	}
}

// cspTokens returns the words of a policy list: split on ',', ';' and
// ASCII whitespace.
func cspTokens(list []byte) []string {
	return strings.FieldsFunc(string(list), func(r rune) bool { return strings.ContainsRune(",;\t\n\f\r ", r) })
}

func findCSP(ds []cspDirective, name string) *cspDirective {
	for i := range ds {
		if ds[i].name == name {
			return &ds[i]
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validFieldValue reports whether v may be sent as a field value: no CR,
// LF, NUL or other CTL but HTAB (RFC 9110 §5.5).
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
