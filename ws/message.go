package ws

import (
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// maxFrameHeader is the largest header of a frame the server sends: no mask,
// 64-bit length (RFC 6455 §5.2).
const maxFrameHeader = 10

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

var zeroHeader [maxFrameHeader]byte

// beginFrame reserves room for a frame header at the end of dst; the payload
// is appended after it and endFrame writes the header.
func beginFrame(dst []byte) (buf []byte, start int) {
	return append(dst, zeroHeader[:]...), len(dst)
}

// endFrame writes the header of the final, unmasked frame of opcode op whose
// payload follows the room beginFrame reserved at start, and moves the
// payload right after the header.
func endFrame(buf []byte, start int, op ws.OpCode) []byte {
	payload := buf[start+maxFrameHeader:]
	n := len(payload)
	h := buf[start:]
	h[0] = 0x80 | byte(op) // FIN
	var hs int
	switch {
	case n < 126:
		h[1] = byte(n)
		hs = 2
	case n <= 0xffff:
		h[1] = 126
		h[2], h[3] = byte(n>>8), byte(n)
		hs = 4
	default:
		h[1] = 127
		for i := range 8 {
			h[2+i] = byte(uint64(n) >> (56 - 8*i))
		}
		hs = 10
	}
	copy(buf[start+hs:], payload)
	return buf[:start+hs+n]
}

// appendGenerationFrame appends the text frame {"type":typ,"generation":gen}.
func appendGenerationFrame(dst []byte, typ string, gen uint64) []byte {
	buf, start := beginFrame(dst)
	buf = append(buf, `{"type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, `","generation":`...)
	buf = strconv.AppendUint(buf, gen, 10)
	buf = append(buf, '}')
	return endFrame(buf, start, ws.OpText)
}

// appendCSSFrame appends the text frame {"type":"css","path":path}.
func appendCSSFrame(dst []byte, path string) []byte {
	buf, start := beginFrame(dst)
	buf = append(buf, `{"type":"css","path":`...)
	buf = appendJSONString(buf, path)
	buf = append(buf, '}')
	return endFrame(buf, start, ws.OpText)
}

// appendLiveReloadFrame appends the LiveReload v7 message that reloads path
// with liveCSS, so stylesheets are swapped in place.
func appendLiveReloadFrame(dst []byte, path string) []byte {
	buf, start := beginFrame(dst)
	buf = append(buf, `{"command":"reload","path":`...)
	buf = appendJSONString(buf, path)
	buf = append(buf, `,"liveCSS":true}`...)
	return endFrame(buf, start, ws.OpText)
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

// jsonStringLen returns len(appendJSONString(nil, s)).
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				n += 2
			case c < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}
