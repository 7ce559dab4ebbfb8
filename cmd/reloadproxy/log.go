package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// logger prints one line per event to stderr: what happened and how long it
// took. Colours only on a terminal and never with NO_COLOR
// (https://no-color.org); -q keeps warnings and errors only.
type logger struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	quiet  bool
	prefix string
	// midLine: the server's output last written to w (see serverOutput)
	// did not end with a newline, so the next log line starts with one.
	midLine bool
}

func newLogger(f *os.File, quiet bool) *logger {
	_, noColor := os.LookupEnv("NO_COLOR")
	return &logger{w: f, quiet: quiet, color: !noColor && isTerminal(f), prefix: "reloadproxy"}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

const (
	colorReset  = "\x1b[0m"
	colorDim    = "\x1b[2m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
)

func (l *logger) line(color, level, msg string) {
	msg = escapeControls(msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := time.Now().Format("15:04:05")
	if l.midLine {
		io.WriteString(l.w, "\n")
		l.midLine = false
	}
	if l.color {
		fmt.Fprintf(l.w, "%s%s %s%s %s%s%s\n", colorDim, stamp, l.prefix, colorReset, color, msg, colorReset)
		return
	}
	if level != "" {
		level += ": "
	}
	fmt.Fprintf(l.w, "%s %s: %s%s\n", stamp, l.prefix, level, msg)
}

// serverOutput returns where the server's (and the build's) stdout and
// stderr go. Stderr goes to the log's destination, and so does stdout when
// it is the same file (a terminal): through a writer that tells the logger
// whether the server left a line unfinished, so that a log line never
// follows its text on the same line. The writer passes each write on at
// once, as it is. The same writer for both keeps the supervisor giving the
// server a single pipe for both, which keeps their order.
func (l *logger) serverOutput(stdout *os.File) (io.Writer, io.Writer) {
	tracked := &serverWriter{l}
	if f, ok := l.w.(*os.File); ok && !sameFile(f, stdout) {
		return stdout, tracked
	}
	return tracked, tracked
}

// serverWriter writes the server's output to its logger's destination.
type serverWriter struct{ l *logger }

func (s *serverWriter) Write(p []byte) (int, error) {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if n > 0 {
		l.midLine = p[n-1] != '\n'
	}
	return n, err
}

// sameFile reports whether a and b are open on the same file.
func sameFile(a, b *os.File) bool {
	sa, errA := a.Stat()
	sb, errB := b.Stat()
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// Info reports normal events; -q silences them.
func (l *logger) Info(msg string) {
	if !l.quiet {
		l.line(colorGreen, "", msg)
	}
}

func (l *logger) Warn(msg string)  { l.line(colorYellow, "warning", msg) }
func (l *logger) Error(msg string) { l.line(colorRed, "error", msg) }

func (l *logger) Warnf(format string, args ...any) { l.Warn(fmt.Sprintf(format, args...)) }

// escapeControls makes a log message safe for a terminal: the names it
// carries (file paths, hosts, commands) come from outside, and a control
// character in one could move the cursor, retitle the window (ESC ] ... BEL)
// or forge a log line (a newline). C0 and C1 controls, DEL and bytes that
// are not UTF-8 are written as Go escapes (\n, \x1b, \u009b); everything
// else, non-ASCII letters included, is kept. The backend's own output does
// not pass through here: it goes to the terminal as it is.
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
