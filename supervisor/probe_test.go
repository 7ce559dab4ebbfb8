//go:build linux

package supervisor

import (
	"context"
	"net"
	"testing"
	"time"
)

// A kick (the backend printed something) makes the probe find a server that
// starts listening late in the backoff at once, instead of up to 50 ms
// later. Probes run at 0, 1, 3, 7, 15, 31, 63, 113 ms: a server that
// listens at 70 ms is found at 113 ms, 43 ms late, without a kick.
func TestProbeKick(t *testing.T) {
	addr := freeAddr(t)
	kick := make(chan struct{}, 1)
	done := make(chan time.Time, 1)
	req := []byte("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if _, err := probe(ctx, addr, req, time.Second, kick); err == nil {
			done <- time.Now()
		}
	}()
	time.Sleep(70 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	listening := time.Now()
	answerEach(ln, "HTTP/1.1 200 OK\r\n\r\n")
	notify(kick)
	select {
	case at := <-done:
		if late := at.Sub(listening); late > 20*time.Millisecond {
			t.Errorf("kicked probe found the server %v after it listened, want at most 20ms", late)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("probe never succeeded")
	}
}

// Anything that is not an HTTP/1.x status line is not ready; the probe
// stops when ctx is done.
func TestProbeNotHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answerEach(ln, "SSH-2.0-OpenSSH_9.6\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = probe(ctx, ln.Addr().String(), []byte("HEAD / HTTP/1.1\r\n\r\n"), time.Second, nil)
	if err != context.DeadlineExceeded {
		t.Errorf("probe = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("probe returned %v after its deadline", d)
	}
}
