//go:build linux && !race

package supervisor

import (
	"testing"
	"time"
)

// Route in Running is the proxy's hot path: no allocation, with or without
// IdleStop's activity stamp.
func TestRouteAllocs(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Hour} {
		t.Run("IdleStop="+idle.String(), func(t *testing.T) {
			r := start(t, Config{Addr: freeAddr(t), Command: helperCommand(t, "serve"), IdleStop: idle})
			r.rec.waitReady(10 * time.Second)
			var rt Route
			allocs := testing.AllocsPerRun(1000, func() { rt = r.Route() })
			if allocs != 0 {
				t.Errorf("Route allocates %v times per call in Running, want 0", allocs)
			}
			if rt.Failure != nil || rt.Generation != 1 {
				t.Errorf("Route = %+v", rt)
			}
		})
	}
}

func BenchmarkRouteRunning(b *testing.B) {
	r := start(b, Config{Addr: freeAddr(b), Command: helperCommand(b, "serve"), IdleStop: time.Hour})
	r.rec.waitReady(10 * time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r.Route().Failure != nil {
				b.Error("not running")
			}
		}
	})
}
