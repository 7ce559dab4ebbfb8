package supervisor

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

func TestLastLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		max  int
		want string
	}{
		{"empty", "", 3, 100, ""},
		{"fewer lines", "a\nb\n", 3, 100, "a\nb\n"},
		{"exactly n", "a\nb\nc\n", 3, 100, "a\nb\nc\n"},
		{"more lines", "a\nb\nc\nd\n", 3, 100, "b\nc\nd\n"},
		{"no final newline", "a\nb\nc\nd", 3, 100, "b\nc\nd"},
		{"byte cut at line start", "aaaa\nbb\ncc\n", 10, 6, "bb\ncc\n"},
		{"byte cut mid line", "aaaa\nbbbb\ncc\n", 10, 7, "cc\n"},
		{"one long line", "abcdefgh", 10, 4, "efgh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(lastLines([]byte(tt.in), tt.n, tt.max)); got != tt.want {
				t.Errorf("lastLines(%q, %d, %d) = %q, want %q", tt.in, tt.n, tt.max, got, tt.want)
			}
		})
	}
}

func TestTailInterleavesLines(t *testing.T) {
	var tl tail
	var passOut, passErr bytes.Buffer
	out, errw := tl.writer(&passOut), tl.writer(&passErr)
	fmt.Fprint(out, "out 1\nout ")
	fmt.Fprint(errw, "err 1\n")
	fmt.Fprint(out, "2\n")
	fmt.Fprint(errw, "err unfinished")
	want := "out 1\nerr 1\nout 2\nerr unfinished\n"
	if got := string(tl.snapshot()); got != want {
		t.Errorf("snapshot = %q, want %q", got, want)
	}
	tl.flush()
	if got := string(tl.snapshot()); got != want {
		t.Errorf("after flush = %q, want %q", got, want)
	}
	if passOut.String() != "out 1\nout 2\n" || passErr.String() != "err 1\nerr unfinished" {
		t.Errorf("pass-through: %q, %q", passOut.String(), passErr.String())
	}
}

func TestTailBounds(t *testing.T) {
	var tl tail
	w := tl.writer(nil)
	for i := range 10000 {
		fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("x", i%50))
	}
	got := tl.snapshot()
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != tailMaxLines || !strings.HasPrefix(lines[len(lines)-1], "line 9999 ") || !strings.HasPrefix(lines[0], "line 9960 ") {
		t.Errorf("snapshot has %d lines from %q to %q, want 40 lines 9960..9999", len(lines), lines[0], lines[len(lines)-1])
	}
	if len(tl.buf) >= 2*tailMaxBytes {
		t.Errorf("buffer grew to %d bytes", len(tl.buf))
	}
	long := bytes.Repeat([]byte("y"), 3*tailMaxBytes)
	w.Write(long)
	if got := tl.snapshot(); len(got) > tailMaxBytes {
		t.Errorf("snapshot of a long line is %d bytes, want at most %d", len(got), tailMaxBytes)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"python3", "python3"},
		{"./manage.py", "./manage.py"},
		{"--bind=127.0.0.1:8001", "--bind=127.0.0.1:8001"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got, want := quoteCommand([]string{"sh", "-c", "echo hi"}), "sh -c 'echo hi'"; got != want {
		t.Errorf("quoteCommand = %s, want %s", got, want)
	}
}

func TestIsStatusLine(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"HTTP/1.1 200", true},
		{"HTTP/1.0 404", true},
		{"HTTP/1.1 101", true},
		{"HTTP/2.0 200", false},
		{"HTTP/1.1 20x", false},
		{"HTTP/1.1  200", false},
		{"SSH-2.0-Open", false},
		{"HTTP/1.1 2", false},
	}
	for _, tt := range tests {
		if got := isStatusLine([]byte(tt.in)); got != tt.want {
			t.Errorf("isStatusLine(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSameDestination(t *testing.T) {
	var a, b bytes.Buffer
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f2, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	other, err := os.CreateTemp(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tests := []struct {
		name string
		a, b io.Writer
		want bool
	}{
		{"same buffer", &a, &a, true},
		{"two buffers", &a, &b, false},
		{"same file value", f, f, true},
		{"same file opened twice", f, f2, true},
		{"different files", f, other, false},
		{"file and buffer", f, &a, false},
		{"uncomparable", writerFunc(nil), writerFunc(nil), false},
	}
	for _, tt := range tests {
		if got := sameDestination(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: sameDestination = %v, want %v", tt.name, got, tt.want)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
