package httpwire

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// Fuzz targets check properties of the parsers, not only that they do not
// panic. Run one with, for example,
//
//	go test ./httpwire/ -run '^$' -fuzz FuzzRequestHead -fuzztime 180s -parallel 1

// maxSeed keeps the limit tests' 64 KiB inputs out of the seed corpora.
const maxSeed = 4 << 10

// garbage is appended after a parsed head: it must change nothing.
var garbage = []byte("\r\n\r\nGET / HTTP/1.1\r\n\x00\n\r \t:\xff")

func addHeadSeeds(f *testing.F, response bool) {
	for _, st := range validStreams {
		if st.response == response && len(st.in) <= maxSeed {
			f.Add([]byte(st.in))
		}
	}
	if response {
		for _, tc := range responseCases {
			if len(tc.in) <= maxSeed {
				f.Add([]byte(tc.in))
			}
		}
	} else {
		for _, tc := range requestCases {
			if len(tc.in) <= maxSeed {
				f.Add([]byte(tc.in))
			}
		}
		f.Add([]byte("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"))
		f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
		f.Add([]byte("GET http://a@b/ HTTP/1.1\r\nHost: a\r\n\r\n"))
	}
	// The llhttp fixtures, where present, make good seeds.
	kind := "request"
	if response {
		kind = "response"
	}
	files, _ := filepath.Glob(filepath.Join(llhttpCorpus(), kind, "*.md"))
	for _, file := range files {
		cases, err := parseLLHTTPFile(file, kind+"/"+filepath.Base(file))
		if err != nil {
			continue
		}
		for _, c := range cases {
			if len(c.input) <= maxSeed {
				f.Add(c.input)
			}
		}
	}
}

func FuzzRequestHead(f *testing.F) {
	addHeadSeeds(f, false)
	var h, h2, h3 RequestHead
	var out []byte
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := h.Parse(in)
		if !checkHeadResult(t, in, n, err) {
			return
		}
		checkRequestHead(t, &h)
		want := parseRequest(&h, in)
		checkHeadStable(t, in, want, func(b []byte) parsedHead { return parseRequest(&h2, b) })
		// The head the proxy writes for it (the client's Forwarded
		// chain filtered in) is one a strict parser takes, framed alike.
		out = AppendRequestHead(out[:0], &h, &RequestRewrite{ClientIP: []byte("192.0.2.1"), ForwardedFor: []byte(`for="192.0.2.1:1"`)})
		if _, err := h3.Parse(out); err == ErrTooManyFields || err == ErrHeadTooLarge {
			return // the added fields passed this parser's own bounds
		} else if err != nil {
			t.Fatalf("the head written for %q does not parse: %v\n%q", in, err, out)
		}
		if h3.Chunked != h.Chunked || h3.ContentLength != h.ContentLength {
			t.Fatalf("the head written for %q frames its body otherwise:\n%q", in, out)
		}
	})
}

func FuzzResponseHead(f *testing.F) {
	addHeadSeeds(f, true)
	var h, h2 ResponseHead
	f.Fuzz(func(t *testing.T, in []byte) {
		n, err := h.Parse(in)
		if !checkHeadResult(t, in, n, err) {
			return
		}
		checkResponseHead(t, &h)
		want := parseResponse(&h, in)
		checkHeadStable(t, in, want, func(b []byte) parsedHead { return parseResponse(&h2, b) })
	})
}

// checkHeadResult checks what holds for any Parse result and reports
// whether the head parsed.
func checkHeadResult(t *testing.T, in []byte, n int, err error) bool {
	t.Helper()
	if n < 0 || n > len(in) {
		t.Fatalf("n = %d for %d bytes", n, len(in))
	}
	if err == nil {
		if n == 0 || n > MaxHeadBytes {
			t.Fatalf("success with n = %d", n)
		}
		return true
	}
	if n != 0 {
		t.Fatalf("n = %d with error %v", n, err)
	}
	if err == ErrNeedMore {
		if len(in) >= MaxHeadBytes {
			t.Fatalf("ErrNeedMore for %d bytes: the buffer can hold no more", len(in))
		}
		return false
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is no *Error", err)
	}
	switch pe.Status {
	case 400, 414, 431, 501, 505:
	default:
		t.Fatalf("error %v has status %d", err, pe.Status)
	}
	return false
}

// checkFields checks the field list of a parsed head: names are tokens,
// values hold no CR, LF or other CTL and no surrounding whitespace.
func checkFields(t *testing.T, fields []Field) {
	t.Helper()
	if len(fields) > MaxFields {
		t.Fatalf("%d fields", len(fields))
	}
	for _, f := range fields {
		if !isToken(f.Name) {
			t.Fatalf("field name %q is no token", f.Name)
		}
		for _, c := range f.Value {
			if c == '\r' || c == '\n' || !valueTable[c] {
				t.Fatalf("field %q value %q holds %q", f.Name, f.Value, c)
			}
		}
		if len(f.Value) > 0 && (isOWS(f.Value[0]) || isOWS(f.Value[len(f.Value)-1])) {
			t.Fatalf("field %q value %q is not trimmed", f.Name, f.Value)
		}
	}
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func checkRequestHead(t *testing.T, h *RequestHead) {
	t.Helper()
	checkFields(t, h.Fields)
	if !isToken(h.Method) || len(h.Target) == 0 || (h.Minor != 0 && h.Minor != 1) {
		t.Fatalf("request line %q %q 1.%d", h.Method, h.Target, h.Minor)
	}
	if string(h.Method) == "CONNECT" {
		t.Fatal("CONNECT accepted")
	}
	for _, c := range h.Target {
		if !targetTable[c] {
			t.Fatalf("target %q holds %q", h.Target, c)
		}
	}
	if h.Chunked && h.ContentLength >= 0 {
		t.Fatalf("both Chunked and ContentLength %d", h.ContentLength)
	}
	if h.Chunked && h.Minor == 0 {
		t.Fatal("chunked HTTP/1.0 request")
	}
	if h.ContentLength < -1 {
		t.Fatalf("ContentLength %d", h.ContentLength)
	}
	if h.Minor == 1 && h.Host == nil {
		t.Fatal("HTTP/1.1 request without Host")
	}
	if h.Upgrade && h.Field("Upgrade") == nil {
		t.Fatal("Upgrade without an Upgrade field")
	}
	for _, o := range h.ConnectionOptions {
		if !isToken(o) {
			t.Fatalf("connection option %q", o)
		}
	}
}

func checkResponseHead(t *testing.T, h *ResponseHead) {
	t.Helper()
	checkFields(t, h.Fields)
	if h.Status < 100 || h.Status > 999 || (h.Minor != 0 && h.Minor != 1) {
		t.Fatalf("status line 1.%d %d", h.Minor, h.Status)
	}
	if h.Chunked && h.ContentLength >= 0 {
		t.Fatalf("both Chunked and ContentLength %d", h.ContentLength)
	}
	if h.ContentLength < -1 {
		t.Fatalf("ContentLength %d", h.ContentLength)
	}
	f := h.BodyFraming(false)
	switch {
	case h.Status < 200 || h.Status == 204 || h.Status == 304:
		if f != NoBody {
			t.Fatalf("status %d framed %s", h.Status, framingName(f))
		}
	case h.Chunked && f != ChunkedBody,
		h.ContentLength > 0 && f != LengthBody,
		h.ContentLength == 0 && f != NoBody,
		!h.Chunked && h.ContentLength < 0 && f != CloseBody:
		t.Fatalf("%s framed %s", summarizeResponse(h), framingName(f))
	}
	if h.BodyFraming(true) != NoBody {
		t.Fatal("a response to HEAD has a body")
	}
}

// checkHeadStable checks that a head parsed from in (want) parses the same
// from in[:n] and from in[:n] with garbage after it, and that every prefix
// of it is ErrNeedMore: a valid head is never rejected because it arrived
// in pieces.
func checkHeadStable(t *testing.T, in []byte, want parsedHead, parse func([]byte) parsedHead) {
	t.Helper()
	head := in[:want.n]
	same := func(what string, got parsedHead) {
		t.Helper()
		if got.err != nil || got.n != want.n {
			t.Fatalf("%s: n=%d err=%v, want n=%d", what, got.n, got.err, want.n)
		}
		if d := diffLines(want.fields, got.fields); d != "" {
			t.Fatalf("%s: fields (-want +got):\n%s", what, d)
		}
		if got.framing != want.framing || got.length != want.length {
			t.Fatalf("%s: framing %s %d, want %s %d", what, framingName(got.framing), got.length, framingName(want.framing), want.length)
		}
	}
	same("head alone", parse(bytes.Clone(head)))
	same("head and garbage", parse(append(bytes.Clone(head), garbage...)))
	same("head and itself", parse(append(bytes.Clone(head), head...)))
	step := 1
	if len(head) > 4096 {
		step = 61
	}
	for i := 0; i < len(head); i += step {
		if got := parse(head[:i]); got.err != ErrNeedMore {
			t.Fatalf("prefix of %d/%d bytes %q: n=%d err=%v, want ErrNeedMore", i, len(head), head[:i], got.n, got.err)
		}
	}
}

func FuzzChunked(f *testing.F) {
	for _, tc := range chunkedCases {
		if len(tc.in) <= maxSeed {
			f.Add([]byte(tc.in), uint16(len(tc.in)/2))
		}
	}
	for _, st := range validStreams {
		if i := bytes.Index([]byte(st.in), []byte("\r\n\r\n")); i >= 0 && bytes.Contains([]byte(st.in), []byte("chunked")) {
			body := []byte(st.in[i+4:])
			f.Add(body, uint16(len(body)/3))
		}
	}
	f.Add([]byte("1;a=\"\\\"\"\r\nx\r\n0;b\r\nT: \xff\r\n\r\n"), uint16(7))
	f.Add([]byte("0\r\n\r\n0\r\n\r\n"), uint16(5))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		var s ChunkedScanner
		n, err := s.Scan(in)
		done := s.Done()
		if n < 0 || n > len(in) {
			t.Fatalf("n = %d for %d bytes", n, len(in))
		}
		switch {
		case err != nil:
			var pe *Error
			if !errors.As(err, &pe) || (pe.Status != 400 && pe.Status != 431) {
				t.Fatalf("error %v", err)
			}
			if done {
				t.Fatal("done with an error")
			}
			// The error is at the byte n: what comes before it is valid.
			s.Reset()
			if m, err := s.Scan(in[:n]); m != n || err != nil || s.Done() {
				t.Fatalf("before the error at %d: n=%d err=%v done=%v", n, m, err, s.Done())
			}
		case !done:
			if n != len(in) {
				t.Fatalf("not done, no error, but n = %d of %d", n, len(in))
			}
		}
		if err == nil {
			// Every prefix of valid input is incomplete and valid.
			step := 1
			if n > 2048 {
				step = 31
			}
			for i := 0; i < n; i += step {
				s.Reset()
				if m, err := s.Scan(in[:i]); m != i || err != nil || s.Done() {
					t.Fatalf("prefix of %d/%d: n=%d err=%v done=%v", i, n, m, err, s.Done())
				}
			}
		}
		// Split in two reads at a point the fuzzer chose.
		k := int(split) % (len(in) + 1)
		if m, d, e := scanSplit(in, k); m != n || d != done || e != err {
			t.Fatalf("split at %d: (%d, %v, %v), whole: (%d, %v, %v)", k, m, d, e, n, done, err)
		}
		// One byte at a time.
		s.Reset()
		m := 0
		var e error
		for m < len(in) && !s.Done() && e == nil {
			var k int
			k, e = s.Scan(in[m : m+1])
			m += k
		}
		if m != n || s.Done() != done || e != err {
			t.Fatalf("byte at a time: (%d, %v, %v), whole: (%d, %v, %v)", m, s.Done(), e, n, done, err)
		}
	})
}
