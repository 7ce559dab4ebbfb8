package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FuzzWebSocketFrames feeds arbitrary bytes, as a client's frames, to a
// session of a real Hub (ServeConn or ServeLiveReload), the client then
// closing its side. It checks that the session ends, that every frame the
// server sends is a valid server frame (unmasked, no reserved bits or
// opcodes, control frames short and final), that text frames are UTF-8
// JSON, that a reload tab gets hello first, that pongs echo the client's
// pings in order, that nothing follows the server's close frame and that
// the close frame carries a code an endpoint may send (RFC 6455 §7.4).
// Run it with
//
//	go test ./ws -run '^$' -fuzz '^FuzzWebSocketFrames$' -fuzztime 10m -parallel 1
func FuzzWebSocketFrames(f *testing.F) {
	text := masked(ws.OpText)
	first := func(op ws.OpCode) ws.Header { return ws.Header{OpCode: op, Masked: true} }
	seeds := [][][]byte{
		{rawFrame(text, []byte(`{"type":"x"}`)), rawFrame(masked(ws.OpClose), closePayload(ws.StatusNormalClosure, "bye"))},
		{rawFrame(masked(ws.OpPing), []byte("p1")), rawFrame(masked(ws.OpPing), nil), rawFrame(masked(ws.OpPong), []byte("x"))},
		{rawFrame(first(ws.OpText), []byte("caf\xc3")), rawFrame(masked(ws.OpPing), []byte("mid")), rawFrame(masked(ws.OpContinuation), []byte("\xa9!"))},
		{rawFrame(masked(ws.OpClose), closePayload(4000, "app"))},
		{rawFrame(masked(ws.OpClose), closePayload(1005, ""))},
		{rawFrame(masked(ws.OpClose), closePayload(1000, "a\xffb"))},
		{rawFrame(masked(ws.OpClose), []byte{3})},
		{rawFrame(masked(ws.OpClose), nil)},
		{rawFrame(text, []byte("caf\xc3\x28"))},
		{rawFrame(text, make([]byte, maxMessage+1))},
		{rawFrame(first(ws.OpBinary), make([]byte, maxMessage)), rawFrame(masked(ws.OpContinuation), []byte("a"))},
		{rawFrame(ws.Header{Fin: true, OpCode: ws.OpText}, []byte("unmasked"))},
		{rawFrame(ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText, Masked: true}, []byte("a"))},
		{rawFrame(masked(3), []byte("a"))},
		{rawFrame(first(ws.OpPing), []byte("a"))},
		{rawFrame(masked(ws.OpPing), make([]byte, 126))},
		{{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		{{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}},
		{{0x81, 0xfe, 0, 5, 1, 2, 3, 4}}, // 16-bit length for 5 bytes
		{rawFrame(text, []byte(`{"command":"hello","protocols":["`+liveReloadProtocol+`"]}`)), rawFrame(text, []byte(`{"command":"info","url":"/"}`))},
		{rawFrame(text, []byte(`{"command":"hello","protocols":["http://livereload.com/protocols/official-6"]}`))},
		{rawFrame(masked(ws.OpPing), []byte("p")), {0x81, 0x85, 1, 2}}, // cut inside a frame
		{},
	}
	for i, frames := range seeds {
		in := bytes.Join(frames, nil)
		f.Add(in, i%2 == 1, uint8(i%4*3), uint16(i*7))
	}
	h := newHub(testConfig())
	f.Cleanup(func() { h.Close() })
	f.Fuzz(func(t *testing.T, in []byte, liveReload bool, readSize uint8, split uint16) {
		k := int(split) % (len(in) + 1)
		server, client := net.Pipe()
		conn := &inputConn{Conn: server, in: in[k:], max: int(readSize)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if liveReload {
				h.ServeLiveReload(conn, in[:k])
			} else {
				h.ServeConn(conn, in[:k])
			}
		}()
		frames, err := readServerFrames(client, 5*time.Second)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end (input %q)", in)
		}
		if err != nil {
			t.Fatalf("server frames: %v (input %q)", err, in)
		}
		if n := h.Tabs(); n != 0 {
			t.Fatalf("%d tabs after the session ended", n)
		}
		checkServerFrames(t, frames, in, liveReload)
	})
}

// inputConn is the server's end of a session whose client sent in and
// then closed its side: reads return in, at most max bytes at a time (0:
// no limit), then io.EOF; writes, deadlines and Close are those of a
// net.Pipe end whose peer the test reads.
type inputConn struct {
	net.Conn
	in  []byte
	max int
}

func (c *inputConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	if c.max > 0 && len(p) > c.max {
		p = p[:c.max]
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

// readServerFrames reads frames from the client's end until the server
// closes the connection; it fails if the server sends nothing for d.
func readServerFrames(c net.Conn, d time.Duration) ([]frame, error) {
	var frames []frame
	for {
		c.SetReadDeadline(time.Now().Add(d))
		h, err := ws.ReadHeader(c)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return frames, nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return frames, errors.New("the server sent nothing and did not close for " + d.String())
			}
			return frames, err
		}
		if h.Length > 1<<20 {
			return frames, fmt.Errorf("frame of %d bytes", h.Length)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c, p); err != nil {
			return frames, err
		}
		frames = append(frames, frame{h, p})
	}
}

// checkServerFrames checks the frames a session sent for input in.
func checkServerFrames(t *testing.T, frames []frame, in []byte, liveReload bool) {
	t.Helper()
	pings := clientPings(in)
	for i, f := range frames {
		h := f.h
		switch {
		case h.Masked:
			t.Fatalf("frame %d is masked (RFC 6455 §5.1)", i)
		case h.Rsv != 0:
			t.Fatalf("frame %d has reserved bits %b", i, h.Rsv)
		case h.OpCode.IsReserved():
			t.Fatalf("frame %d has reserved opcode %v", i, h.OpCode)
		case h.OpCode.IsControl() && (!h.Fin || len(f.payload) > ws.MaxControlFramePayloadSize):
			t.Fatalf("control frame %d: fin %v, %d bytes (RFC 6455 §5.5)", i, h.Fin, len(f.payload))
		case !h.Fin || h.OpCode == ws.OpContinuation || h.OpCode == ws.OpBinary:
			t.Fatalf("frame %d: op %v fin %v: the server sends whole text messages only", i, h.OpCode, h.Fin)
		}
		switch h.OpCode {
		case ws.OpText:
			if !utf8.Valid(f.payload) || !json.Valid(f.payload) {
				t.Fatalf("text frame %d %q is no UTF-8 JSON", i, f.payload)
			}
		case ws.OpPong:
			if len(pings) == 0 || !bytes.Equal(pings[0], f.payload) {
				t.Fatalf("pong %d %q answers no ping; pings not yet answered: %q (input %q)", i, f.payload, pings, in)
			}
			pings = pings[1:]
		case ws.OpClose:
			if i != len(frames)-1 {
				t.Fatalf("frame %d follows the close frame (RFC 6455 §5.5.1)", i+1)
			}
			checkCloseFrame(t, f.payload)
		}
	}
	if !liveReload {
		if len(frames) == 0 || frames[0].h.OpCode != ws.OpText || !strings.HasPrefix(string(frames[0].payload), `{"type":"hello"`) {
			t.Fatalf("first frame of a reload tab is not hello: %+v", frames)
		}
	}
}

// checkCloseFrame checks the payload of the server's close frame: empty,
// or a status code an endpoint may send with a UTF-8 reason (RFC 6455
// §5.5.1, §7.4.1: not 1004–1006 or 1015, nor outside 1000–4999).
func checkCloseFrame(t *testing.T, p []byte) {
	t.Helper()
	if len(p) == 0 {
		return
	}
	if len(p) < 2 {
		t.Fatalf("close payload %q: one byte", p)
	}
	code := binary.BigEndian.Uint16(p)
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
	default:
		t.Fatalf("close code %d may not be sent", code)
	}
	if !utf8.Valid(p[2:]) {
		t.Fatalf("close reason %q is no UTF-8", p[2:])
	}
}

// clientPings returns the payloads of the pings among the client's frames
// in in, in order, up to the first frame after which a session certainly
// stops reading: a close, an unreadable header or one CheckHeader refuses,
// a message over maxMessage, or the end of the input. The server must
// answer a prefix of them, in order.
func clientPings(in []byte) [][]byte {
	var pings [][]byte
	r := bytes.NewReader(in)
	state := ws.StateServerSide
	msg := 0
	for {
		h, err := ws.ReadHeader(r)
		if err != nil || ws.CheckHeader(h, state) != nil || h.Length > int64(r.Len()) {
			return pings
		}
		p := make([]byte, h.Length)
		io.ReadFull(r, p)
		ws.Cipher(p, h.Mask, 0)
		if h.OpCode.IsControl() {
			switch h.OpCode {
			case ws.OpPing:
				pings = append(pings, p)
			case ws.OpClose:
				return pings
			}
			continue
		}
		if h.OpCode != ws.OpContinuation {
			msg = 0
		}
		if msg += len(p); msg > maxMessage {
			return pings
		}
		if h.Fin {
			state = state.Clear(ws.StateFragmented)
		} else {
			state = state.Set(ws.StateFragmented)
		}
	}
}
