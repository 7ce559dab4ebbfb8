package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLoggerQuietAndColour(t *testing.T) {
	tests := []struct {
		name        string
		color       bool
		quiet       bool
		wantInfo    bool
		wantEscapes bool
	}{
		{"plain", false, false, true, false},
		{"quiet keeps warnings", false, true, false, false},
		{"colour on a terminal", true, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &logger{w: &buf, color: tt.color, quiet: tt.quiet, prefix: "reloadproxy"}
			l.Info("ready in 212 ms")
			l.Warn("port busy")
			out := buf.String()
			if strings.Contains(out, "ready in 212 ms") != tt.wantInfo {
				t.Errorf("info shown = %v, want %v:\n%q", !tt.wantInfo, tt.wantInfo, out)
			}
			if !strings.Contains(out, "port busy") {
				t.Errorf("warnings are never silenced:\n%q", out)
			}
			if strings.Contains(out, "\x1b[") != tt.wantEscapes {
				t.Errorf("escape codes = %v, want %v:\n%q", !tt.wantEscapes, tt.wantEscapes, out)
			}
		})
	}
}

func TestLoggerColourOnlyOnTerminalWithoutNO_COLOR(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	tty := openPTY(t)
	t.Setenv("NO_COLOR", "x")
	os.Unsetenv("NO_COLOR")
	if newLogger(null, false).color {
		t.Error("colours on a file that is not a terminal")
	}
	if !newLogger(tty, false).color {
		t.Error("no colours on a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if newLogger(tty, false).color {
		t.Error("colours on a terminal with NO_COLOR set")
	}
}

// openPTY opens the terminal side of a new pseudo-terminal.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	_, tty := openPTYPair(t)
	return tty
}

// openPTYPair opens a new pseudo-terminal: its master side, whose close
// hangs the terminal up, and its terminal side. Both are closed when the
// test ends, if the test has not closed them.
func openPTYPair(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

func TestEscapeControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain/path.py changed", "plain/path.py changed"},
		{"café/ünïcode.txt", "café/ünïcode.txt"},
		{"\x1b]0;pwned\x07.txt", `\x1b]0;pwned\x07.txt`},
		{"two\nlines: 12:00:00 reloadproxy: forged", `two\nlines: 12:00:00 reloadproxy: forged`},
		{"tab\there\rcr", `tab\there\rcr`},
		{"del\x7f", `del\x7f`},
		{"c1 csi \u009b31m", `c1 csi \u009b31m`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	}
	for _, tt := range tests {
		if got := escapeControls(tt.in); got != tt.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLogLineAfterServerOutput: a log line starts a line of its own after
// the server's output, whatever that output ended with, and the server's
// bytes are passed on unchanged.
func TestLogLineAfterServerOutput(t *testing.T) {
	tests := []struct {
		name   string
		server []string // the server's writes, in order
		quiet  bool     // -q: the Info line is not printed, the Warn line is
		want   string   // with the stamps replaced by HH:MM:SS
	}{
		{"nothing from the server", nil, false,
			"HH:MM:SS reloadproxy: ready\nHH:MM:SS reloadproxy: warning: careful\n"},
		{"a whole line", []string{"Serving HTTP\n"}, false,
			"Serving HTTP\nHH:MM:SS reloadproxy: ready\nHH:MM:SS reloadproxy: warning: careful\n"},
		{"a line without its newline yet", []string{"Serving HTTP"}, false,
			"Serving HTTP\nHH:MM:SS reloadproxy: ready\nHH:MM:SS reloadproxy: warning: careful\n"},
		{"a line in pieces, the last unfinished", []string{"one\ntw", "o\nthr", "ee"}, false,
			"one\ntwo\nthree\nHH:MM:SS reloadproxy: ready\nHH:MM:SS reloadproxy: warning: careful\n"},
		{"an empty write changes nothing", []string{"Serving", ""}, false,
			"Serving\nHH:MM:SS reloadproxy: ready\nHH:MM:SS reloadproxy: warning: careful\n"},
		{"a silenced line writes no newline", []string{"Serving"}, true,
			"Serving\nHH:MM:SS reloadproxy: warning: careful\n"},
	}
	stamp := regexp.MustCompile(`\d\d:\d\d:\d\d`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &logger{w: &buf, quiet: tt.quiet, prefix: "reloadproxy"}
			stdout, stderr := l.serverOutput(os.Stdout)
			if stdout != stderr {
				t.Fatal("a log that is not a file gets two server writers, want one")
			}
			for _, w := range tt.server {
				if n, err := stderr.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			l.Info("ready")
			l.Warn("careful")
			if got := stamp.ReplaceAllString(buf.String(), "HH:MM:SS"); got != tt.want {
				t.Errorf("output:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// TestServerOutputDestinations: the server's stdout goes through the
// logger only when it is the log's own file; an unfinished line in another
// file is no reason for a newline in the log.
func TestServerOutputDestinations(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	logFile, otherFile, logAgain := open("log"), open("other"), open("log")

	l := &logger{w: logFile, prefix: "reloadproxy"}
	if stdout, stderr := l.serverOutput(logAgain); stdout != stderr {
		t.Errorf("stdout open on the log's file: two server writers, want one (one pipe keeps the order)")
	}
	stdout, stderr := l.serverOutput(otherFile)
	if stdout != io.Writer(otherFile) {
		t.Fatalf("stdout open on another file: %T, want that file itself", stdout)
	}
	stdout.Write([]byte("stdout, unfinished"))
	stderr.Write([]byte("stderr line\n"))
	l.Info("ready")
	got, _ := os.ReadFile(filepath.Join(dir, "log"))
	if !regexp.MustCompile(`^stderr line\n\d\d:\d\d:\d\d reloadproxy: ready\n$`).Match(got) {
		t.Errorf("log file:\n%q\nwant the server's stderr line, then the log line", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "other")); string(got) != "stdout, unfinished" {
		t.Errorf("other file: %q, want the server's stdout as it was written", got)
	}
}
