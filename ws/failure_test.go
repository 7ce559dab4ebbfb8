package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
)

// buildFailedMessage is a decoded build-failed message.
type buildFailedMessage struct {
	Type    string `json:"type"`
	Command string `json:"command"`
	Exit    string `json:"exit"`
	Output  string `json:"output"`
}

// expectBuildFailed reads the next frame and checks it is the build-failed
// message for f: valid JSON whose strings are f's, invalid UTF-8 replaced.
func (c *client) expectBuildFailed(f BuildFailure) {
	c.t.Helper()
	fr := c.next()
	var got buildFailedMessage
	if err := json.Unmarshal(fr.payload, &got); err != nil {
		c.t.Fatalf("build-failed frame %q: %v", fr.payload, err)
	}
	want := buildFailedMessage{"build-failed", validUTF8(f.Command), validUTF8(f.Exit), validUTF8(string(f.Output))}
	if got != want {
		c.t.Fatalf("build-failed: -want +got\n-%+q\n+%+q", want, got)
	}
}

// validUTF8 replaces each byte of invalid UTF-8 in s by U+FFFD, as
// appendJSONString does.
func validUTF8(s string) string { return string([]rune(s)) }

// expectNoMore pings and checks that the pong is the next frame: nothing
// was queued for the tab before it.
func (c *client) expectNoMore(what string) {
	c.t.Helper()
	c.write(masked(ws.OpPing), []byte(what))
	if f := c.next(); f.h.OpCode != ws.OpPong || string(f.payload) != what {
		c.t.Fatalf("%s: want only the pong, got op %v %q", what, f.h.OpCode, f.payload)
	}
}

func TestBuildFailed(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	h := s.hub
	first := BuildFailure{
		Command: `go build -o "app" .`,
		Exit:    "exit 2",
		Output:  []byte("# example\r\n\x1b[1;31m./main.go:5:2:\x1b[0m undefined: <b>x</b>\n\xff\xfe \"quoted\" \\ \x00\x07\t\x1b]8;;file:///x\x07link\x1b]8;;\x07\n"),
	}
	second := BuildFailure{Command: "make", Exit: "killed by SIGSEGV", Output: []byte("panic: runtime error\n")}

	a := s.dialHello(t, 0)
	h.BuildFailed(first)
	a.expectBuildFailed(first)
	// The exact encoding, once: control characters escaped, the bad bytes
	// replaced, nothing else touched.
	b := s.dialHello(t, 0) // connects while the failure stands: replayed after hello
	f := b.next()
	const want = `{"type":"build-failed","command":"go build -o \"app\" .","exit":"exit 2","output":"# example\r\n\u001b[1;31m./main.go:5:2:\u001b[0m undefined: <b>x</b>\n\ufffd\ufffd \"quoted\" \\ \u0000\u0007\t\u001b]8;;file:///x\u0007link\u001b]8;;\u0007\n"}`
	if string(f.payload) != want {
		t.Fatalf("replayed frame: -want +got\n-%s\n+%s", want, f.payload)
	}

	// A later failure replaces it, for open tabs and for tabs to come.
	h.BuildFailed(second)
	a.expectBuildFailed(second)
	b.expectBuildFailed(second)
	c := s.dialHello(t, 0)
	c.expectBuildFailed(second)
	c.expectNoMore("only the last failure is replayed")

	// Building does not withdraw it.
	h.Building()
	a.expectText(`{"type":"building"}`)
	s.dialHello(t, 0).expectBuildFailed(second)

	// Any Reload withdraws it: later tabs get hello and nothing more.
	for i, kind := range []ReloadKind{Change, Restart, Failure} {
		gen := uint64(20 + i)
		h.BuildFailed(first)
		a.expectBuildFailed(first)
		h.Reload(gen, kind)
		a.expectText(fmt.Sprintf(`{"type":"reload","generation":%d,"kind":"%s"}`, gen, kind))
		d := s.dialHelloKind(t, gen, kind)
		d.expectNoMore("no failure after " + kind.String())
	}
}

// TestBuildFailedWhileConnecting checks that a tab connecting while a
// failure is being broadcast sees it exactly once: replayed after hello or
// broadcast, never both, never neither.
func TestBuildFailedWhileConnecting(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	fail := BuildFailure{Command: "make", Exit: "exit 1", Output: []byte("error: x\n")}
	const n = 20
	var wg sync.WaitGroup
	tabs := make(chan *client, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.dial(t, SocketPath)
			tabs <- c
		}()
	}
	// Some tabs are in before the failure (broadcast), some connect after
	// (replay), some race with it.
	waitFor(t, "half the tabs", func() bool { return s.hub.Tabs() >= n/2 })
	s.hub.BuildFailed(fail)
	wg.Wait()
	close(tabs)
	for c := range tabs {
		c.expectText(`{"type":"hello","generation":0,"kind":"restart"}`)
		c.expectBuildFailed(fail)
		c.expectNoMore("exactly once")
	}
}

func TestOutputTail(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		out  string
		max  int
		want string
	}{
		{"short", "a\nb\n", 10, "a\nb\n"},
		{"exact", "0123456789", 10, "0123456789"},
		{"from a line start", "line one\nline two\nend\n", 10, "end\n"},
		{"cut line dropped", "aaaa\nbbbbbbb\ncc\n", 10, "cc\n"},
		{"one long line kept cut", long, 10, long[:10]},
		{"no line start within", "abcdefghij\n", 5, "ghij\n"},
		{"only the last newline", "abcdefghijklm\n", 4, "klm\n"},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(outputTail([]byte(tt.out), tt.max)); got != tt.want {
				t.Errorf("outputTail(%q, %d): -want +got\n-%q\n+%q", tt.out, tt.max, tt.want, got)
			}
		})
	}
}

func TestBuildFailedOutputBound(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	a := s.dialHello(t, 0)
	var out bytes.Buffer
	for i := 0; out.Len() < 3*maxFailureOutput; i++ {
		fmt.Fprintf(&out, "line %d: \x1b[31merror\x1b[0m\n", i)
	}
	s.hub.BuildFailed(BuildFailure{Command: "make", Exit: "exit 2", Output: out.Bytes()})
	var got buildFailedMessage
	if err := json.Unmarshal(a.next().payload, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Output) > maxFailureOutput || !strings.HasPrefix(got.Output, "line ") || !strings.HasSuffix(out.String(), got.Output) {
		t.Errorf("output: %d bytes, starts %q; want the last lines, at most %d bytes", len(got.Output), got.Output[:min(len(got.Output), 20)], maxFailureOutput)
	}
}
