package httpwire

// Limits on the framing lines of a chunked body.
const (
	maxChunkLine    = 4 << 10  // a chunk-size line with its extensions
	maxTrailerBytes = 64 << 10 // the whole trailer section
)

// Errors of the chunked scanner (RFC 9112 §7.1).
var (
	ErrChunkSize     = &Error{400, "invalid chunk size"}
	ErrChunkExt      = &Error{400, "invalid chunk extension"}
	ErrChunkLine     = &Error{400, "chunk line too long"}
	ErrChunkData     = &Error{400, "chunk data not followed by CRLF"}
	ErrTrailer       = &Error{400, "invalid trailer field"}
	ErrTrailerTooBig = &Error{431, "trailer section too large"}
)

type chunkState uint8

const (
	chunkSizeStart chunkState = iota // first hex digit of a chunk-size
	chunkSize                        // more hex digits
	chunkSizeBWS                     // whitespace after the size: only ';' may follow
	chunkExt                         // inside chunk extensions, up to CR
	chunkExtQuoted                   // inside a quoted-string extension value
	chunkExtEscape                   // after a backslash in a quoted string
	chunkSizeLF                      // CR seen, LF expected
	chunkData                        // data bytes
	chunkDataCR                      // CR after data
	chunkDataLF                      // LF after data
	trailerStart                     // start of a trailer line or the final CRLF
	trailerName                      // field name
	trailerValue                     // field value up to CR
	trailerLF                        // LF after a trailer line
	finalLF                          // LF of the final CRLF
	chunkDone
)

// ChunkedScanner validates a chunked body (RFC 9112 §7.1) as its bytes
// stream past, without copying them: the proxy forwards exactly the bytes
// the scanner accepted. The zero value is ready for a new body.
type ChunkedScanner struct {
	state    chunkState
	size     uint64 // bytes of data left in the current chunk, or the size being read
	line     int    // bytes in the current size or trailer line
	trailer  int    // bytes of trailer section so far
	sizeSeen int    // hex digits in the current size
}

// Reset prepares the scanner for a new body.
func (s *ChunkedScanner) Reset() { *s = ChunkedScanner{} }

// Done reports whether the whole body, trailers included, has been scanned.
func (s *ChunkedScanner) Done() bool { return s.state == chunkDone }

// DataLeft returns how many bytes of chunk data can be skipped without
// scanning; the proxy may splice that many bytes.
func (s *ChunkedScanner) DataLeft() uint64 {
	if s.state == chunkData {
		return s.size
	}
	return 0
}

// SkipData records that n bytes of chunk data (n <= DataLeft()) were
// forwarded without passing through Scan.
func (s *ChunkedScanner) SkipData(n uint64) {
	s.size -= n
	if s.size == 0 {
		s.state = chunkDataCR
	}
}

// Scan consumes bytes of the body from p and returns how many belong to it:
// n < len(p) only when the body ended (Done) within p. It returns an *Error
// at the first byte that breaks the chunked grammar.
func (s *ChunkedScanner) Scan(p []byte) (n int, err error) {
	i := 0
	for i < len(p) {
		c := p[i]
		switch s.state {
		case chunkSizeStart:
			v := unhex(c)
			if v < 0 {
				return i, ErrChunkSize
			}
			s.size, s.sizeSeen, s.line = uint64(v), 1, 1
			s.state = chunkSize
			i++
			continue
		case chunkSize:
			if v := unhex(c); v >= 0 {
				s.sizeSeen++
				if s.sizeSeen > 15 {
					return i, ErrChunkSize // past 2^60: no real body is that big
				}
				s.size = s.size<<4 | uint64(v)
				break
			}
			switch c {
			case '\r':
				s.state = chunkSizeLF
			case ';':
				s.state = chunkExt
			case ' ', '\t':
				s.state = chunkSizeBWS // BWS before ';' (RFC 9112 §7.1.1)
			default:
				return i, ErrChunkSize
			}
		case chunkSizeBWS:
			switch c {
			case ' ', '\t':
			case ';':
				s.state = chunkExt
			default:
				return i, ErrChunkSize
			}
		case chunkExt:
			switch {
			case c == '\r':
				s.state = chunkSizeLF
			case c == '"':
				s.state = chunkExtQuoted
			case tokenTable[c] || c == ';' || c == '=' || c == ' ' || c == '\t':
			default:
				return i, ErrChunkExt
			}
		case chunkExtQuoted:
			switch {
			case c == '"':
				s.state = chunkExt
			case c == '\\':
				s.state = chunkExtEscape
			case !valueTable[c]:
				return i, ErrChunkExt
			}
		case chunkExtEscape:
			if !valueTable[c] {
				return i, ErrChunkExt
			}
			s.state = chunkExtQuoted
		case chunkSizeLF:
			if c != '\n' {
				return i, ErrBareCR
			}
			if s.size == 0 {
				s.state = trailerStart
			} else {
				s.state = chunkData
			}
			i++
			continue
		case chunkData:
			k := uint64(len(p) - i)
			if k > s.size {
				k = s.size
			}
			s.size -= k
			i += int(k)
			if s.size == 0 {
				s.state = chunkDataCR
			}
			continue
		case chunkDataCR:
			if c != '\r' {
				return i, ErrChunkData
			}
			s.state = chunkDataLF
		case chunkDataLF:
			if c != '\n' {
				return i, ErrChunkData
			}
			s.state = chunkSizeStart
		case trailerStart:
			s.line = 0
			switch {
			case c == '\r':
				s.state = finalLF
			case tokenTable[c]:
				s.state = trailerName
			default:
				return i, ErrTrailer
			}
		case trailerName:
			switch {
			case c == ':':
				s.state = trailerValue
			case !tokenTable[c]:
				return i, ErrTrailer
			}
		case trailerValue:
			switch {
			case c == '\r':
				s.state = trailerLF
			case !valueTable[c]:
				return i, ErrTrailer
			}
		case trailerLF:
			if c != '\n' {
				return i, ErrBareCR
			}
			s.state = trailerStart
		case finalLF:
			if c != '\n' {
				return i, ErrBareCR
			}
			s.state = chunkDone
			return i + 1, nil
		case chunkDone:
			return i, nil
		}
		// Every byte outside chunk data lands here: bound the lines.
		i++
		if s.state >= trailerStart {
			s.trailer++
			if s.trailer > maxTrailerBytes {
				return i, ErrTrailerTooBig
			}
		} else {
			s.line++
			if s.line > maxChunkLine {
				return i, ErrChunkLine
			}
		}
	}
	return i, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
