package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
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

func TestLoggerNoColorWithoutTerminalOrWithNO_COLOR(t *testing.T) {
	f, err := openDevNull(t)
	if err != nil {
		t.Fatal(err)
	}
	if newLogger(f, false).color {
		t.Error("colours on a file that is not a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if newLogger(f, false).color {
		t.Error("colours with NO_COLOR set")
	}
}

func openDevNull(t *testing.T) (*os.File, error) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}
