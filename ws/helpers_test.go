package ws

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// checkGoroutines fails t if, once t and its cleanups are done, more
// goroutines run than when it started. Call it first, so that its cleanup
// runs last.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d at start, %d at end:\n%s", base, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// testConfig is a config with timings short enough for tests.
func testConfig() config {
	c := defaultConfig()
	c.closeTimeout = 500 * time.Millisecond
	c.writeTimeout = 2 * time.Second
	return c
}

// testServer runs serve for every connection accepted on a loopback port.
type testServer struct {
	hub  *Hub
	addr string
}

// startServer starts a Hub with cfg and a listener that does the server's
// side of each WebSocket handshake (the proxy's job in reloadproxy; here
// gobwas/ws's Upgrader, an independent implementation) and hands the
// upgraded connection to handle (nil: serve, which picks the protocol by
// path). Everything stops at cleanup.
func startServer(t *testing.T, cfg config, handle func(h *Hub, conn net.Conn)) *testServer {
	t.Helper()
	h := newHub(cfg)
	if handle == nil {
		handle = serve
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var path string
				u := ws.Upgrader{OnRequest: func(uri []byte) error { path = string(uri); return nil }}
				if _, err := u.Upgrade(c); err != nil {
					c.Close()
					return
				}
				c.(*net.TCPConn).SetReadDeadline(time.Time{})
				if path == liveReloadPath {
					h.ServeLiveReload(c, nil)
					return
				}
				handle(h, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
	return &testServer{hub: h, addr: ln.Addr().String()}
}

// liveReloadPath is where the test server runs LiveReload sessions.
const liveReloadPath = LiveReloadSocketPath

// serve runs a reload-channel session.
func serve(h *Hub, conn net.Conn) { h.ServeConn(conn, nil) }

// client is a test WebSocket client speaking raw frames.
type client struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
}

// dial connects to path on s with gobwas/ws's Dialer.
func (s *testServer) dial(t *testing.T, path string) *client {
	t.Helper()
	conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+s.addr+path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &client{t: t, conn: conn, r: r}
}

// dialHello dials the reload socket and consumes hello, checking its
// generation and that its kind is Restart (the kind before any Reload).
func (s *testServer) dialHello(t *testing.T, gen uint64) *client {
	t.Helper()
	return s.dialHelloKind(t, gen, Restart)
}

// dialHelloKind dials the reload socket and consumes hello, checking its
// generation and kind.
func (s *testServer) dialHelloKind(t *testing.T, gen uint64, kind ReloadKind) *client {
	t.Helper()
	c := s.dial(t, SocketPath)
	c.expectText(fmt.Sprintf(`{"type":"hello","generation":%d,"kind":"%s"}`, gen, kind))
	return c
}

// frame is a frame as read by a client: header and unmasked payload.
type frame struct {
	h       ws.Header
	payload []byte
}

// read reads the next frame within 5 s.
func (c *client) read() (frame, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(c.r)
	if err != nil {
		return frame{}, err
	}
	if h.Masked {
		return frame{}, errors.New("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.r, p); err != nil {
		return frame{}, err
	}
	return frame{h, p}, nil
}

// next returns the next frame that is not a ping.
func (c *client) next() frame {
	c.t.Helper()
	for {
		f, err := c.read()
		if err != nil {
			c.t.Fatalf("read frame: %v", err)
		}
		if f.h.OpCode != ws.OpPing {
			return f
		}
	}
}

// expectText reads the next frame and checks it is the text want.
func (c *client) expectText(want string) {
	c.t.Helper()
	f := c.next()
	if f.h.OpCode != ws.OpText || !f.h.Fin || string(f.payload) != want {
		c.t.Fatalf("frame: -want +got\n-text %s\n+op %v fin %v %q", want, f.h.OpCode, f.h.Fin, f.payload)
	}
}

// expectClose reads frames up to a close frame, checks its status code
// (0: no code) and then that the server closes the connection.
func (c *client) expectClose(code ws.StatusCode) {
	c.t.Helper()
	for {
		f := c.next()
		if f.h.OpCode != ws.OpClose {
			continue
		}
		var got ws.StatusCode
		if len(f.payload) >= 2 {
			got = ws.StatusCode(binary.BigEndian.Uint16(f.payload))
		}
		if got != code {
			c.t.Fatalf("close code: want %d, got %d (payload %q)", code, got, f.payload)
		}
		break
	}
	c.expectEOF()
}

// expectEOF checks that the server closes the connection (after any
// frames) within 5 s.
func (c *client) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("server did not close the connection")
	}
}

// write writes a frame with header h (masked with a fixed key when
// h.Masked) and payload.
func (c *client) write(h ws.Header, payload []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(rawFrame(h, payload)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// rawFrame encodes a frame as a client would; h.Length is set from
// payload unless already set.
func rawFrame(h ws.Header, payload []byte) []byte {
	if h.Length == 0 {
		h.Length = int64(len(payload))
	}
	if h.Masked && h.Mask == [4]byte{} {
		h.Mask = [4]byte{0x12, 0x34, 0x56, 0x78}
	}
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	p := bytes.Clone(payload)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	b.Write(p)
	return b.Bytes()
}

// masked is a final, masked client frame header.
func masked(op ws.OpCode) ws.Header { return ws.Header{Fin: true, OpCode: op, Masked: true} }

// closePayload is a close frame payload.
func closePayload(code ws.StatusCode, reason string) []byte {
	p := make([]byte, 2+len(reason))
	ws.PutCloseFrameBody(p, code, reason)
	return p
}

// expectPong pings with payload and checks the pong echoes it.
func (c *client) expectPong(payload string) {
	c.t.Helper()
	c.write(masked(ws.OpPing), []byte(payload))
	for {
		f := c.next()
		if f.h.OpCode == ws.OpPong && string(f.payload) == payload {
			return
		}
		if f.h.OpCode == ws.OpClose {
			c.t.Fatalf("want pong, got close %q", f.payload)
		}
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
