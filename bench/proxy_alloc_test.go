//go:build !race

package bench

import "testing"

// TestProxyLoadGeneratorAllocs checks that the load generator and the
// canned backend allocate nothing per request, which is what makes
// BenchmarkProxyCanned's allocs/op the proxy's own.
func TestProxyLoadGeneratorAllocs(t *testing.T) {
	backend := startProxyCannedBackend(t)
	for _, sc := range proxyScenarios {
		t.Run(sc.name, func(t *testing.T) {
			g, err := dialProxyWarm(proxyScenario{path: sc.path, body: sc.body, conns: 1}, backend)
			if err != nil {
				t.Fatal(err)
			}
			defer g.close()
			lc := g.conns[0]
			allocs := testing.AllocsPerRun(200, func() {
				if err := lc.roundTrip(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("a %s request to the canned backend allocated %v times, want 0", sc.path, allocs)
			}
		})
	}
}
