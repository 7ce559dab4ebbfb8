package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gobwas/ws"

	"reloadproxy/ws"
)

// BenchmarkBroadcast1000Tabs measures Hub.Reload until all of 1,000 real
// loopback WebSocket clients have read the frame. Allocations per op must
// not grow with the number of tabs: the frame is encoded once and the same
// bytes are queued to every tab (the clients below read without
// allocating, so they do not hide a per-tab cost).
func BenchmarkBroadcast1000Tabs(b *testing.B) {
	const tabs = 1000
	hub := ws.NewHub()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var servers sync.WaitGroup
	servers.Add(1)
	go func() {
		defer servers.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			servers.Add(1)
			go func() {
				defer servers.Done()
				hub.ServeConn(c, nil)
			}()
		}
	}()

	var (
		want     atomic.Uint64 // generation being broadcast
		received atomic.Int64
		done     = make(chan struct{}, 1)
		clients  sync.WaitGroup
		conns    []net.Conn
	)
	prefix := []byte(`{"type":"reload","generation":`)
	for range tabs {
		conn, br, _, err := gws.Dialer{Timeout: 10 * time.Second}.Dial(context.Background(), "ws://"+ln.Addr().String()+ws.SocketPath)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
		var r io.Reader = conn
		if br != nil {
			r = io.MultiReader(br, conn)
		}
		clients.Add(1)
		go func() {
			defer clients.Done()
			var hdr [gws.MaxHeaderSize - 2]byte
			var payload [256]byte
			for {
				h, err := gws.ReadHeaderBuffer(r, hdr[:])
				if err != nil || h.Length > int64(len(payload)) {
					return
				}
				p := payload[:h.Length]
				if _, err := io.ReadFull(r, p); err != nil {
					return
				}
				rest, ok := bytes.CutPrefix(p, prefix)
				if h.OpCode != gws.OpText || !ok {
					continue // hello, ping
				}
				var gen uint64
				for _, c := range rest[:len(rest)-1] {
					gen = gen*10 + uint64(c-'0')
				}
				if gen == want.Load() && received.Add(1) == tabs {
					done <- struct{}{}
				}
			}
		}()
	}
	for hub.Tabs() != tabs {
		time.Sleep(time.Millisecond)
	}

	timeout := time.NewTimer(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		gen := uint64(i + 1)
		received.Store(0)
		want.Store(gen)
		timeout.Reset(10 * time.Second)
		hub.Reload(gen, ws.Restart)
		select {
		case <-done:
		case <-timeout.C:
			b.Fatalf("broadcast %d: %d of %d tabs received it", gen, received.Load(), tabs)
		}
	}
	b.StopTimer()
	if n := hub.Tabs(); n != tabs {
		b.Errorf("%d tabs dropped", tabs-n)
	}

	ln.Close()
	hub.Close()
	for _, c := range conns {
		c.Close()
	}
	clients.Wait()
	servers.Wait()
}
