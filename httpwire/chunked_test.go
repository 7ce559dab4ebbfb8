package httpwire

import (
	"errors"
	"strings"
	"testing"
)

type chunkedCase struct {
	name   string
	in     string
	n      int // bytes of the body; 0 means len(in) when done, or when err the offset of the bad byte
	done   bool
	status int
	err    error
}

var chunkedCases = []chunkedCase{
	// chunked-body = *chunk last-chunk trailer-section CRLF (§7.1).
	{name: "§7.1 one chunk", in: "5\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1 two chunks", in: "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", done: true},
	{name: "§7.1 last-chunk only", in: "0\r\n\r\n", done: true},
	{name: "§7.1 lower-case hex size", in: "a\r\n0123456789\r\n0\r\n\r\n", done: true},
	{name: "§7.1 upper-case hex size", in: "A\r\n0123456789\r\n0\r\n\r\n", done: true},
	{name: "§7.1 mixed-case hex size", in: "1aB\r\n" + strings.Repeat("x", 0x1ab) + "\r\n0\r\n\r\n", done: true},
	{name: "§7.1 size with leading zeros", in: "0005\r\nhello\r\n000\r\n\r\n", done: true},
	{name: "§7.1 size of 15 hex digits", in: "00000000000000f\r\n", n: len("00000000000000f\r\n")},
	{name: "§7.1 size of 16 hex digits", in: "000000000000000f\r\n", n: 15, status: 400, err: ErrChunkSize},
	{name: "§7.1 size overflow", in: "ffffffffffffffffff\r\n", n: 15, status: 400, err: ErrChunkSize},
	{name: "§7.1 data may hold CRLF", in: "4\r\n\r\n\r\n\r\n0\r\n\r\n", done: true},
	{name: "§7.1 bytes after the body are not consumed", in: "0\r\n\r\nGET / HTTP/1.1\r\n", n: 5, done: true},
	{name: "§7.1 incomplete body", in: "5\r\nhel", n: len("5\r\nhel")},
	{name: "§7.1 last-chunk without the final CRLF", in: "0\r\n", n: 3},
	{name: "§7.1 empty size", in: "\r\nhello\r\n", n: 0, status: 400, err: ErrChunkSize},
	{name: "§7.1 negative size", in: "-5\r\nhello\r\n", n: 0, status: 400, err: ErrChunkSize},
	{name: "§7.1 size with a plus sign", in: "+5\r\nhello\r\n", n: 0, status: 400, err: ErrChunkSize},
	{name: "§7.1 size with 0x prefix", in: "0x5\r\nhello\r\n", n: 1, status: 400, err: ErrChunkSize},
	{name: "§7.1 size with a non-hex letter", in: "5g\r\nhello\r\n", n: 1, status: 400, err: ErrChunkSize},
	{name: "§7.1 SP before the size", in: " 5\r\nhello\r\n", n: 0, status: 400, err: ErrChunkSize},
	{name: "§7.1 SP after the size without extension", in: "5 \r\nhello\r\n0\r\n\r\n", n: 2, status: 400, err: ErrChunkSize},
	{name: "§7.1 bare LF ends the size line", in: "5\nhello\r\n", n: 1, status: 400, err: ErrBareLF},
	{name: "§7.1 bare CR ends the size line", in: "5\rhello\r\n", n: 2, status: 400, err: ErrBareCR},
	{name: "§7.1 data not followed by CRLF", in: "5\r\nhelloX\r\n0\r\n\r\n", n: 8, status: 400, err: ErrChunkData},
	{name: "§7.1 data followed by a bare LF", in: "5\r\nhello\n0\r\n\r\n", n: 8, status: 400, err: ErrChunkData},
	{name: "§7.1 data followed by a bare CR", in: "5\r\nhello\r0\r\n\r\n", n: 9, status: 400, err: ErrChunkData},
	{name: "§7.1 data longer than the size", in: "3\r\nhello\r\n0\r\n\r\n", n: 6, status: 400, err: ErrChunkData},
	{name: "§7.1 missing last-chunk", in: "5\r\nhello\r\n\r\n", n: 10, status: 400, err: ErrChunkSize},

	// Chunk extensions (§7.1.1).
	{name: "§7.1.1 extension name", in: "5;name\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 extension with a token value", in: "5;name=value\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 extension with a quoted value", in: "5;name=\"a value; with = signs\"\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 quoted value with quoted-pairs", in: "5;a=\"x\\\"y\\\\z\"\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 quoted value with obs-text", in: "5;a=\"\xe9\"\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 several extensions", in: "5;a;b=1;c=\"2\"\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 BWS before ';'", in: "5 \t;a=b\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 BWS around '=' and after ';'", in: "5; a = b ; c = \"d\"\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "§7.1.1 extension on the last-chunk", in: "0;a=b\r\n\r\n", done: true},
	{name: "§7.1.1 no name after ';'", in: "2;\r\naa\r\n0\r\n\r\n", n: 2, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 empty name before '='", in: "2;=b\r\naa\r\n0\r\n\r\n", n: 2, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 no value after '='", in: "2;a=\r\naa\r\n0\r\n\r\n", n: 4, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 two names with SP between", in: "2;a b\r\naa\r\n0\r\n\r\n", n: 4, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 whitespace before CRLF", in: "2;a=b \r\naa\r\n0\r\n\r\n", n: 6, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 non-token in a name", in: "2;a@b\r\naa\r\n0\r\n\r\n", n: 3, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 non-token in a value", in: "2;a=b@c\r\naa\r\n0\r\n\r\n", n: 5, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 text after a quoted value", in: "2;a=\"b\"c\r\naa\r\n0\r\n\r\n", n: 7, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 unterminated quoted value", in: "2;a=\"b\r\naa\r\n0\r\n\r\n", n: 6, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 CTL in a quoted value", in: "2;a=\"\x01\"\r\naa\r\n0\r\n\r\n", n: 5, status: 400, err: ErrChunkExt},
	{name: "§7.1.1 bare LF in an extension", in: "2;a\naa\r\n0\r\n\r\n", n: 3, status: 400, err: ErrBareLF},
	{name: "§7.1.1 no ';' before an extension", in: "2 a=b\r\naa\r\n0\r\n\r\n", n: 2, status: 400, err: ErrChunkSize},

	// Trailer section (§7.1.2, §5).
	{name: "§7.1.2 one trailer field", in: "0\r\nX: y\r\n\r\n", done: true},
	{name: "§7.1.2 trailer fields after data", in: "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:abc\r\nX-Empty:\r\n\r\n", done: true},
	{name: "§7.1.2 trailer value with obs-text", in: "0\r\nX: \xe9\xff\r\n\r\n", done: true},
	{name: "§7.1.2 trailer obs-fold", in: "0\r\nX: y\r\n z\r\n\r\n", n: 9, status: 400, err: ErrTrailer},
	{name: "§7.1.2 trailer without a colon", in: "0\r\nXy\r\n\r\n", n: 5, status: 400, err: ErrTrailer},
	{name: "§7.1.2 trailer with SP before the colon", in: "0\r\nX : y\r\n\r\n", n: 4, status: 400, err: ErrTrailer},
	{name: "§7.1.2 trailer with an empty name", in: "0\r\n: y\r\n\r\n", n: 3, status: 400, err: ErrTrailer},
	{name: "§7.1.2 trailer with a CTL", in: "0\r\nX: a\x00b\r\n\r\n", n: 7, status: 400, err: ErrTrailer},
	{name: "§7.1.2 trailer ended by a bare LF", in: "0\r\nX: y\n\r\n", n: 7, status: 400, err: ErrBareLF},
	{name: "§7.1.2 trailer with a bare CR", in: "0\r\nX: y\rz\r\n\r\n", n: 8, status: 400, err: ErrBareCR},
	{name: "§7.1.2 final bare LF", in: "0\r\n\n", n: 3, status: 400, err: ErrBareLF},
	{name: "§7.1.2 final CR without LF", in: "0\r\n\rX", n: 4, status: 400, err: ErrBareCR},

	// Limits.
	{name: "limits: size line of 4 KiB", in: "5;" + strings.Repeat("a", maxChunkLine-len("5;\r")) + "\r\nhello\r\n0\r\n\r\n", done: true},
	{name: "limits: size line over 4 KiB", in: "5;" + strings.Repeat("a", maxChunkLine) + "\r\nhello\r\n0\r\n\r\n", n: maxChunkLine, status: 400, err: ErrChunkLine},
	{name: "limits: every size line may be 4 KiB", in: strings.Repeat("1;"+strings.Repeat("a", maxChunkLine-len("1;\r"))+"\r\nx\r\n", 3) + "0\r\n\r\n", done: true},
	{name: "limits: trailer section of 64 KiB", in: "0\r\nX: " + strings.Repeat("v", maxTrailerBytes-len("X: \r\n\r\n")) + "\r\n\r\n", done: true},
	{name: "limits: trailer section over 64 KiB is 431", in: "0\r\nX: " + strings.Repeat("v", maxTrailerBytes) + "\r\n\r\n", n: 3 + maxTrailerBytes, status: 431, err: ErrTrailerTooBig},
}

func TestChunkedRFC9112(t *testing.T) {
	var s ChunkedScanner
	for _, tc := range chunkedCases {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset()
			n, err := s.Scan([]byte(tc.in))
			wantN := tc.n
			if wantN == 0 && tc.err == nil {
				wantN = len(tc.in)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Scan: %v (%s), want %v (%s)", err, errName(err), tc.err, errName(tc.err))
				}
				var pe *Error
				if !errors.As(err, &pe) || pe.Status != tc.status {
					t.Fatalf("status of %v is not %d", err, tc.status)
				}
			} else if err != nil {
				t.Fatalf("Scan: %v (%s), want success", err, errName(err))
			}
			if n != wantN {
				t.Errorf("n = %d, want %d", n, wantN)
			}
			if s.Done() != tc.done {
				t.Errorf("Done() = %v, want %v", s.Done(), tc.done)
			}
		})
	}
}

func TestChunkedDoneStaysDone(t *testing.T) {
	var s ChunkedScanner
	if n, err := s.Scan([]byte("0\r\n\r\n")); n != 5 || err != nil || !s.Done() {
		t.Fatalf("Scan = %d, %v, done %v", n, err, s.Done())
	}
	if n, err := s.Scan([]byte("5\r\nhello")); n != 0 || err != nil || !s.Done() {
		t.Fatalf("after Done: Scan = %d, %v, done %v; want 0, nil, true", n, err, s.Done())
	}
	s.Reset()
	if s.Done() {
		t.Fatal("Done after Reset")
	}
}

// TestChunkedSkipData checks that splicing data past the scanner (DataLeft,
// SkipData) ends in the same place as scanning it.
func TestChunkedSkipData(t *testing.T) {
	body := []byte("a;x=1\r\n0123456789\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n")
	var s ChunkedScanner
	i := 0
	for !s.Done() {
		if left := s.DataLeft(); left > 0 {
			k := min(left, 4) // splice in pieces
			s.SkipData(k)
			i += int(k)
			continue
		}
		n, err := s.Scan(body[i : i+1])
		if err != nil {
			t.Fatalf("at %d: %v", i, err)
		}
		i += n
	}
	if i != len(body) {
		t.Fatalf("done at %d, want %d", i, len(body))
	}
}

func TestChunkedDataLeft(t *testing.T) {
	var s ChunkedScanner
	if n, err := s.Scan([]byte("a\r\n012")); n != 6 || err != nil {
		t.Fatalf("Scan = %d, %v", n, err)
	}
	if got := s.DataLeft(); got != 7 {
		t.Fatalf("DataLeft = %d, want 7", got)
	}
	s.SkipData(7)
	if got := s.DataLeft(); got != 0 {
		t.Fatalf("DataLeft after SkipData = %d, want 0", got)
	}
	if n, err := s.Scan([]byte("\r\n0\r\n\r\n")); n != 7 || err != nil || !s.Done() {
		t.Fatalf("Scan = %d, %v, done %v", n, err, s.Done())
	}
}
