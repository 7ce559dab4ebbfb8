package httpwire

// Differential test against net/http: the same raw bytes go to our
// RequestHead.Parse (bodies framed by ChunkedScanner or Content-Length, as
// the proxy frames them) and to http.ReadRequest (bodies read to the end
// with io.ReadAll), message after message. The reference is ReadRequest
// alone: the checks net/http's Server adds after it (Host present and
// valid, HTTP/1.x only, CR/LF skipped after a POST) are not applied, and
// the reasons below say where the Server would agree with us.
//
// Inputs: the request cases of head_test.go, the valid request streams,
// every request fixture of the llhttp corpus (read at run time, see
// llhttpCorpus; Host is inserted where llhttp_test.go inserts it), and a
// generated set of one-point mutations of a few base requests.
//
// Compared per message: accept or reject, method, target, version, the
// host (absolute-form authority, else Host), framing (chunked or
// Content-Length), the close flag and the body bytes. A disagreement is
// named "ours | net/http" by the two verdicts (our error's name, net/http's
// error class, "accept", or "accept | accept: <properties>"); every name
// must be listed in netHTTPDeviations with its reason, and every listed
// name must still occur.
//
// NETHTTP_VERBOSE=1 go test -v -run TestDifferentialNetHTTP lists every
// disagreement with its inputs.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// netHTTPDeviations are the kinds of disagreement with net/http's
// ReadRequest, keyed "our verdict | net/http's verdict", each with the
// reason we answer differently. TestDifferentialNetHTTP fails on any other
// disagreement and on any kind here that no longer occurs.
var netHTTPDeviations = map[string]string{
	// Line ends and whitespace: RFC 9112 lets a recipient repair these or
	// requires rejecting them; a proxy that repairs what the backend might
	// read differently can be used to smuggle a request past it, so we
	// reject. bufio.Reader.ReadLine takes a bare LF as a line end and
	// textproto joins obs-fold lines and keeps a name with SP.
	"ErrBareLF | accept":           "RFC 9112 §2.2: a recipient MAY take a bare LF as a line terminator; we reject it, so no parser after us reads the lines differently",
	"ErrObsFold | accept":          "RFC 9112 §5.2: a server MUST either reject obs-fold with 400 or replace it with SP; we reject (textproto joins the lines)",
	"ErrSpaceBeforeColon | accept": "RFC 9112 §5.1: a server MUST reject a request with whitespace between a field name and the colon; textproto keeps \"Host \" as a field of its own (and accepts \"X Y\" as a name)",

	// Field values we check and ReadRequest does not.
	"ErrFieldValue | accept": "RFC 9110 §7.6.1: each Connection option is a token (we act on them: the fields they name are hop-by-hop); ReadRequest does not parse Connection beyond close and keep-alive",

	// Request-line and target (RFC 9112 §3).
	"ErrTarget | accept":      "RFC 9112 §3.2: we serve origin-form, absolute-form http(s) with a non-empty host (RFC 9110 §4.2.1), no userinfo (RFC 9110 §4.2.4) and an authority a Host may hold, and asterisk-form for OPTIONS only (§3.2.4); URIs are ASCII (RFC 3986 §2). url.ParseRequestURI accepts any scheme, userinfo, * and authority-form for any method, and bytes over 0x7f",
	"ErrHTTPVersion | accept": "RFC 9110 §15.6.6: only HTTP/1.0 and 1.1 are served, others get 505; ReadRequest parses any HTTP/d.d (net/http's Server then answers 505 to all but 1.x and PRI * HTTP/2.0)",
	"ErrConnect | accept":     "RFC 9110 §9.3.6: CONNECT is answered 501 by design (DESIGN.md), a reverse proxy tunnels to no host; ReadRequest parses it",

	// Host (RFC 9112 §3.2), which ReadRequest leaves to net/http's Server
	// (it rejects a missing Host in HTTP/1.1, and bytes no host holds).
	"ErrMissingHost | accept": "RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host (net/http's Server does, after ReadRequest)",
	"ErrHost | accept":        "RFC 9112 §3.2: a Host that is not uri-host [ \":\" port ] (RFC 9110 §7.2) is invalid and MUST get 400: SP, '/', '@', '\"', obs-text and lists are refused (net/http's Server refuses most of these bytes, after ReadRequest)",

	// Framing (RFC 9112 §6). Every head whose framing a parser after us
	// could read otherwise is rejected; ReadRequest resolves these.
	"ErrDuplicateLength | accept":   "RFC 9112 §6.3 item 5: a request with more than one Content-Length is rejected even when the values agree (a recipient MAY merge them, as ReadRequest does)",
	"ErrLengthAndEncoding | accept": "RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding ought to be handled as an error, and the server MUST close the connection after it; we reject it, ReadRequest lets chunked win",
	"ErrEncodingHTTP10 | accept":    "RFC 9112 §6.1: a server MUST treat Transfer-Encoding in an HTTP/1.0 request as faulty framing and close the connection; we reject it, ReadRequest ignores the field (Go issue 12785) and reads the chunked body as the next request",
	"ErrContentLength | accept":     "RFC 9110 §8.6: a recipient MUST anticipate large numerals and prevent overflow; we refuse values of more than 18 significant digits (≥ 10^18 bytes), ReadRequest takes up to 2^63-1",

	// Limits: 414 (RFC 9112 §3) and 431 (RFC 6585 §5). ReadRequest has
	// none; net/http's Server bounds the whole head by MaxHeaderBytes.
	"ErrURITooLong | accept":    "RFC 9112 §3: a request-line over MaxRequestLine (8 KiB) gets 414",
	"ErrHeadTooLarge | accept":  "RFC 6585 §5: a head over MaxHeadBytes (64 KiB) gets 431 (net/http's Server allows 1 MiB)",
	"ErrTooManyFields | accept": "RFC 6585 §5: more than MaxFields (100) field lines get 431",

	// Chunked bodies (RFC 9112 §7.1): net/http's chunked reader trims
	// whitespace after the size, does not look at extensions, and reads
	// trailers with textproto (obs-fold, SP before the colon).
	"body ErrChunkSize | body complete": "RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF allows BWS only before ';' (§7.1.1), so \"5 \\r\\n\" is rejected; and a chunk-size of more than 15 hex digits (≥ 2^60 bytes) is refused, net/http allows 16",
	"body ErrChunkExt | body complete":  "RFC 9112 §7.1.1: chunk-ext = *( BWS \";\" BWS chunk-ext-name [ BWS \"=\" BWS chunk-ext-val ] ), names and values tokens or quoted-strings; net/http drops everything after ';' unchecked",
	"body ErrTrailer | body complete":   "RFC 9112 §7.1.2: trailer fields are field lines (§5), so obs-fold (§5.2) and whitespace before the colon (§5.1) are rejected there too",

	// We differ in what we accept.
	"accept | accept: target without its fragment": "RFC 9112 §3.2, RFC 3986 §4.3: a fragment is no part of a request-target; we drop it, as nginx does, so that it reaches the backend neither in the path nor in the Host an absolute-form target's authority becomes; ReadRequest keeps it in the path",

	// net/http is stricter.
	"accept | malformed HTTP request":           "RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) before the request-line; we ignore one, ReadRequest none (net/http's Server skips up to four CR/LF bytes, after a POST only)",
	"accept | invalid URI escape":               "RFC 9112 §3.2: the target is forwarded byte for byte and its percent-encoding is the origin's to judge (a malformed one cannot change framing or the host); url.ParseRequestURI decodes it and refuses \"%zz\"",
	"accept | unsupported transfer encoding":    "RFC 9110 §5.6.1: a recipient MUST accept and ignore empty list elements, so \"chunked,\" and \", chunked\" are chunked (the backend gets exactly \"chunked\"); ReadRequest wants the value to be exactly chunked",
	"body complete | body bad chunked encoding": "RFC 9112 §7.1.1: BWS is allowed before ';' and around '=' in a chunk extension; net/http's chunked reader refuses \"5 ;a=b\"",
}

// diffMsg is what a parser made of one request.
type diffMsg struct {
	method, target string
	version        string // "HTTP/1.1"
	host           string // absolute-form authority, else Host
	framing        string // "chunked", "length 5", or "none"
	close          bool   // the connection closes after this request

	body    string
	bodyEnd diffEnd // diffDone, or how the body went wrong
	bodyErr string  // verdict when bodyEnd is not diffDone
	stop    bool    // ours: the proxy reads nothing after it (close, upgrade)
}

// diffEnd is how a run or a body ended.
type diffEnd uint8

const (
	diffDone       diffEnd = iota // every byte was part of an accepted message
	diffIncomplete                // the input ended inside a message
	diffReject                    // a message was rejected
)

// diffRun is one parser's reading of an input: the messages whose heads it
// accepted, then how it stopped.
type diffRun struct {
	msgs    []diffMsg
	end     diffEnd // after the last message
	verdict string  // for diffReject: the error's name or class
	detail  string  // the error itself
}

// runOursDiff reads in as the proxy does. With addHost, "Host:
// llhttp.test" is inserted into HTTP/1.1 requests without one (see
// llhttp_test.go); it returns the input with the insertions.
func runOursDiff(in []byte, addHost bool) (diffRun, []byte) {
	var (
		r diffRun
		h RequestHead
	)
	for off := 0; off < len(in); {
		n, err := h.Parse(in[off:])
		if addHost && errors.Is(err, ErrMissingHost) {
			in = withHost(in, off)
			n, err = h.Parse(in[off:])
		}
		switch {
		case err == ErrNeedMore:
			r.end = diffIncomplete
			return r, in
		case err != nil:
			r.end, r.verdict, r.detail = diffReject, errName(err), err.Error()
			return r, in
		}
		off += n
		m := diffMsg{
			method:  string(h.Method),
			target:  string(h.Target),
			version: fmt.Sprintf("HTTP/1.%d", h.Minor),
			host:    string(h.EffectiveHost()),
			framing: "none",
			close:   !h.KeepAlive,
			stop:    !h.KeepAlive || h.Upgrade,
		}
		switch {
		case h.Chunked:
			m.framing = "chunked"
			data, k, done, err := dechunk(in[off:])
			m.body = string(data)
			off += k
			switch {
			case err != nil:
				m.bodyEnd, m.bodyErr = diffReject, errName(err)
			case !done:
				m.bodyEnd = diffIncomplete
			}
		case h.ContentLength > 0:
			m.framing = fmt.Sprintf("length %d", h.ContentLength)
			if int64(len(in)-off) < h.ContentLength {
				m.body, m.bodyEnd = string(in[off:]), diffIncomplete
				off = len(in)
			} else {
				m.body = string(in[off : off+int(h.ContentLength)])
				off += int(h.ContentLength)
			}
		}
		r.msgs = append(r.msgs, m)
		if m.bodyEnd != diffDone || m.stop {
			return r, in
		}
	}
	return r, in
}

// dechunk decodes the chunked body at the start of b with ChunkedScanner:
// the data, the body's length, whether it is complete, and the scanner's
// error.
func dechunk(b []byte) (data []byte, n int, done bool, err error) {
	var s ChunkedScanner
	for n < len(b) && !s.Done() {
		k, kind, err := s.ScanSegment(b[n:])
		if kind == SegmentData {
			data = append(data, b[n:n+k]...)
		}
		n += k
		if err != nil {
			return data, n, false, err
		}
		if k == 0 {
			break
		}
	}
	return data, n, s.Done(), nil
}

// runNetHTTP reads in with http.ReadRequest, reading each body to its end.
func runNetHTTP(in []byte) diffRun {
	var r diffRun
	br := bufio.NewReader(bytes.NewReader(in))
	for {
		if _, err := br.Peek(1); err != nil {
			return r // every byte read
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				r.end = diffIncomplete
			} else {
				r.end, r.verdict, r.detail = diffReject, netHTTPClass(err), err.Error()
			}
			return r
		}
		m := diffMsg{
			method:  req.Method,
			target:  req.RequestURI,
			version: fmt.Sprintf("HTTP/%d.%d", req.ProtoMajor, req.ProtoMinor),
			host:    req.Host,
			framing: "none",
			close:   req.Close,
		}
		switch {
		case len(req.TransferEncoding) > 0:
			m.framing = "chunked"
		case req.ContentLength > 0:
			m.framing = fmt.Sprintf("length %d", req.ContentLength)
		}
		body, err := io.ReadAll(req.Body)
		m.body = string(body)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			m.bodyEnd = diffIncomplete
		case err != nil:
			m.bodyEnd, m.bodyErr = diffReject, netHTTPClass(err)
		}
		r.msgs = append(r.msgs, m)
		if m.bodyEnd != diffDone {
			return r
		}
	}
}

// netHTTPErrors are the classes of net/http's errors: a fragment of the
// message without the quoted input.
var netHTTPErrors = []struct{ fragment, class string }{
	{"malformed HTTP request", "malformed HTTP request"},
	{"invalid method", "invalid method"},
	{"malformed HTTP version", "malformed HTTP version"},
	{"invalid URL escape", "invalid URI escape"},
	{"invalid port", "invalid URI port"},
	{"invalid URI for request", "invalid URI"},
	{"invalid character", "invalid URI"},
	{"invalid IPv6 host", "invalid URI"},
	{"first path segment in URL cannot contain colon", "invalid URI"},
	{"malformed MIME header", "malformed header"},
	{"too many Host headers", "too many Host headers"},
	{"unsupported transfer encoding", "unsupported transfer encoding"},
	{"too many transfer encodings", "too many transfer encodings"},
	{"multiple Content-Length", "multiple Content-Length"},
	{"Content-Length", "bad Content-Length"},
	{"chunk", "bad chunked encoding"},
	{"message too large", "message too large"},
}

func netHTTPClass(err error) string {
	s := err.Error()
	for _, e := range netHTTPErrors {
		if strings.Contains(s, e.fragment) {
			return e.class
		}
	}
	return s
}

// diffVerdict names what a run did at message i: "accept" if it read a
// head there, else how it ended.
func diffVerdict(r *diffRun, i int) string {
	if i < len(r.msgs) {
		return "accept"
	}
	switch r.end {
	case diffIncomplete:
		return "incomplete"
	case diffReject:
		return r.verdict
	}
	return "end"
}

// compareRuns returns the name of the first disagreement between ours and
// theirs, or "" when they agree, and a description of it.
func compareRuns(ours, theirs *diffRun) (kind, detail string) {
	for i := 0; ; i++ {
		if i >= len(ours.msgs) || i >= len(theirs.msgs) {
			o, t := diffVerdict(ours, i), diffVerdict(theirs, i)
			switch {
			case o == t, o == "end" && t == "end":
				return "", ""
			case o != "accept" && t != "accept" && o != "end" && t != "end":
				// Both refused, or one ran out of input where the other
				// refused: an incomplete message has no verdict yet.
				return "", ""
			}
			return o + " | " + t, fmt.Sprintf("message %d: ours %s, net/http %s", i, endDetail(ours, i), endDetail(theirs, i))
		}
		om, tm := &ours.msgs[i], &theirs.msgs[i]
		var props []string
		for _, p := range []struct {
			name string
			o, t string
		}{
			{"method", om.method, tm.method},
			{"target", om.target, tm.target},
			{"version", om.version, tm.version},
			{"host", om.host, tm.host},
			{"framing", om.framing, tm.framing},
			{"close", fmt.Sprint(om.close), fmt.Sprint(tm.close)},
		} {
			if p.name == "target" && p.o != p.t && strings.HasPrefix(p.t, p.o+"#") {
				p.name = "target without its fragment"
			}
			if p.o != p.t {
				props = append(props, p.name)
				detail += fmt.Sprintf(" %s %q vs %q;", p.name, p.o, p.t)
			}
		}
		if len(props) > 0 {
			return "accept | accept: " + strings.Join(props, ", "), fmt.Sprintf("message %d:%s", i, detail)
		}
		switch {
		case om.bodyEnd == diffDone && tm.bodyEnd == diffDone:
			if om.body != tm.body {
				return "accept | accept: body", fmt.Sprintf("message %d: body %q vs %q", i, om.body, tm.body)
			}
		case om.bodyEnd == diffDone || tm.bodyEnd == diffDone:
			o, t := bodyVerdict(om), bodyVerdict(tm)
			return "body " + o + " | body " + t, fmt.Sprintf("message %d: body %s vs %s", i, o, t)
		default:
			return "", "" // both bodies refused or cut off
		}
		if om.stop || tm.close {
			return "", ""
		}
	}
}

// endDetail describes what r did at message i, with its error.
func endDetail(r *diffRun, i int) string {
	if v := diffVerdict(r, i); v != "accept" && r.detail != "" {
		return fmt.Sprintf("%s (%s)", v, r.detail)
	}
	return diffVerdict(r, i)
}

func bodyVerdict(m *diffMsg) string {
	switch m.bodyEnd {
	case diffIncomplete:
		return "incomplete"
	case diffReject:
		return m.bodyErr
	}
	return "complete"
}

// diffInput is one input of the differential test.
type diffInput struct {
	name    string
	in      []byte
	addHost bool
}

// diffInputs gathers the inputs: the tables, the llhttp corpus, and the
// generated set.
func diffInputs(t *testing.T) []diffInput {
	t.Helper()
	var all []diffInput
	for _, tc := range requestCases {
		all = append(all, diffInput{name: "requestCases/" + tc.name, in: []byte(tc.in)})
	}
	for _, st := range validStreams {
		if !st.response {
			all = append(all, diffInput{name: "validStreams/" + st.name, in: []byte(st.in)})
		}
	}
	files, _ := filepath.Glob(filepath.Join(llhttpCorpus(), "request", "*.md"))
	sort.Strings(files)
	for _, f := range files {
		cases, err := parseLLHTTPFile(f, "request/"+filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			all = append(all, diffInput{name: "llhttp/" + c.key(), in: c.input, addHost: true})
		}
	}
	if len(files) == 0 && os.Getenv("CI") != "" {
		t.Fatalf("no llhttp fixtures under %s", llhttpCorpus())
	}
	return append(all, generatedRequests()...)
}

// genRequest is a request the generator renders and mutates.
type genRequest struct {
	line   string   // request-line without its CRLF
	fields []string // field lines without CRLF
	body   string
	eol    []string // line ends: eol[i] after line i (request-line is 0, the empty line last); "" means CRLF
}

func (g genRequest) render() []byte {
	var b bytes.Buffer
	lines := append([]string{g.line}, g.fields...)
	lines = append(lines, "")
	for i, l := range lines {
		b.WriteString(l)
		if i < len(g.eol) && g.eol[i] != "" {
			b.WriteString(g.eol[i])
		} else {
			b.WriteString("\r\n")
		}
	}
	b.WriteString(g.body)
	return b.Bytes()
}

// generatedRequests returns one-point mutations of a few base requests:
// request-line parts, line ends, field names and values, obs-fold, Host,
// Content-Length and Transfer-Encoding values and their combinations, and
// chunked bodies.
func generatedRequests() []diffInput {
	var out []diffInput
	add := func(name string, g genRequest) {
		out = append(out, diffInput{name: "generated/" + name, in: g.render()})
	}
	get := func(line string, fields ...string) genRequest {
		return genRequest{line: line, fields: fields}
	}

	methods := []string{"GET", "POST", "OPTIONS", "HEAD", "get", "PURGE-X_1.~", "G(T", "G\xc3\x89T", "", "CONNECT", "PRI", "M-SEARCH"}
	targets := []string{"/", "/a/b?c=d&e", "*", "http://a/b", "HTTPS://a:8443", "http://a", "http://a?x", "http://u:p@a/", "http://u@a",
		"http:///b", "http://", "http://:80/", "ftp://a/", "a/b", "a:443", "//a/b", "/a#f", "/%zz", "/%41", "/a\"b", "/{}|\\^`",
		"/\x7f", "/\x01", "/\xff", "http://[::1]:80/", "http://a:b/", "http://a b/", "http://a\"b/", "http://a{b}/", "http://a\\b/", "http://a%41/", "http://[::1/",
		"?x", "#f", "/a/../b"}
	versions := []string{"HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/9.9", "http/1.1", "HTTP/1.10", "HTTP/1",
		"HTTP/11", "HTTP/01.1", "HTTP/1.x", "HTTP 1.1", "RTSP/1.0", "HTTP/1.1 ", ""}
	for _, m := range methods {
		for _, tg := range targets {
			add(fmt.Sprintf("method %q target %q", m, tg), get(m+" "+tg+" HTTP/1.1", "Host: a"))
		}
	}
	for _, tg := range targets {
		for _, v := range versions {
			add(fmt.Sprintf("target %q version %q", tg, v), get("GET "+tg+" "+v, "Host: a"))
		}
	}
	for _, line := range []string{"GET  / HTTP/1.1", "GET\t/ HTTP/1.1", " GET / HTTP/1.1", "GET /  HTTP/1.1", "GET / HTTP/1.1\t",
		"GET /\tHTTP/1.1", "GET", "GET /", "GET HTTP/1.1", "GET / HTTP/1.1 x", "GET /a b HTTP/1.1", "", "GET\x00/ HTTP/1.1"} {
		add(fmt.Sprintf("request-line %q", line), get(line, "Host: a"))
	}

	// Line ends, one at a time, at each of the four lines.
	for _, eol := range []string{"\n", "\r", "\r\r\n", "\n\r", "\r\n\r\n", " \r\n", "\t\r\n"} {
		for pos := 0; pos < 4; pos++ {
			g := get("GET / HTTP/1.1", "Host: a", "X: y")
			g.eol = make([]string, 4)
			g.eol[pos] = eol
			add(fmt.Sprintf("line end %q after line %d", eol, pos), g)
		}
	}
	for _, pre := range []string{"\r\n", "\r\n\r\n", "\n", "\r", " ", "\t", "\x00"} {
		out = append(out, diffInput{name: fmt.Sprintf("generated/%q before the request-line", pre), in: []byte(pre + "GET / HTTP/1.1\r\nHost: a\r\n\r\n")})
	}

	// Field names and values.
	names := []string{"X", "x-ToKeN!#$%&'*+-.^_`|~09", "X Y", "X(Y", "X/Y", "X\xffY", "X\x00Y", "", "X ", "X\t", " X", "X\"", "X:Y", "X@Y",
		"Host ", "Content-Length ", "Transfer-Encoding ", "Content-Length\t"}
	for _, n := range names {
		add(fmt.Sprintf("field name %q", n), get("GET / HTTP/1.1", "Host: a", n+": v"))
	}
	values := []string{"v", "", " ", "\t", " \tv \t", "a b", "a\x00b", "a\x01b", "a\x7fb", "a\fb", "a\vb", "caf\xc3\xa9", "\x80\xff",
		"a\rb", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "\x1b[31m"}
	for _, v := range values {
		add(fmt.Sprintf("field value %q", v), get("GET / HTTP/1.1", "Host: a", "X:"+v))
	}
	add("field line without colon", get("GET / HTTP/1.1", "Host: a", "XY"))
	for _, f := range []string{"Connection: a b", "Connection: close, a b", "Connection: ,", "Connection: a@b", "Connection: \"x\""} {
		add(fmt.Sprintf("field %q", f), get("GET / HTTP/1.1", "Host: a", f))
	}

	// obs-fold (RFC 9112 §5.2) and whitespace before the first field.
	for _, f := range [][]string{
		{"Host: a", "X: a", " b"}, {"Host: a", "X: a", "\tb"}, {"Host: a", "X:", " b"}, {" Host: a"}, {"\tHost: a"},
		{"Host: a", "Content-Length: 1", " 0"}, {"Host: a", "Transfer-Encoding: gzip", " ,chunked"}, {"Host:", " a"},
	} {
		add(fmt.Sprintf("folded %q", f), genRequest{line: "POST / HTTP/1.1", fields: f, body: "0123456789"})
	}

	// Host.
	for _, fs := range [][]string{
		{}, {"Host: a", "Host: a"}, {"Host: a", "host: b"}, {"Host:"}, {"Host: a b"}, {"Host: a/b"}, {"Host: u@a"}, {"Host: \xe4"},
		{"Host: a, b"}, {"Host: [::1]:8080"}, {"Host: a:80"}, {"Host: a:"}, {"Host: :80"}, {"Host: a:b"}, {"Host: a\"b"},
		{"Host: a%41"}, {"Host: a_b"}, {"Host: a;b"}, {"Host: a b"},
	} {
		for _, v := range []string{"HTTP/1.1", "HTTP/1.0"} {
			add(fmt.Sprintf("%s Host %q", v, fs), get("GET / "+v, fs...))
			add(fmt.Sprintf("%s absolute-form with Host %q", v, fs), get("GET http://t.example/ "+v, fs...))
		}
	}

	// Content-Length (RFC 9110 §8.6), with a body of five bytes, then
	// "GET" so that a wrong length shows in the next message.
	lengths := []string{"0", "5", "007", " 5 ", "\t5", "+5", "-5", "", "0x5", "1 2", "5, 5", "5,5", "5.0", "5 5", "00000000000000000005",
		"99999999999999999999", "9223372036854775807", "9223372036854775808", "999999999999999999", "3", "7", "٥"}
	for _, l := range lengths {
		for _, v := range []string{"HTTP/1.1", "HTTP/1.0"} {
			add(fmt.Sprintf("%s Content-Length %q", v, l), genRequest{line: "POST / " + v, fields: []string{"Host: a", "Content-Length: " + l}, body: "helloGET / HTTP/1.1\r\nHost: a\r\n\r\n"})
		}
	}
	for _, pair := range [][2]string{{"5", "5"}, {"5", "6"}, {"5", " 5"}, {"5", "05"}, {"5", ""}, {"0", "0"}} {
		add(fmt.Sprintf("Content-Length %q and %q", pair[0], pair[1]),
			genRequest{line: "POST / HTTP/1.1", fields: []string{"Host: a", "Content-Length: " + pair[0], "Content-Length: " + pair[1]}, body: "hello"})
	}

	// Transfer-Encoding (RFC 9112 §6.1) values, alone and on two lines,
	// in HTTP/1.1 and 1.0, with and without Content-Length, before a
	// chunked body.
	const chunkedBody = "5\r\nhello\r\n0\r\n\r\n"
	codings := [][]string{{"chunked"}, {"Chunked"}, {"CHUNKED"}, {" chunked "}, {"chunked,"}, {",chunked"}, {", chunked ,"}, {"chunked, chunked"},
		{"gzip, chunked"}, {"chunked, gzip"}, {"gzip"}, {"identity"}, {"identity, chunked"}, {"pigeons"}, {"pigeons, chunked"},
		{"chunked;x=1"}, {"gzip;q=1, chunked"}, {""}, {",,"}, {"chun ked"}, {"chunkedchunked"}, {"x-gzip, chunked"}, {"\"chunked\""},
		{"chunked\t"}, {"deflate, chunked"}, {"compress, chunked"}, {"x-compress, chunked"},
		{"gzip", "chunked"}, {"chunked", "chunked"}, {"chunked", ""}, {"", "chunked"}, {"chunked", "gzip"}, {"pigeons", "chunked"}, {"identity", "chunked"}}
	for _, c := range codings {
		fields := []string{"Host: a"}
		for _, v := range c {
			fields = append(fields, "Transfer-Encoding: "+v)
		}
		for _, v := range []string{"HTTP/1.1", "HTTP/1.0"} {
			add(fmt.Sprintf("%s Transfer-Encoding %q", v, c), genRequest{line: "POST / " + v, fields: fields, body: chunkedBody})
			for _, cl := range []string{"5", "0"} {
				withCL := append(append([]string{}, fields...), "Content-Length: "+cl)
				add(fmt.Sprintf("%s Transfer-Encoding %q Content-Length %s", v, c, cl), genRequest{line: "POST / " + v, fields: withCL, body: chunkedBody})
				clFirst := append([]string{"Host: a", "Content-Length: " + cl}, fields[1:]...)
				add(fmt.Sprintf("%s Content-Length %s Transfer-Encoding %q", v, cl, c), genRequest{line: "POST / " + v, fields: clFirst, body: chunkedBody})
			}
		}
	}

	// Chunked bodies: every chunkedCases input, and a few more.
	bodies := []string{"0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"5\nhello\n0\n\n", "5\r\nhello\n0\r\n\r\n", "5 \r\nhello\r\n0\r\n\r\n", "5\t\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n",
		"5;\r\nhello\r\n0\r\n\r\n", "5;a=\"b\r\nhello\r\n0\r\n\r\n", "5;a=b;c\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"5\r\nhello\r\n0\r\nX : y\r\n\r\n", "5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n", "5\r\nhello\r\n0\r\nContent-Length: 3\r\n\r\n",
		"5\r\nhello\r\n0\r\nXy\r\n\r\n", "5\r\nhello\r\n0\r\n\r", "5\r\nhello\r\n0\r\n", "5\r\nhel", "5\r\nhelloXX", "-1\r\n",
		"0000000000000005\r\nhello\r\n0\r\n\r\n", "10000000000000000\r\n", "5\r\nhello\r\n0;x\r\n\r\n", "5\r\nhello\r\n00\r\n\r\n",
		"5\r\nhello\r\n0\r\nX: a\x00b\r\n\r\n", "5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n", "5\r\nhello\r\n0\r\nX: y\n\r\n", "5\r\nhello\r\n0\r\n\n",
		"5;a=\"\\\"\"\r\nhello\r\n0\r\n\r\n", "5 ; a = b\r\nhello\r\n0\r\n\r\n", "5;a=b \r\nhello\r\n0\r\n\r\n", "5;a b\r\nhello\r\n0\r\n\r\n",
		"5;a=\x01\r\nhello\r\n0\r\n\r\n", "5;\xff\r\nhello\r\n0\r\n\r\n",
	}
	for _, tc := range chunkedCases {
		if len(tc.in) <= maxSeed {
			bodies = append(bodies, tc.in)
		}
	}
	for _, b := range bodies {
		add(fmt.Sprintf("chunked body %q", b), genRequest{line: "POST / HTTP/1.1", fields: []string{"Host: a", "Transfer-Encoding: chunked"}, body: b})
	}

	// Connection and pipelining.
	for _, c := range []string{"close", "keep-alive", "Close", "keep-alive, close", "upgrade", "x, close", "closed", " close "} {
		for _, v := range []string{"HTTP/1.1", "HTTP/1.0"} {
			add(fmt.Sprintf("%s Connection %q then GET", v, c),
				genRequest{line: "GET / " + v, fields: []string{"Host: a", "Connection: " + c}, body: "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"})
		}
	}
	for _, between := range []string{"", "\r\n", "\r\n\r\n", "\n", "\r"} {
		for _, first := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab"} {
			in := first + between + "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
			out = append(out, diffInput{name: fmt.Sprintf("generated/pipelined %q", in), in: []byte(in)})
		}
	}
	return out
}

func TestDifferentialNetHTTP(t *testing.T) {
	inputs := diffInputs(t)
	verbose := testing.Verbose() && os.Getenv("NETHTTP_VERBOSE") != ""
	seen := map[string][]string{}
	var agree, compared int
	for _, di := range inputs {
		ours, in := runOursDiff(di.in, di.addHost)
		theirs := runNetHTTP(in)
		kind, detail := compareRuns(&ours, &theirs)
		if kind == "" {
			agree++
			if len(ours.msgs) > 0 {
				compared++
			}
			continue
		}
		seen[kind] = append(seen[kind], fmt.Sprintf("%s: %s\n\tinput %q", di.name, detail, in))
		if _, ok := netHTTPDeviations[kind]; !ok {
			t.Errorf("%s: unlisted disagreement %q: %s\ninput: %q", di.name, kind, detail, in)
		}
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if verbose {
		for _, k := range kinds {
			t.Logf("%s (%d):\n%s", k, len(seen[k]), strings.Join(seen[k], "\n"))
		}
	}
	for k, why := range netHTTPDeviations {
		if len(seen[k]) == 0 {
			t.Errorf("deviation %q (%s) no longer occurs: remove it", k, why)
		}
	}
	t.Logf("net/http differential: %d inputs, %d agree (%d with messages both accepted and compared), %d disagree in %d kinds",
		len(inputs), agree, compared, len(inputs)-agree, len(kinds))
}
