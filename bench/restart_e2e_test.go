package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkE2ERestart measures, through the built binary, what a user
// waits for after saving a file: python's http.server restarted by
// reloadproxy, from the change to the first 200 through the proxy. Each
// round also starts python directly to subtract its own start time; the
// difference is the debounce (50 ms) plus the proxy's own cost.
//
//	go test ./bench -run '^$' -bench E2ERestart -benchtime 10x
func BenchmarkE2ERestart(b *testing.B) {
	python, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 not found")
	}
	dir := b.TempDir()
	port := freePort(b)
	p := startReloadproxy(b, dir, "LISTEN", "127.0.0.1:"+port, "--exec", python, "-m", "http.server", "--bind", "127.0.0.1", port)
	p.out.waitCount(b, "ready in", 1, 30*time.Second)

	var toFirst200, direct []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		direct = append(direct, pythonStartTime(b, python))
		// A request on a kept-alive connection: its close tells when the
		// proxy left Running.
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		b.StartTimer()

		t0 := time.Now()
		if err := os.WriteFile(filepath.Join(dir, "changed.txt"), []byte(itoa(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		c.Read(make([]byte, 1)) // EOF: the proxy left Running
		c.Close()
		resp, err = http.Get("http://" + p.addr + "/")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("round %d: first request after the change: %v %v\n%s", i, resp, err, p.out)
		}
		resp.Body.Close()
		toFirst200 = append(toFirst200, time.Since(t0))
		b.StopTimer()
		time.Sleep(20 * time.Millisecond)
		b.StartTimer()
	}
	b.StopTimer()
	med := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(0, "ns/op") // the wall time of a round includes python started directly
	b.ReportMetric(millis(med(toFirst200)), "ms-change-to-200")
	b.ReportMetric(millis(med(direct)), "ms-python-start")
	b.ReportMetric(millis(med(toFirst200)-med(direct)), "ms-overhead")
}

// pythonStartTime starts python's http.server directly and returns the time
// from exec to its port accepting connections.
func pythonStartTime(tb testing.TB, python string) time.Duration {
	tb.Helper()
	port := freePort(tb)
	cmd := exec.Command(python, "-m", "http.server", "--bind", "127.0.0.1", port)
	cmd.Dir = tb.TempDir()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return time.Since(t0)
		}
		if time.Since(t0) > 10*time.Second {
			tb.Fatalf("python did not listen on port %s within 10s", port)
		}
		time.Sleep(time.Millisecond)
	}
}
