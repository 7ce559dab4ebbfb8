package bench

// Proxy throughput, measured the way DESIGN.md's performance targets are
// stated: wrk-style keep-alive load on loopback against the backend itself
// ("direct"), against reloadproxy's proxy.Server in front of it, and
// against net/http/httputil.ReverseProxy in front of it, all in one
// process and one run.
//
//	go test ./bench/ -run '^$' -bench 'BenchmarkProxy$' -benchtime 1s
//	go test ./bench/ -run '^$' -bench 'BenchmarkProxyCanned$'   # allocs/op of the proxy alone
//	go test ./bench/ -run '^$' -bench 'BenchmarkProxyRatios$'   # ~40 s; the figures DESIGN.md targets
//	go test ./bench/ -run '^$' -bench 'BenchmarkProxyWrk$'      # needs wrk on PATH
//
// Take figures on a quiet machine: the load generator, the proxy and the
// backend share its cores.

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	proxyWindowFlag = flag.Duration("proxy.window", time.Second,
		"BenchmarkProxyRatios: length of one throughput measurement")
	proxyRoundsFlag = flag.Int("proxy.rounds", 3,
		"BenchmarkProxyRatios: interleaved measurements per target and scenario; the median counts")
	proxyCannedFlag = flag.Bool("proxy.canned", false,
		"BenchmarkProxyRatios, BenchmarkProxyWrk: use the canned backend instead of net/http")
	proxyWrkTimeFlag = flag.Duration("proxy.wrktime", 3*time.Second,
		"BenchmarkProxyWrk: wrk's -d for each target and scenario")
)

// proxyScenario is one kind of load.
type proxyScenario struct {
	name  string
	path  string
	body  int // response body length
	conns int // keep-alive connections (wrk -c)
	// goal is DESIGN.md's lowest acceptable reloadproxy/direct throughput.
	goal float64
}

var proxyScenarios = []proxyScenario{
	{name: "small", path: "/small", body: len(proxySmallBody), conns: proxyMaxConns, goal: 0.65},
	{name: "64k", path: "/64k", body: len(proxyLargeBody), conns: proxyMaxConns, goal: 0.90},
	{name: "chunked", path: "/chunked", body: proxyChunkSize * proxyChunkCount, conns: proxyMaxConns, goal: 0.95},
	{name: "small-1conn", path: "/small", body: len(proxySmallBody), conns: 1, goal: 0.65},
}

// BenchmarkProxy measures each scenario against each target in front of a
// net/http backend. allocs/op counts the whole process: load generator
// (none), proxy and the net/http backend.
func BenchmarkProxy(b *testing.B) { benchProxyTargets(b, false) }

// BenchmarkProxyCanned is BenchmarkProxy in front of a canned backend that
// allocates nothing, so the reloadproxy rows' allocs/op are the proxy's own
// (DESIGN.md: 0 per proxied request in steady state).
func BenchmarkProxyCanned(b *testing.B) { benchProxyTargets(b, true) }

func benchProxyTargets(b *testing.B, canned bool) {
	targets := startProxyTargets(b, canned)
	for _, sc := range proxyScenarios {
		b.Run(sc.name, func(b *testing.B) {
			for _, tgt := range targets {
				b.Run(tgt.name, func(b *testing.B) { benchProxyLoad(b, sc, tgt.addr) })
			}
		})
	}
}

// benchProxyLoad sends b.N requests of scenario sc to addr, shared by the
// scenario's connections.
func benchProxyLoad(b *testing.B, sc proxyScenario, addr string) {
	g, err := dialProxyWarm(sc, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer g.close()
	b.ReportAllocs()
	b.SetBytes(int64(sc.body))
	b.ResetTimer()
	err = g.runN(int64(b.N))
	b.StopTimer()
	if err != nil {
		b.Fatalf("%s through %s: %v", sc.path, addr, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// dialProxyWarm opens the scenario's connections to addr and sends a few
// requests on each, so that proxies have paired or pooled their backend
// connections and buffers before anything is timed.
func dialProxyWarm(sc proxyScenario, addr string) (*loadGen, error) {
	g, err := dialLoad(addr, sc.path, sc.conns, sc.body)
	if err != nil {
		return nil, err
	}
	for _, lc := range g.conns {
		for range 2 {
			if err := lc.roundTrip(); err != nil {
				g.close()
				return nil, err
			}
		}
	}
	if err := g.runN(int64(8 * sc.conns)); err != nil { // concurrently, to grow pools
		g.close()
		return nil, err
	}
	return g, nil
}

// proxyMetric is one b.ReportMetric argument pair.
type proxyMetric struct {
	value float64
	unit  string
}

// proxyMeasured holds the metrics of the long comparison benchmarks by the
// *testing.B that measured them. The testing package calls a benchmark
// again with a larger b.N on the same B when the first call was shorter
// than -benchtime (or for -benchtime=Nx); those calls report the same
// figures instead of measuring again. -count makes a new B and so a new
// measurement.
var proxyMeasured = map[*testing.B][]proxyMetric{}

func reportProxyOnce(b *testing.B, measure func() []proxyMetric) {
	ms, ok := proxyMeasured[b]
	if !ok {
		ms = measure()
		proxyMeasured[b] = ms
	}
	for _, m := range ms {
		b.ReportMetric(m.value, m.unit)
	}
	b.ReportMetric(0, "ns/op") // one op is the whole comparison: hide it
}

// BenchmarkProxyRatios measures, for every scenario, the throughput of
// direct, reloadproxy and reverseproxy in interleaved fixed-length windows
// (-proxy.window, default 1 s; -proxy.rounds rounds, default 3, the target
// order rotating each round) and reports the median ratios
// reloadproxy/direct ("<scenario>-vs-direct") and
// reloadproxy/reverseproxy ("<scenario>-vs-reverseproxy"). It reports the
// DESIGN.md goals next to them but asserts nothing: timings are not a test.
func BenchmarkProxyRatios(b *testing.B) {
	reportProxyOnce(b, func() []proxyMetric {
		targets := startProxyTargets(b, *proxyCannedFlag)
		rounds := max(*proxyRoundsFlag, 1)
		rows := make([]proxyRatioRow, 0, len(proxyScenarios))
		for _, sc := range proxyScenarios {
			gens := make([]*loadGen, len(targets))
			for i, tgt := range targets {
				g, err := dialProxyWarm(sc, tgt.addr)
				if err != nil {
					b.Fatalf("%s: %s: %v", sc.name, tgt.name, err)
				}
				defer g.close()
				gens[i] = g
			}
			samples := make([][]float64, len(targets))
			for r := range rounds {
				for k := range targets {
					i := (r + k) % len(targets)
					rps, err := gens[i].runFor(*proxyWindowFlag)
					if err != nil {
						b.Fatalf("%s: %s: %v", sc.name, targets[i].name, err)
					}
					samples[i] = append(samples[i], rps)
				}
			}
			for _, g := range gens {
				g.close()
			}
			rows = append(rows, newProxyRatioRow(sc, samples))
		}
		logProxyRatios(b, "in-process load generator", rows)
		return proxyRatioMetrics(rows)
	})
}

// proxyRatioRow is one scenario's result: median throughput per target
// (direct, reloadproxy, reverseproxy) and the relative spread of the
// samples behind each median (-1 for a single sample).
type proxyRatioRow struct {
	sc     proxyScenario
	rps    [3]float64
	spread [3]float64
}

func newProxyRatioRow(sc proxyScenario, samples [][]float64) proxyRatioRow {
	row := proxyRatioRow{sc: sc}
	for i, s := range samples {
		s = slices.Clone(s)
		slices.Sort(s)
		m := s[len(s)/2]
		if len(s)%2 == 0 {
			m = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		row.rps[i] = m
		row.spread[i] = -1 // one sample: no spread
		if m > 0 && len(s) > 1 {
			row.spread[i] = (s[len(s)-1] - s[0]) / m
		}
	}
	return row
}

// cell formats target i's throughput for the table.
func (r proxyRatioRow) cell(i int) string {
	if r.spread[i] < 0 {
		return fmt.Sprintf("%.0f", r.rps[i])
	}
	return fmt.Sprintf("%.0f ±%.1f%%", r.rps[i], 100*r.spread[i])
}

func (r proxyRatioRow) vsDirect() float64  { return r.rps[1] / r.rps[0] }
func (r proxyRatioRow) vsReverse() float64 { return r.rps[1] / r.rps[2] }

func proxyRatioMetrics(rows []proxyRatioRow) []proxyMetric {
	var ms []proxyMetric
	for _, r := range rows {
		ms = append(ms,
			proxyMetric{r.vsDirect(), r.sc.name + "-vs-direct"},
			proxyMetric{r.vsReverse(), r.sc.name + "-vs-reverseproxy"})
	}
	return ms
}

func logProxyRatios(b *testing.B, how string, rows []proxyRatioRow) {
	var sb strings.Builder
	backend := "net/http backend"
	if *proxyCannedFlag {
		backend = "canned backend"
	}
	fmt.Fprintf(&sb, "throughput in req/s (median of the samples; ± is (max-min)/median), %s, %s:\n", how, backend)
	fmt.Fprintf(&sb, "%-12s %5s %16s %16s %16s %21s %10s\n",
		"scenario", "conns", "direct", "reloadproxy", "reverseproxy", "reload/direct goal", "reload/rp")
	for _, r := range rows {
		verdict := "meets"
		if r.vsDirect() < r.sc.goal {
			verdict = "BELOW"
		}
		fmt.Fprintf(&sb, "%-12s %5d %16s %16s %16s %5.3f %s %.2f %10.3f\n",
			r.sc.name, r.sc.conns, r.cell(0), r.cell(1), r.cell(2),
			r.vsDirect(), verdict, r.sc.goal, r.vsReverse())
	}
	b.Log(strings.TrimSuffix(sb.String(), "\n"))
}

var proxyWrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)

// BenchmarkProxyWrk is BenchmarkProxyRatios with wrk as the load
// generator (one measurement of -proxy.wrktime per target, wrk -t2 -c32,
// or -t1 -c1 for the one-connection scenario). It is skipped when wrk is
// not on PATH. wrk runs as its own process, so it also checks that the
// in-process generator does not flatter or handicap any target.
func BenchmarkProxyWrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not on PATH (apt-get install wrk); BenchmarkProxyRatios measures the same with the in-process load generator")
	}
	reportProxyOnce(b, func() []proxyMetric {
		targets := startProxyTargets(b, *proxyCannedFlag)
		var rows []proxyRatioRow
		for _, sc := range proxyScenarios {
			samples := make([][]float64, len(targets))
			for i, tgt := range targets {
				threads := min(2, sc.conns)
				out, err := exec.Command(wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(sc.conns),
					"-d"+strconv.Itoa(max(1, int(proxyWrkTimeFlag.Seconds())))+"s",
					"http://"+tgt.addr+sc.path).CombinedOutput()
				if err != nil {
					b.Fatalf("wrk %s %s: %v\n%s", sc.name, tgt.name, err, out)
				}
				if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
					b.Fatalf("wrk %s %s: errors:\n%s", sc.name, tgt.name, out)
				}
				m := proxyWrkRate.FindSubmatch(out)
				if m == nil {
					b.Fatalf("wrk %s %s: no Requests/sec in:\n%s", sc.name, tgt.name, out)
				}
				rps, _ := strconv.ParseFloat(string(m[1]), 64)
				samples[i] = []float64{rps}
			}
			rows = append(rows, newProxyRatioRow(sc, samples))
		}
		logProxyRatios(b, "wrk", rows)
		return proxyRatioMetrics(rows)
	})
}

// TestProxyLoadGeneratorSanity runs every scenario through every target in
// front of both backends: each response body must be byte for byte what the
// backend sent (checked with net/http's client), and 200 requests through
// the load generator must succeed. It keeps the benchmark harness working
// in CI, where benchmarks do not run.
func TestProxyLoadGeneratorSanity(t *testing.T) {
	want := map[string][]byte{
		"/small":   proxySmallBody,
		"/64k":     proxyLargeBody,
		"/chunked": proxyLargeBody,
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, backend := range []string{"nethttp", "canned"} {
		t.Run(backend, func(t *testing.T) {
			targets := startProxyTargets(t, backend == "canned")
			for _, sc := range proxyScenarios {
				for _, tgt := range targets {
					t.Run(sc.name+"/"+tgt.name, func(t *testing.T) {
						resp, err := client.Get("http://" + tgt.addr + sc.path)
						if err != nil {
							t.Fatal(err)
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want[sc.path]) {
							t.Fatalf("GET %s: status %d, %d bytes (err %v), want 200 and the backend's %d bytes",
								sc.path, resp.StatusCode, len(body), err, len(want[sc.path]))
						}
						g, err := dialProxyWarm(sc, tgt.addr)
						if err != nil {
							t.Fatal(err)
						}
						defer g.close()
						if err := g.runN(200); err != nil {
							t.Fatal(err)
						}
					})
				}
			}
		})
	}
}
