package supervisor

import (
	"bytes"
	"io"
	"sync"
)

// Limits of Failure.Output.
const (
	tailMaxBytes = 16 << 10
	tailMaxLines = 40
)

// tail keeps the last lines a backend printed on stdout and stderr,
// interleaved by whole line in arrival order. Safe for concurrent use.
type tail struct {
	mu      sync.Mutex
	buf     []byte // whole lines, oldest first; cut back to tailMaxBytes when it reaches twice that
	writers []*tailWriter
	kick    chan struct{} // if non-nil, notified on every write (a hint for the probe)
}

// tailWriter is one stream (stdout or stderr) into a tail: each Write
// passes through to pass and adds its complete lines to the tail.
type tailWriter struct {
	t    *tail
	pass io.Writer
	line []byte // the stream's unfinished line; guarded by t.mu
}

func (t *tail) writer(pass io.Writer) io.Writer {
	w := &tailWriter{t: t, pass: pass}
	t.mu.Lock()
	t.writers = append(t.writers, w)
	t.mu.Unlock()
	return w
}

// Write never fails: a failing pass writer must not stop the copy (the
// backend would block on a full pipe).
func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.pass != nil {
		_, _ = w.pass.Write(p)
	}
	t := w.t
	if t.kick != nil {
		notify(t.kick)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.line = append(w.line, p...)
			if len(w.line) >= tailMaxBytes {
				t.appendLocked(w.line)
				w.line = w.line[:0]
			}
			break
		}
		if len(w.line) > 0 {
			w.line = append(w.line, p[:i+1]...)
			t.appendLocked(w.line)
			w.line = w.line[:0]
		} else {
			t.appendLocked(p[:i+1])
		}
		p = p[i+1:]
	}
	return n, nil
}

func (t *tail) appendLocked(b []byte) {
	t.buf = append(t.buf, b...)
	if len(t.buf) >= 2*tailMaxBytes {
		n := copy(t.buf, t.buf[lineCut(t.buf, tailMaxBytes):])
		t.buf = t.buf[:n]
	}
}

// flush moves the unfinished lines into the tail; called once the streams
// reached EOF.
func (t *tail) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range t.writers {
		if len(w.line) > 0 {
			t.appendLocked(w.line)
			t.appendLocked([]byte{'\n'})
			w.line = w.line[:0]
		}
	}
}

// snapshot returns a copy of the last lines, unfinished ones included: at
// most tailMaxLines lines and tailMaxBytes bytes, starting at a line start
// when it had to cut. A nil tail has no output.
func (t *tail) snapshot() []byte {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	b := append([]byte(nil), t.buf...)
	for _, w := range t.writers {
		if len(w.line) > 0 {
			b = append(b, w.line...)
			b = append(b, '\n')
		}
	}
	t.mu.Unlock()
	return lastLines(b, tailMaxLines, tailMaxBytes)
}

// lastLines returns the suffix of b holding its last n lines and at most
// max bytes.
func lastLines(b []byte, n, max int) []byte {
	b = b[lineCut(b, max):]
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for lines := 0; ; {
		i := bytes.LastIndexByte(b[:end], '\n')
		if i < 0 {
			return b
		}
		if lines++; lines == n {
			return b[i+1:]
		}
		end = i
	}
}

// lineCut returns where to cut b to keep at most its last max bytes: at a
// line start when one falls within them, else just max bytes.
func lineCut(b []byte, max int) int {
	if len(b) <= max {
		return 0
	}
	cut := len(b) - max
	if b[cut-1] == '\n' {
		return cut
	}
	if i := bytes.IndexByte(b[cut:len(b)-1], '\n'); i >= 0 {
		return cut + i + 1
	}
	return cut
}
