//go:build linux

package supervisor

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// printLogger prints log lines on stdout, for a helper process.
type printLogger struct{}

func (printLogger) Info(msg string)  { fmt.Println("log: info: " + msg) }
func (printLogger) Warn(msg string)  { fmt.Println("log: warn: " + msg) }
func (printLogger) Error(msg string) { fmt.Println("log: error: " + msg) }

// helperEMFILE runs in a child process of the test: it lowers its own
// RLIMIT_NOFILE, uses up every descriptor, runs a Supervisor (with a build
// when mode is "build") whose starts therefore fail with EMFILE, asks for a
// route (which gets the Failure once ReadyTimeout passed), frees the
// descriptors and reports whether the backend became ready.
func helperEMFILE(mode, addr string) {
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	// What the runtime opens once and lazily (the network poller) is
	// opened while descriptors are left.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ln.Close()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	lim.Cur = min(lim.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	var fds []int
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			if err != syscall.EMFILE {
				panic(err)
			}
			break
		}
		fds = append(fds, fd)
	}
	say("filled %d descriptors", len(fds))

	ready := make(chan readyCall, 10)
	cfg := Config{
		Addr: addr, Command: []string{exe, helperArg, "serve"},
		ReadyTimeout: 300 * time.Millisecond, Log: printLogger{},
		Stdout: io.Discard, Stderr: io.Discard,
		OnReady: func(g uint64, r ReloadReason) { ready <- readyCall{g, r} },
	}
	if mode == "build" {
		cfg.Build = "echo built"
	}
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if rt := s.Route(); rt.Failure != nil {
		say("route: %d %s", rt.Failure.Status, rt.Failure.Title)
		say("detail: %s", rt.Failure.Detail)
	} else {
		say("route: ok")
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
	say("freed")
	select {
	case c := <-ready:
		say("ready: generation %d %v", c.gen, c.reason)
	case <-time.After(10 * time.Second):
		say("not ready")
	}
	cancel()
	<-done
}

// A start that fails for lack of descriptors (EMFILE) is retried while
// requests wait, logged once, and the page says why; once descriptors are
// free the backend starts, with the first generation. Same for the build.
// The limit is lowered in a child process only.
func TestTransientStartFailureRetried(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ mode, what string }{
		{"backend", filepath.Base(exe)},
		{"build", "the build"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, helperArg, "emfile", tt.mode, freeAddr(t))
			cmd.WaitDelay = time.Second
			outb, err := cmd.CombinedOutput()
			out := string(outb)
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			title := "cannot start " + tt.what + ": too many open files; retrying"
			if !strings.Contains(out, "route: 503 "+title+"\n") {
				t.Errorf("the waiting request did not get the 503 %q:\n%s", title, out)
			}
			if !strings.Contains(out, "detail: reloadproxy could not start") || !strings.Contains(out, "keeps trying") {
				t.Errorf("Detail does not say it keeps trying:\n%s", out)
			}
			if n := strings.Count(out, "log: warn: "+title+"\n"); n != 1 {
				t.Errorf("the retry was logged %d times, want once per streak:\n%s", n, out)
			}
			if !strings.Contains(out, "ready: generation 1 started\n") {
				t.Errorf("the backend did not become ready once descriptors were free:\n%s", out)
			}
		})
	}
}

func TestTransientErrno(t *testing.T) {
	tests := []struct {
		err  error
		want syscall.Errno
	}{
		{os.NewSyscallError("pipe2", syscall.EMFILE), syscall.EMFILE},
		{&os.PathError{Op: "fork/exec", Path: "/usr/bin/python3", Err: syscall.EAGAIN}, syscall.EAGAIN},
		{fmt.Errorf("wrapped: %w", syscall.ENFILE), syscall.ENFILE},
		{syscall.ENOMEM, syscall.ENOMEM},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOENT}, 0},
		{errAddrInUse, 0},
	}
	for _, tt := range tests {
		if got := transientErrno(tt.err); got != tt.want {
			t.Errorf("transientErrno(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
