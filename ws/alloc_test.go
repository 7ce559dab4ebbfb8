//go:build !race

package ws

import (
	"bytes"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestBroadcastAllocs checks the broadcast contract: one allocation per
// Reload (the frame, encoded once), whatever the number of tabs.
func TestBroadcastAllocs(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, testConfig(), nil)
	for _, tabs := range []int{1, 50} {
		t.Run(strconv.Itoa(tabs), func(t *testing.T) {
			var received atomic.Int64
			done := make(chan struct{}, 1)
			for range tabs {
				c := s.dial(t, SocketPath)
				c.next() // hello
				go func() {
					// Reads without allocating, so that AllocsPerRun sees only
					// the Hub's allocations.
					var hdr [ws.MaxHeaderSize - 2]byte
					var payload [256]byte
					for {
						h, err := ws.ReadHeaderBuffer(c.r, hdr[:])
						if err != nil || h.Length > int64(len(payload)) {
							return
						}
						p := payload[:h.Length]
						if _, err := io.ReadFull(c.r, p); err != nil {
							return
						}
						if bytes.HasPrefix(p, []byte(`{"type":"reload"`)) && received.Add(1) == int64(tabs) {
							done <- struct{}{}
						}
					}
				}()
				c.conn.SetReadDeadline(time.Time{})
			}
			gen := s.hub.Generation()
			timeout := time.NewTimer(time.Hour)
			allocs := testing.AllocsPerRun(100, func() {
				gen++
				received.Store(0)
				timeout.Reset(5 * time.Second)
				s.hub.Reload(gen, ReloadKind(gen%uint64(numKinds)))
				select {
				case <-done:
				case <-timeout.C:
					t.Fatalf("%d of %d tabs received the broadcast", received.Load(), tabs)
				}
			})
			if allocs > 1 {
				t.Errorf("Reload to %d tabs: %v allocations, want 1", tabs, allocs)
			}
		})
	}
}
