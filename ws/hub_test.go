package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestHelloAndReconnect(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	a := s.dialHello(t, 0)
	s.hub.Reload(5, Change)
	a.expectText(`{"type":"reload","generation":5,"kind":"change"}`)
	if g := s.hub.Generation(); g != 5 {
		t.Errorf("Generation: want 5, got %d", g)
	}
	// The tab goes away (network, proxy restart) and misses a reload: its
	// next hello carries the new generation, so the client reloads, or
	// leaves it to the page's own client for a change.
	a.write(masked(ws.OpClose), closePayload(ws.StatusGoingAway, ""))
	a.expectClose(ws.StatusGoingAway)
	waitFor(t, "tab to leave", func() bool { return s.hub.Tabs() == 0 })
	s.hub.Reload(6, Failure)
	s.hub.Restarting() // changes neither generation nor kind
	s.hub.Building()
	b := s.dialHelloKind(t, 6, Failure)
	s.hub.Reload(7, Restart)
	b.expectText(`{"type":"reload","generation":7,"kind":"restart"}`)
	s.dialHelloKind(t, 7, Restart)
}

// TestReloadKinds checks the kind in reload frames and in the hello of tabs
// that connect afterwards; a kind out of range is sent as restart.
func TestReloadKinds(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	tests := []struct {
		kind ReloadKind
		want string
	}{
		{Change, "change"},
		{Restart, "restart"},
		{Failure, "failure"},
		{Change, "change"},
		{ReloadKind(3), "restart"},
		{ReloadKind(255), "restart"},
	}
	a := s.dialHello(t, 0)
	for i, tt := range tests {
		gen := uint64(10 + i)
		s.hub.Reload(gen, tt.kind)
		a.expectText(fmt.Sprintf(`{"type":"reload","generation":%d,"kind":"%s"}`, gen, tt.want))
		c := s.dial(t, SocketPath)
		c.expectText(fmt.Sprintf(`{"type":"hello","generation":%d,"kind":"%s"}`, gen, tt.want))
		c.conn.Close()
	}
	for k, want := range map[ReloadKind]string{Restart: "restart", Change: "change", Failure: "failure", 7: "ReloadKind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("ReloadKind(%d).String() = %q, want %q", k, got, want)
		}
	}
	if Restart != 0 {
		t.Error("the zero ReloadKind must be Restart, the kind every tab obeys")
	}
}

func TestBroadcast(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	const n = 20
	tabs := make([]*client, n)
	for i := range tabs {
		tabs[i] = s.dialHello(t, 0)
	}
	if got := s.hub.Tabs(); got != n {
		t.Fatalf("Tabs: want %d, got %d", n, got)
	}
	s.hub.Restarting()
	s.hub.Building()
	s.hub.Reload(1, Restart)
	s.hub.ReloadCSS("static/app.css")
	s.hub.ReloadCSS("a \"b\"\\\n\xff.css")
	for _, c := range tabs {
		c.expectText(`{"type":"restarting"}`)
		c.expectText(`{"type":"building"}`)
		c.expectText(`{"type":"reload","generation":1,"kind":"restart"}`)
		c.expectText(`{"type":"css","path":"static/app.css"}`)
		c.expectText(`{"type":"css","path":"a \"b\"\\\n\ufffd.css"}`)
	}
}

func TestBigFrameBroadcast(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	c := s.dialHello(t, 0)
	for _, size := range []int{100, 125 - 22, 126, 1000, 65535 - 23, 70000} {
		path := strings.Repeat("x", size)
		s.hub.ReloadCSS(path)
		c.expectText(`{"type":"css","path":"` + path + `"}`)
	}
}

func TestInvalidFrames(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	text := masked(ws.OpText)
	first := func(op ws.OpCode) ws.Header { return ws.Header{OpCode: op, Masked: true} }
	tests := []struct {
		name   string
		frames [][]byte
		code   ws.StatusCode // 0: accepted (the session answers a ping)
	}{
		{"rsv1", [][]byte{rawFrame(ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText, Masked: true}, []byte("a"))}, ws.StatusProtocolError},
		{"rsv2", [][]byte{rawFrame(ws.Header{Fin: true, Rsv: ws.Rsv(false, true, false), OpCode: ws.OpText, Masked: true}, []byte("a"))}, ws.StatusProtocolError},
		{"rsv3 on ping", [][]byte{rawFrame(ws.Header{Fin: true, Rsv: ws.Rsv(false, false, true), OpCode: ws.OpPing, Masked: true}, nil)}, ws.StatusProtocolError},
		{"reserved data opcode", [][]byte{rawFrame(masked(3), []byte("a"))}, ws.StatusProtocolError},
		{"reserved control opcode", [][]byte{rawFrame(masked(0xB), nil)}, ws.StatusProtocolError},
		{"fragmented ping", [][]byte{rawFrame(first(ws.OpPing), []byte("a"))}, ws.StatusProtocolError},
		{"ping over 125", [][]byte{rawFrame(masked(ws.OpPing), make([]byte, 126))}, ws.StatusProtocolError},
		{"close over 125", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1000, strings.Repeat("a", 124)))}, ws.StatusProtocolError},
		{"unmasked text", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: ws.OpText}, []byte("a"))}, ws.StatusProtocolError},
		{"unmasked close", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: ws.OpClose}, closePayload(1000, ""))}, ws.StatusProtocolError},
		{"continuation first", [][]byte{rawFrame(masked(ws.OpContinuation), []byte("a"))}, ws.StatusProtocolError},
		{"new message inside fragmented", [][]byte{rawFrame(first(ws.OpText), []byte("a")), rawFrame(text, []byte("b"))}, ws.StatusProtocolError},
		{"64-bit length MSB", [][]byte{{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, ws.StatusProtocolError},
		{"close code 1005", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1005, ""))}, ws.StatusProtocolError},
		{"close code 1006", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1006, ""))}, ws.StatusProtocolError},
		{"close code 999", [][]byte{rawFrame(masked(ws.OpClose), closePayload(999, ""))}, ws.StatusProtocolError},
		{"close code 1004", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1004, ""))}, ws.StatusProtocolError},
		{"close code 1100", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1100, ""))}, ws.StatusProtocolError},
		{"close code 5000", [][]byte{rawFrame(masked(ws.OpClose), closePayload(5000, ""))}, ws.StatusProtocolError},
		{"close code 65535", [][]byte{rawFrame(masked(ws.OpClose), closePayload(65535, ""))}, ws.StatusProtocolError},
		{"close payload 1 byte", [][]byte{rawFrame(masked(ws.OpClose), []byte{3})}, ws.StatusProtocolError},
		{"close reason invalid UTF-8", [][]byte{rawFrame(masked(ws.OpClose), closePayload(1000, "a\xffb"))}, ws.StatusInvalidFramePayloadData},
		{"text invalid UTF-8", [][]byte{rawFrame(text, []byte("caf\xc3\x28"))}, ws.StatusInvalidFramePayloadData},
		{"text surrogate", [][]byte{rawFrame(text, []byte("\xed\xa0\x80"))}, ws.StatusInvalidFramePayloadData},
		{"text truncated sequence", [][]byte{rawFrame(text, []byte("caf\xc3"))}, ws.StatusInvalidFramePayloadData},
		{"fragments invalid UTF-8", [][]byte{rawFrame(first(ws.OpText), []byte("caf\xc3")), rawFrame(masked(ws.OpContinuation), []byte("\x28"))}, ws.StatusInvalidFramePayloadData},
		{"fragments truncated sequence", [][]byte{rawFrame(first(ws.OpText), []byte("ok")), rawFrame(masked(ws.OpContinuation), []byte("\xe2\x82"))}, ws.StatusInvalidFramePayloadData},
		{"text over limit", [][]byte{rawFrame(text, make([]byte, maxMessage+1))}, ws.StatusMessageTooBig},
		{"fragments over limit", [][]byte{rawFrame(first(ws.OpBinary), make([]byte, maxMessage)), rawFrame(masked(ws.OpContinuation), []byte("a"))}, ws.StatusMessageTooBig},
		{"huge declared length", [][]byte{{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}}, ws.StatusMessageTooBig},

		{"text at limit", [][]byte{rawFrame(text, bytes.Repeat([]byte("é"), maxMessage/2))}, 0},
		{"binary invalid UTF-8", [][]byte{rawFrame(masked(ws.OpBinary), []byte("\xff\xfe"))}, 0},
		{"empty text", [][]byte{rawFrame(text, nil)}, 0},
		{"fragments split inside a character", [][]byte{rawFrame(first(ws.OpText), []byte("caf\xc3")), rawFrame(masked(ws.OpContinuation), []byte("\xa9!"))}, 0},
		{"ping between fragments", [][]byte{rawFrame(first(ws.OpText), []byte("a")), rawFrame(masked(ws.OpPing), []byte("p")), rawFrame(masked(ws.OpContinuation), []byte("b"))}, 0},
		{"unsolicited pong", [][]byte{rawFrame(masked(ws.OpPong), []byte("x"))}, 0},
		{"two messages", [][]byte{rawFrame(text, []byte("a")), rawFrame(masked(ws.OpBinary), []byte("b"))}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.dialHello(t, 0)
			for _, f := range tt.frames {
				if _, err := c.conn.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if tt.code == 0 {
				c.expectPong("still there")
				return
			}
			c.expectClose(tt.code)
		})
	}
}

func TestPingPong(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	c := s.dialHello(t, 0)
	for _, p := range []string{"", "abc", strings.Repeat("z", 125)} {
		c.expectPong(p)
	}
}

func TestCloseHandshake(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	tests := []struct {
		name    string
		payload []byte
		want    ws.StatusCode
	}{
		{"normal with reason", closePayload(1000, "bye"), 1000},
		{"going away", closePayload(1001, ""), 1001},
		{"application code", closePayload(3000, ""), 3000},
		{"private code", closePayload(4999, ""), 4999},
		{"no status", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.dialHello(t, 0)
			c.write(masked(ws.OpClose), tt.payload)
			c.expectClose(tt.want)
		})
	}
	waitFor(t, "tabs to leave", func() bool { return s.hub.Tabs() == 0 })
}

func TestServerPing(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig()
	cfg.pingInterval = 20 * time.Millisecond
	s := startServer(t, cfg, nil)
	c := s.dialHello(t, 0)
	f, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	if f.h.OpCode != ws.OpPing || !f.h.Fin {
		t.Fatalf("want ping, got %v", f.h.OpCode)
	}
}

func TestIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig()
	cfg.readTimeout = 100 * time.Millisecond
	s := startServer(t, cfg, nil)
	c := s.dialHello(t, 0)
	start := time.Now()
	c.expectEOF()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("idle tab dropped after %v", d)
	}
	waitFor(t, "tab to leave", func() bool { return s.hub.Tabs() == 0 })
}

// TestStuckTab checks that a tab that never reads does not hold back the
// others, and is dropped: by a full queue, or by its write deadline.
func TestStuckTab(t *testing.T) {
	tests := []struct {
		name     string
		queueLen int
		write    time.Duration
	}{
		{"queue full", 4, time.Minute},
		{"write deadline", 100000, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			cfg := testConfig()
			cfg.queueLen = tt.queueLen
			cfg.writeTimeout = tt.write
			s := startServer(t, cfg, func(h *Hub, conn net.Conn) {
				conn.(*net.TCPConn).SetWriteBuffer(4 << 10)
				h.ServeConn(conn, nil)
			})
			stuck := s.dialHello(t, 0)
			stuck.conn.(*net.TCPConn).SetReadBuffer(4 << 10)
			fast := s.dialHello(t, 0)

			var got atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					f, err := fast.read()
					if err != nil {
						return
					}
					if f.h.OpCode == ws.OpText {
						got.Add(1)
					}
				}
			}()
			path := strings.Repeat("p", 16<<10)
			deadline := time.Now().Add(10 * time.Second)
			sent := int64(0)
			for s.hub.Tabs() == 2 {
				if time.Now().After(deadline) {
					t.Fatalf("stuck tab not dropped after %d broadcasts", sent)
				}
				start := time.Now()
				s.hub.ReloadCSS(path)
				if d := time.Since(start); d > 50*time.Millisecond {
					t.Fatalf("broadcast blocked %v", d)
				}
				sent++
				time.Sleep(time.Millisecond)
			}
			waitFor(t, "fast tab to get every broadcast", func() bool { return got.Load() == sent })
			fast.conn.Close()
			<-done
		})
	}
}

func TestLiveReload(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	hello := `{"command":"hello","protocols":["http://livereload.com/protocols/official-6","http://livereload.com/protocols/official-7"]}`

	c := s.dial(t, "/livereload")
	s.hub.Reload(1, Restart) // before hello: not for this client
	waitFor(t, "tab", func() bool { return s.hub.Tabs() == 1 })
	c.write(masked(ws.OpText), []byte(hello))
	c.expectText(`{"command":"hello","protocols":["http://livereload.com/protocols/official-7"],"serverName":"reloadproxy"}`)
	c.write(masked(ws.OpText), []byte(`{"command":"info","plugins":{},"url":"http://localhost:8000/"}`))
	c.expectPong("after info")

	s.hub.Restarting() // no LiveReload equivalent
	s.hub.Building()
	s.hub.BuildFailed(BuildFailure{Command: "make", Exit: "exit 2", Output: []byte("boom\n")})
	s.hub.Reload(2, Change) // a full reload whatever the kind
	c.expectText(`{"command":"reload","path":"/","liveCSS":true}`)
	s.hub.ReloadCSS("static/app.css")
	c.expectText(`{"command":"reload","path":"static/app.css","liveCSS":true}`)

	t.Run("hello without v7", func(t *testing.T) {
		c := s.dial(t, "/livereload")
		c.write(masked(ws.OpText), []byte(`{"command":"hello","protocols":["http://livereload.com/protocols/official-6"]}`))
		c.expectClose(ws.StatusProtocolError)
	})
}

// TestMixedTabs checks each protocol gets its own messages from one Hub.
func TestMixedTabs(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	h := s.hub
	lr := s.dial(t, "/livereload")
	lr.write(masked(ws.OpText), []byte(`{"command":"hello","protocols":["`+liveReloadProtocol+`"]}`))
	lr.next()
	tab := s.dialHello(t, 0)
	h.Reload(3, Failure)
	tab.expectText(`{"type":"reload","generation":3,"kind":"failure"}`)
	lr.expectText(`{"command":"reload","path":"/","liveCSS":true}`)
	if n := h.Tabs(); n != 2 {
		t.Errorf("Tabs: want 2, got %d", n)
	}
	h.Close()
	tab.expectClose(ws.StatusGoingAway)
	lr.expectClose(ws.StatusGoingAway)
}

func TestClose(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig()
	s := startServer(t, cfg, nil)
	answering := s.dialHello(t, 0)
	silent := s.dialHello(t, 0) // never answers the close frame

	closed := make(chan struct{})
	start := time.Now()
	go func() {
		s.hub.Close()
		close(closed)
	}()
	f := answering.next()
	if f.h.OpCode != ws.OpClose || !bytes.Equal(f.payload, closePayload(ws.StatusGoingAway, "")) {
		t.Fatalf("want close 1001, got %v %q", f.h.OpCode, f.payload)
	}
	answering.write(masked(ws.OpClose), f.payload)
	answering.expectEOF()
	silent.expectClose(ws.StatusGoingAway)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if d := time.Since(start); d > 4*cfg.closeTimeout {
		t.Errorf("Close took %v", d)
	}
	if n := s.hub.Tabs(); n != 0 {
		t.Errorf("Tabs after Close: %d", n)
	}
	if err := s.hub.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A session that starts after Close ends at once, going away.
	late := s.dial(t, SocketPath)
	late.expectClose(ws.StatusGoingAway)
}

func TestAppendJSONString(t *testing.T) {
	tests := []string{"", "static/app.css", `a"b\c`, "line\nfeed\t\x00\x1f", "é€😀", "bad\xffutf8\xc3", "</script>"}
	for _, s := range tests {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, got, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if s == "bad\xffutf8\xc3" {
			want = "bad\ufffdutf8\ufffd"
		}
		if back != want {
			t.Errorf("%q: decodes to %q, want %q", s, back, want)
		}
	}
}

func TestFrameEncoding(t *testing.T) {
	var f frameBuf
	f.b = []byte("prefix")
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 100000} {
		payload := strings.Repeat("a", n)
		f.b = f.b[:6]
		f.frame(ws.OpText, []byte(payload))
		if string(f.b[:6]) != "prefix" {
			t.Fatalf("%d: prefix clobbered", n)
		}
		r := bytes.NewReader(f.b[6:])
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		want := ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(n)}
		if h != want {
			t.Errorf("%d: header -want +got\n-%+v\n+%+v", n, want, h)
		}
		if rest, _ := io.ReadAll(r); string(rest) != payload {
			t.Errorf("%d: payload mismatch (%d bytes)", n, len(rest))
		}
	}
}

// TestCloseStuckTab checks Close does not wait for the write deadline of a
// tab that stopped reading.
func TestCloseStuckTab(t *testing.T) {
	checkGoroutines(t)
	cfg := testConfig()
	cfg.writeTimeout = time.Minute
	cfg.queueLen = 1000
	s := startServer(t, cfg, func(h *Hub, conn net.Conn) {
		conn.(*net.TCPConn).SetWriteBuffer(4 << 10)
		h.ServeConn(conn, nil)
	})
	stuck := s.dialHello(t, 0)
	stuck.conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	path := strings.Repeat("p", 60<<10)
	for range 200 { // 12 MB: more than both socket buffers hold
		s.hub.ReloadCSS(path)
	}
	time.Sleep(50 * time.Millisecond)
	if s.hub.Tabs() != 1 {
		t.Fatal("tab dropped before Close")
	}
	start := time.Now()
	s.hub.Close()
	if d := time.Since(start); d > 4*cfg.closeTimeout {
		t.Errorf("Close took %v with a stuck tab", d)
	}
}
