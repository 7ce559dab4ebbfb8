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
	chunkSizeStart    chunkState = iota // first hex digit of a chunk-size
	chunkSize                           // more hex digits
	chunkSizeBWS                        // whitespace after the size or an extension: only ';' may follow
	chunkExtNameStart                   // after ';': BWS, then a chunk-ext-name
	chunkExtName                        // more of the name
	chunkExtNameBWS                     // whitespace after the name: '=' or ';' follow
	chunkExtValStart                    // after '=': BWS, then a token or quoted-string
	chunkExtVal                         // more of a token value
	chunkExtValBWS                      // whitespace after a value: only ';' may follow
	chunkExtQuoted                      // inside a quoted-string value
	chunkExtEscape                      // after a backslash in a quoted string
	chunkExtQuotedEnd                   // after the closing quote
	chunkSizeLF                         // CR seen, LF expected
	chunkData                           // data bytes
	chunkDataCR                         // CR after data
	chunkDataLF                         // LF after data
	trailerStart                        // start of a trailer line or the final CRLF
	trailerName                         // field name
	trailerValue                        // field value up to CR
	trailerLF                           // LF after a trailer line
	finalLF                             // LF of the final CRLF
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
			v := Unhex(c)
			if v < 0 {
				return i, byteError(c, ErrChunkSize)
			}
			s.size, s.sizeSeen, s.line = uint64(v), 1, 1
			s.state = chunkSize
			i++
			continue
		case chunkSize:
			if v := Unhex(c); v >= 0 {
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
				s.state = chunkExtNameStart
			case ' ', '\t':
				s.state = chunkSizeBWS // BWS before ';' (RFC 9112 §7.1.1)
			default:
				return i, byteError(c, ErrChunkSize)
			}
		case chunkSizeBWS:
			switch c {
			case ' ', '\t':
			case ';':
				s.state = chunkExtNameStart
			default:
				return i, byteError(c, ErrChunkSize)
			}
		// chunk-ext = *( BWS ";" BWS chunk-ext-name
		//                [ BWS "=" BWS chunk-ext-val ] )  (RFC 9112 §7.1.1)
		case chunkExtNameStart:
			switch {
			case c == ' ' || c == '\t':
			case tokenTable[c]:
				s.state = chunkExtName
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtName:
			switch {
			case tokenTable[c]:
			case c == '=':
				s.state = chunkExtValStart
			case c == ';':
				s.state = chunkExtNameStart
			case c == ' ' || c == '\t':
				s.state = chunkExtNameBWS
			case c == '\r':
				s.state = chunkSizeLF
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtNameBWS:
			switch c {
			case ' ', '\t':
			case '=':
				s.state = chunkExtValStart
			case ';':
				s.state = chunkExtNameStart
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtValStart:
			switch {
			case c == ' ' || c == '\t':
			case c == '"':
				s.state = chunkExtQuoted
			case tokenTable[c]:
				s.state = chunkExtVal
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtVal:
			switch {
			case tokenTable[c]:
			case c == ';':
				s.state = chunkExtNameStart
			case c == ' ' || c == '\t':
				s.state = chunkExtValBWS
			case c == '\r':
				s.state = chunkSizeLF
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtValBWS:
			switch c {
			case ' ', '\t':
			case ';':
				s.state = chunkExtNameStart
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtQuoted:
			switch {
			case c == '"':
				s.state = chunkExtQuotedEnd
			case c == '\\':
				s.state = chunkExtEscape
			case !valueTable[c]:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkExtEscape:
			if !valueTable[c] {
				return i, byteError(c, ErrChunkExt)
			}
			s.state = chunkExtQuoted
		case chunkExtQuotedEnd:
			switch c {
			case ';':
				s.state = chunkExtNameStart
			case ' ', '\t':
				s.state = chunkExtValBWS
			case '\r':
				s.state = chunkSizeLF
			default:
				return i, byteError(c, ErrChunkExt)
			}
		case chunkSizeLF:
			if c != '\n' {
				return i, ErrBareCR
			}
			if s.size == 0 {
				s.state = trailerStart
			} else {
				s.state = chunkData
			}
			// The CRLF after the data starts the count of the next line,
			// so a size line at the limit is not charged for it twice.
			s.line = 0
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
				return i, byteError(c, ErrTrailer)
			}
		case trailerName:
			switch {
			case c == ':':
				s.state = trailerValue
			case !tokenTable[c]:
				return i, byteError(c, ErrTrailer)
			}
		case trailerValue:
			switch {
			case c == '\r':
				s.state = trailerLF
			case !valueTable[c]:
				return i, byteError(c, ErrTrailer)
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
		// Every byte outside chunk data lands here: bound the lines. Like
		// a grammar error, a limit is reported at the byte that broke it.
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
		i++
	}
	return i, nil
}

// Segment kinds returned by ScanSegment.
const (
	SegmentFraming = iota // chunk-size lines and the CRLF after data
	SegmentData           // chunk data
	SegmentTrailer        // the last chunk's trailer section and final CRLF
)

// ScanSegment scans the next run of p that is all of one kind, so that a
// caller that transforms the data (the HTML injector) can re-frame it and
// pass the trailers on. It returns how many bytes of p the run holds.
func (s *ChunkedScanner) ScanSegment(p []byte) (n int, kind int, err error) {
	if s.state == chunkData {
		k := min(uint64(len(p)), s.size)
		s.SkipData(k)
		return int(k), SegmentData, nil
	}
	kind = SegmentFraming
	if s.state >= trailerStart {
		kind = SegmentTrailer
	}
	for n < len(p) && s.state != chunkData && s.state != chunkDone {
		if (s.state >= trailerStart) != (kind == SegmentTrailer) {
			break
		}
		m, err := s.Scan(p[n : n+1])
		n += m
		if err != nil {
			return n, kind, err
		}
	}
	return n, kind, nil
}

// InTrailer reports whether the last chunk was seen: what follows is the
// trailer section.
func (s *ChunkedScanner) InTrailer() bool { return s.state >= trailerStart }

// byteError is the error for an unexpected byte c in a framing line: a bare
// LF (RFC 9112 §2.2) if it is one, else def. Only error paths call it.
func byteError(c byte, def *Error) error {
	if c == '\n' {
		return ErrBareLF
	}
	return def
}

// Unhex returns the value of the hexadecimal digit c, or -1.
func Unhex(c byte) int {
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
