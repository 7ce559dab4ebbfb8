package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// streamFirstEventDelay requests addr's /events and returns how long the
// stream's first event took to arrive, from the request's start.
func streamFirstEventDelay(client *http.Client, addr string) (time.Duration, error) {
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/events")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if lines.Text() == "data: first" {
			delay := time.Since(start)
			for lines.Scan() { // the rest, so that the connection is kept
			}
			return delay, lines.Err()
		}
	}
	return 0, fmt.Errorf("the stream ended without its first event (%v)", lines.Err())
}

// BenchmarkStreamDelay measures how soon each target of the side-by-side
// bed passes on an event of a stream whose next event is still 100 ms
// away (the backend's /events): from the request's start to the first
// event's arrival, median and worst of 10 requests over one kept
// connection.
//
//	go test ./bench/ -run '^$' -bench BenchmarkStreamDelay -benchtime 1x -v
//
// A proxy that holds partial responses in the kernel (send with MSG_MORE,
// HAProxy's default) sends fewer, fuller segments, which makes the
// throughput of the body workloads of BenchmarkSideBySide better: the load
// generator and the backend are woken less often. Its cost is here: the
// kernel sends a held piece only when more comes or after about 200 ms.
// reloadproxy writes what it has before it waits for the backend, so a
// server-sent event or a streamed render arrives at once.
func BenchmarkStreamDelay(b *testing.B) {
	reportProxyOnce(b, func() []proxyMetric {
		bin := *sideBinFlag
		if bin == "" {
			bin = reloadproxyBinary(b)
		}
		bed := startSideBySide(b, bin, 0, false)
		var metrics []proxyMetric
		var sb strings.Builder
		sb.WriteString("\nfirst event of a stream whose next event is 100 ms away, 10 requests\n")
		sb.WriteString("| target | median ms | worst ms |\n|---|---|---|\n")
		for _, t := range bed.targets {
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
			var delays []float64
			for range 10 {
				d, err := streamFirstEventDelay(client, t.addr)
				if err != nil {
					b.Fatalf("%s: %v", t.name, err)
				}
				delays = append(delays, float64(d.Microseconds())/1000)
			}
			client.CloseIdleConnections()
			median, worst := sideMedian(delays), slices.Max(delays)
			fmt.Fprintf(&sb, "| %s | %.1f | %.1f |\n", t.name, median, worst)
			metrics = append(metrics, proxyMetric{median, t.name + "-first-event-ms"})
		}
		b.Log(strings.TrimSuffix(sb.String(), "\n"))
		return metrics
	})
}
