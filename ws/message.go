package ws

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// LiveReload protocol v7 messages that never change
// (http://livereload.com/protocols/official-7).
const liveReloadProtocol = "http://livereload.com/protocols/official-7"

var (
	liveReloadHello = ws.MustCompileFrame(ws.NewTextFrame([]byte(
		`{"command":"hello","protocols":["` + liveReloadProtocol + `"],"serverName":"reloadproxy"}`)))
	// liveReloadFull reloads the page: livereload.js reloads the document
	// for any path that is not a stylesheet or image.
	liveReloadFull = ws.MustCompileFrame(ws.NewTextFrame([]byte(
		`{"command":"reload","path":"/","liveCSS":true}`)))
)

// frameBuf builds WebSocket frames in b: the header with gobwas/ws's
// WriteHeaderBuffer (frameBuf is the io.Writer it writes to), then the
// payload. Keeping one per owner (the Hub, a tab) lets frames be built
// without allocating beyond b itself.
type frameBuf struct {
	b   []byte
	hdr [ws.MaxHeaderSize]byte
}

// Write appends p to b; it never fails.
func (f *frameBuf) Write(p []byte) (int, error) {
	f.b = append(f.b, p...)
	return len(p), nil
}

// frame appends a final, unmasked frame of op carrying payload.
func (f *frameBuf) frame(op ws.OpCode, payload []byte) {
	ws.WriteHeaderBuffer(f, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}, f.hdr[:])
	f.b = append(f.b, payload...)
}

// appendGenerationMessage appends
// {"type":typ,"generation":gen,"kind":kind}; kind must be in range.
func appendGenerationMessage(dst []byte, typ string, gen uint64, kind ReloadKind) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","generation":`...)
	dst = strconv.AppendUint(dst, gen, 10)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, kindNames[kind]...)
	return append(dst, `"}`...)
}

// appendBuildFailedMessage appends
// {"type":"build-failed","command":...,"exit":...,"output":...} for f,
// with the output cut to its last maxFailureOutput bytes.
func appendBuildFailedMessage(dst []byte, f BuildFailure) []byte {
	dst = append(dst, `{"type":"build-failed","command":`...)
	dst = appendJSONString(dst, f.Command)
	dst = append(dst, `,"exit":`...)
	dst = appendJSONString(dst, f.Exit)
	dst = append(dst, `,"output":`...)
	dst = appendJSONString(dst, string(outputTail(f.Output, maxFailureOutput)))
	return append(dst, '}')
}

// outputTail returns the last max bytes of out, from the start of a line
// when one starts within them (so that neither a character nor an escape
// sequence is cut, unless a single line is longer than max).
func outputTail(out []byte, max int) []byte {
	if len(out) <= max {
		return out
	}
	tail := out[len(out)-max:]
	if i := bytes.IndexByte(tail, '\n'); i >= 0 && i+1 < len(tail) {
		tail = tail[i+1:]
	}
	return tail
}

// appendCSSMessage appends {"type":"css","path":path}.
func appendCSSMessage(dst []byte, path string) []byte {
	dst = append(dst, `{"type":"css","path":`...)
	dst = appendJSONString(dst, path)
	return append(dst, '}')
}

// appendLiveReloadMessage appends the LiveReload v7 message that reloads
// path with liveCSS, so stylesheets are swapped in place.
func appendLiveReloadMessage(dst []byte, path string) []byte {
	dst = append(dst, `{"command":"reload","path":`...)
	dst = appendJSONString(dst, path)
	return append(dst, `,"liveCSS":true}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string (RFC 8259 §7). Invalid UTF-8
// becomes U+FFFD, so the frame stays valid text (RFC 6455 §5.6).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n': // build output is lines: the short forms keep it small
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
