package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
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
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
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
