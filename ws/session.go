package ws

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// tabKind says which protocol a tab speaks.
type tabKind uint8

const (
	kindReload     tabKind = iota // our client.js on SocketPath
	kindLiveReload                // LiveReload protocol v7 on /livereload
)

// tab is one WebSocket session. Its session goroutine (the caller of
// ServeConn) reads frames; its writer goroutine writes queued frames.
// Control replies (pong, close) are written by whichever goroutine needs
// them, under wmu.
type tab struct {
	conn net.Conn
	kind tabKind
	cfg  *config

	ready bool // LiveReload client said hello; guarded by Hub.mu

	queue      chan []byte   // frames to write; shared, never modified
	quit       chan struct{} // closed by stop
	quitOnce   sync.Once
	quitCode   ws.StatusCode // written before quit is closed; 0: no close frame
	writerDone chan struct{}
	killOnce   sync.Once

	wmu       sync.Mutex // serializes writes to conn
	closeSent bool       // our close frame is out; guarded by wmu

	dmu     sync.Mutex // serializes read-deadline updates
	closeBy time.Time  // guarded by dmu; set when our close frame is out

	pong frameBuf // session goroutine only
}

func newTab(conn net.Conn, kind tabKind, cfg *config) *tab {
	return &tab{
		conn:       conn,
		kind:       kind,
		cfg:        cfg,
		queue:      make(chan []byte, cfg.queueLen),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// enqueue queues frame without blocking; a tab whose queue is full is
// stuck and gets dropped. Called with Hub.mu held.
func (t *tab) enqueue(frame []byte) {
	select {
	case t.queue <- frame:
	default:
		t.kill()
	}
}

// kill drops the connection at once; both goroutines of the tab then see an
// error and end.
func (t *tab) kill() {
	t.killOnce.Do(func() { t.conn.Close() })
}

// stop ends the writer goroutine; with a non-zero code it first sends a
// close frame with that code.
func (t *tab) stop(code ws.StatusCode) {
	t.quitOnce.Do(func() {
		t.quitCode = code
		close(t.quit)
	})
}

// writeLoop writes queued frames until stop, or until a write fails or
// misses its deadline (the tab is then dropped).
func (t *tab) writeLoop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(t.writerDone)
	for {
		select {
		case f := <-t.queue:
			if err := t.write(f); err != nil {
				t.kill()
				return
			}
		case <-t.quit:
			if t.quitCode != 0 {
				t.sendClose(t.quitCode)
			}
			return
		}
	}
}

// write writes one frame within the write timeout. Frames after our close
// frame are dropped (RFC 6455 §5.5.1).
func (t *tab) write(frame []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closeSent {
		return nil
	}
	t.conn.SetWriteDeadline(time.Now().Add(t.cfg.writeTimeout))
	_, err := t.conn.Write(frame)
	return err
}

// sendClose sends our close frame with code (0: no status code), once, and
// from then on bounds the wait for the peer's close frame by closeTimeout.
func (t *tab) sendClose(code ws.StatusCode) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.closeSent {
		return
	}
	t.closeSent = true
	now := time.Now()
	frame := closeFrame(code)
	t.conn.SetWriteDeadline(now.Add(t.cfg.closeTimeout))
	t.conn.Write(frame)

	t.dmu.Lock()
	t.closeBy = now.Add(t.cfg.closeTimeout)
	t.conn.SetReadDeadline(t.closeBy)
	t.dmu.Unlock()
}

// closeFrame returns a close frame carrying code and no reason (0: no
// status code).
func closeFrame(code ws.StatusCode) []byte {
	switch code {
	case 0:
		return ws.CompiledClose
	case ws.StatusNormalClosure:
		return ws.CompiledCloseNormalClosure
	case ws.StatusGoingAway:
		return ws.CompiledCloseGoingAway
	case ws.StatusProtocolError:
		return ws.CompiledCloseProtocolError
	case ws.StatusInvalidFramePayloadData:
		return ws.CompiledCloseInvalidFramePayloadData
	case ws.StatusMessageTooBig:
		return ws.CompiledCloseMessageTooBig
	}
	// An echo of a peer's code (§5.5.1): rare, so compiled when needed.
	return ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
}

// armRead sets the read deadline for the next frame: the idle timeout, or
// the close deadline once our close frame is out.
func (t *tab) armRead() {
	t.dmu.Lock()
	d := t.closeBy
	if d.IsZero() {
		d = time.Now().Add(t.cfg.readTimeout)
	}
	t.conn.SetReadDeadline(d)
	t.dmu.Unlock()
}

// fail fails the connection (RFC 6455 §7.1.7): our close frame with code,
// then the rest of what the peer sends is discarded until it closes or the
// close deadline, so that closing the socket does not reset it before the
// peer has read our close frame.
func (t *tab) fail(r io.Reader, code ws.StatusCode) {
	t.sendClose(code)
	if cw, ok := t.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}

// readLoop reads frames from r (the connection, maybe preceded by bytes
// read with the request head) until the session ends: the peer closed or
// failed, the connection broke, or the read deadline passed.
func (h *Hub) readLoop(t *tab, r io.Reader) {
	var (
		hdr   [ws.MaxHeaderSize - 2]byte
		ctl   [ws.MaxControlFramePayloadSize]byte
		state = ws.StateServerSide
		msg   []byte // current message, unmasked
		text  bool   // current message is text
		lr    io.LimitedReader
		cr    wsutil.CipherReader
		utf   wsutil.UTF8Reader // validates text across fragments
	)
	for {
		t.armRead()
		hd, err := ws.ReadHeaderBuffer(r, hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				t.fail(r, ws.StatusProtocolError)
			}
			return
		}
		// Reserved bits or opcodes, fragmented or oversize control frames,
		// unmasked frames, continuation mismatches (RFC 6455 §5.2, §5.4,
		// §5.5, §5.1).
		if err := ws.CheckHeader(hd, state); err != nil {
			t.fail(r, ws.StatusProtocolError)
			return
		}

		if hd.OpCode.IsControl() {
			p := ctl[:hd.Length]
			if _, err := io.ReadFull(r, p); err != nil {
				return
			}
			ws.Cipher(p, hd.Mask, 0)
			switch hd.OpCode {
			case ws.OpPing:
				t.sendPong(p)
			case ws.OpClose:
				t.closeReceived(r, p)
				return
			}
			continue
		}

		if hd.OpCode != ws.OpContinuation {
			text = hd.OpCode == ws.OpText
			msg = msg[:0]
			utf.Reset(nil)
		}
		if hd.Length > int64(maxMessage-len(msg)) {
			t.fail(r, ws.StatusMessageTooBig)
			return
		}
		n := len(msg)
		msg = slices.Grow(msg, int(hd.Length))[:n+int(hd.Length)]
		lr = io.LimitedReader{R: r, N: hd.Length}
		cr.Reset(&lr, hd.Mask)
		var src io.Reader = &cr
		if text {
			utf.Source = &cr
			src = &utf
		}
		if _, err := io.ReadFull(src, msg[n:]); err != nil {
			if errors.Is(err, wsutil.ErrInvalidUTF8) {
				t.fail(r, ws.StatusInvalidFramePayloadData) // §8.1
			}
			return
		}
		if !hd.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		state = state.Clear(ws.StateFragmented)
		if text && !utf.Valid() {
			t.fail(r, ws.StatusInvalidFramePayloadData)
			return
		}
		if text && t.kind == kindLiveReload {
			if !h.liveReloadCommand(t, msg) {
				t.fail(r, ws.StatusProtocolError)
				return
			}
		}
		// Anything else a client sends is ignored.
	}
}

// sendPong answers a ping with its payload (RFC 6455 §5.5.3).
func (t *tab) sendPong(payload []byte) {
	t.pong.b = t.pong.b[:0]
	t.pong.frame(ws.OpPong, payload)
	t.write(t.pong.b)
}

// closeReceived answers the peer's close frame with payload p: an echo of
// its status code (RFC 6455 §5.5.1), or a failure for an invalid one
// (§7.4). The session then ends; the server closes the TCP connection
// first (§7.1.1).
func (t *tab) closeReceived(r io.Reader, p []byte) {
	switch len(p) {
	case 0:
		t.sendClose(0)
		return
	case 1:
		t.fail(r, ws.StatusProtocolError)
		return
	}
	code, reason := ws.ParseCloseFrameDataUnsafe(p)
	switch err := ws.CheckCloseFrameData(code, reason); {
	case errors.Is(err, ws.ErrProtocolInvalidUTF8):
		t.fail(r, ws.StatusInvalidFramePayloadData)
	case err != nil, code >= 5000:
		t.fail(r, ws.StatusProtocolError)
	default:
		t.sendClose(code)
	}
}

// liveReloadCommand handles a message from a LiveReload client. It reports
// false for a hello that does not offer protocol v7.
func (h *Hub) liveReloadCommand(t *tab, msg []byte) bool {
	var cmd struct {
		Command   string   `json:"command"`
		Protocols []string `json:"protocols"`
	}
	if json.Unmarshal(msg, &cmd) != nil {
		return true // not ours to judge; ignore
	}
	if cmd.Command != "hello" {
		return true // "info" and anything else
	}
	if !slices.Contains(cmd.Protocols, liveReloadProtocol) {
		return false
	}
	h.readyLiveReload(t)
	return true
}
