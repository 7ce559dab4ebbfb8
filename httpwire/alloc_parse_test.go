//go:build !race

package httpwire

import (
	"strings"
	"testing"
)

// The parsers' allocation contract: with a reused head (or scanner),
// parsing allocates nothing, valid input or not.

// chunkedBody is a chunked body as a backend streams it: a few chunks, an
// extension, a trailer.
var chunkedBody = []byte("400\r\n" + strings.Repeat("x", 0x400) + "\r\n" +
	"10;ext=\"v\"\r\n" + strings.Repeat("y", 0x10) + "\r\n" +
	"0\r\nServer-Timing: total;dur=12\r\n\r\n")

var parseBenchmarks = []struct {
	name string
	in   string
}{
	{"chrome-navigation", chromeNavigation},
	{"curl-get", "GET /api/items?page=2 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"},
	{"post-json", "POST /api/items HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: keep-alive, X-Trace\r\nX-Trace: 1\r\nExpect: 100-continue\r\n\r\n"},
}

func TestParseRequestHeadAllocs(t *testing.T) {
	for _, bm := range parseBenchmarks {
		buf := []byte(bm.in)
		var h RequestHead
		if _, err := h.Parse(buf); err != nil { // sizes h.Fields
			t.Fatalf("%s: %v", bm.name, err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := h.Parse(buf); err != nil {
				panic(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Parse, want 0", bm.name, allocs)
		}
	}
}

func TestParseRejectAllocs(t *testing.T) {
	var h RequestHead
	bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n")
	var err error
	allocs := testing.AllocsPerRun(200, func() { _, err = h.Parse(bad) })
	if err != ErrSpaceBeforeColon {
		t.Fatalf("Parse: %v", err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per rejected Parse, want 0", allocs)
	}
	partial := []byte(chromeNavigation[:len(chromeNavigation)/2])
	allocs = testing.AllocsPerRun(200, func() { _, err = h.Parse(partial) })
	if err != ErrNeedMore {
		t.Fatalf("Parse: %v", err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per incomplete Parse, want 0", allocs)
	}
}

func TestParseResponseHeadAllocs(t *testing.T) {
	buf := []byte(manyFieldsResponse)
	var h ResponseHead
	if _, err := h.Parse(buf); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := h.Parse(buf); err != nil {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per response Parse, want 0", allocs)
	}
}

func TestChunkedScanAllocs(t *testing.T) {
	var s ChunkedScanner
	allocs := testing.AllocsPerRun(200, func() {
		s.Reset()
		if n, err := s.Scan(chunkedBody); err != nil || n != len(chunkedBody) || !s.Done() {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per chunked body, want 0", allocs)
	}
}

func BenchmarkParseRequestHead(b *testing.B) {
	for _, bm := range parseBenchmarks {
		b.Run(bm.name, func(b *testing.B) {
			buf := []byte(bm.in)
			var h RequestHead
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := h.Parse(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResponseHead(b *testing.B) {
	buf := []byte(manyFieldsResponse)
	var h ResponseHead
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := h.Parse(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedScan(b *testing.B) {
	var s ChunkedScanner
	b.ReportAllocs()
	b.SetBytes(int64(len(chunkedBody)))
	for b.Loop() {
		s.Reset()
		if _, err := s.Scan(chunkedBody); err != nil {
			b.Fatal(err)
		}
	}
}
