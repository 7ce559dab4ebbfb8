package bench

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	sideRoundsFlag = flag.Int("sidebyside.rounds", 3,
		"BenchmarkSideBySide: interleaved rounds per workload; the median counts")
	sideSecsFlag = flag.Int("sidebyside.secs", 3,
		"BenchmarkSideBySide: seconds of each wrk run (wrk -d)")
	sideOnlyFlag = flag.String("sidebyside.only", "",
		"BenchmarkSideBySide: comma-separated workloads among small,64KiB,chunked,1conn (default all)")
	sideBinFlag = flag.String("sidebyside.bin", "",
		"BenchmarkSideBySide: reloadproxy binary to measure (default: ../cmd/reloadproxy, built as shipped)")
	sideRotateFlag = flag.Bool("sidebyside.rotate", false,
		"BenchmarkSideBySide: start each round at the next target, so that none always runs right after another")
	sideTwinsFlag = flag.Int("sidebyside.twins", 0,
		"BenchmarkSideBySide: extra copies of the reloadproxy target, run as targets of their own: their spread is the run's noise")
	sideFloorFlag = flag.Bool("sidebyside.floor", false,
		"BenchmarkSideBySide: add bare TCP relays (testdata/relay) and HAProxy in TCP mode, which do no HTTP: the floor any HTTP proxy built alike stands on")
)

// sideWorkload is one wrk load: GET path over conns keep-alive connections.
type sideWorkload struct {
	name  string
	path  string
	conns int
}

var sideWorkloads = []sideWorkload{
	{"small", "/", 32},
	{"64KiB", "/big", 32},
	{"chunked", "/chunked", 32},
	{"1conn", "/", 1},
}

// The peers' configurations, as the shared script writes them; {tmp} is
// the run's directory, {be} the backend's port and {port} the peer's.
const (
	sideNginxConf = `worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream backend { server 127.0.0.1:{be}; keepalive 256; }
  server {
    listen 127.0.0.1:{port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
    }
  }
}
`
	sideHAProxyConf = `global
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  server s1 127.0.0.1:{be}
`
	// sideHAProxyTCPConf is the floor's HAProxy: the same, relaying bytes
	// without looking at them.
	sideHAProxyTCPConf = `global
  nbthread 2
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  server s1 127.0.0.1:{be}
`
)

// sideClockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (sysconf(_SC_CLK_TCK)): 100 on every architecture Linux runs Go on.
const sideClockTick = 100

// sideProc is a process the side-by-side bed started, leading a process
// group (a session) of its own.
type sideProc struct {
	name string
	cmd  *exec.Cmd
	out  *lineLog
	done chan struct{} // closed when cmd.Wait returns
}

// sideTarget is one thing wrk can load: a proxy, or the backend itself.
type sideTarget struct {
	name string
	addr string
	proc *sideProc // whose process tree's CPU time counts
}

// sideBed is a backend with the peers in front of it, all in one
// directory.
type sideBed struct {
	tb      testing.TB
	dir     string
	procs   []*sideProc
	backend *sideProc
	targets []sideTarget
}

// startSideBySide builds the backend, stdproxy and relay, and starts the
// backend, reloadproxy (the binary bin), nginx, HAProxy and stdproxy in
// front of it, in this order, as the shared script does, then twins more
// copies of reloadproxy, named reloadproxy#2, #3…, and with floor the
// floor's targets (see startFloor). Peers that are not installed or do not
// start are left out with a note; everything is stopped when tb ends.
func startSideBySide(tb testing.TB, bin string, twins int, floor bool) *sideBed {
	tb.Helper()
	bin, err := filepath.Abs(bin)
	if err != nil {
		tb.Fatal(err)
	}
	bed := &sideBed{tb: tb, dir: tb.TempDir()}
	tb.Cleanup(bed.stop)
	for _, prog := range []string{"backend", "stdproxy", "relay"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bed.dir, prog), "./testdata/"+prog).CombinedOutput()
		if err != nil {
			tb.Fatalf("building testdata/%s: %v\n%s", prog, err, out)
		}
	}
	be := strconv.Itoa(sidePort(tb))
	backend := bed.start("backend", filepath.Join(bed.dir, "backend"), "-addr", "127.0.0.1:"+be)
	if !sideWaitPort("127.0.0.1:" + be) {
		tb.Fatalf("the backend does not listen on 127.0.0.1:%s:\n%s", be, backend.out.String())
	}
	bed.backend = backend
	bed.targets = append(bed.targets, sideTarget{"direct", "127.0.0.1:" + be, backend})

	startReloadproxy := func(name string) {
		port := strconv.Itoa(sidePort(tb))
		bed.startTarget(name, port, bin, "127.0.0.1:"+port, "127.0.0.1:"+be, "--livereload-port", "0", "-q", "-w", bed.dir)
	}
	startReloadproxy("reloadproxy")
	for _, peer := range []struct{ name, conf, file string }{
		{"nginx", sideNginxConf, "nginx.conf"},
		{"haproxy", sideHAProxyConf, "haproxy.cfg"},
	} {
		path, err := exec.LookPath(peer.name)
		if err != nil {
			tb.Logf("note: %s is not installed; left out (apt-get install %s)", peer.name, peer.name)
			continue
		}
		port := strconv.Itoa(sidePort(tb))
		conf := filepath.Join(bed.dir, peer.file)
		text := strings.NewReplacer("{tmp}", bed.dir, "{be}", be, "{port}", port).Replace(peer.conf)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
		if peer.name == "nginx" {
			bed.startTarget("nginx", port, path, "-c", conf, "-p", bed.dir)
		} else {
			bed.startTarget("haproxy", port, path, "-f", conf, "-q")
		}
	}
	port := strconv.Itoa(sidePort(tb))
	bed.startTarget("httputil", port, filepath.Join(bed.dir, "stdproxy"), "-addr", "127.0.0.1:"+port, "-to", "http://127.0.0.1:"+be)
	for i := range twins {
		startReloadproxy("reloadproxy#" + strconv.Itoa(i+2))
	}
	if floor {
		bed.startFloor(be)
	}
	return bed
}

// startFloor starts the targets that relay TCP without parsing HTTP, so
// that no HTTP proxy made the same way can cost less: testdata/relay with
// goroutines on as many processors as reloadproxy uses by default
// (relay-goroutine), the same relay as one raw epoll event loop per
// processor (relay-epoll-raw), and HAProxy in TCP mode (haproxy-tcp). Set
// beside the HTTP proxies, they split a gap in two: what HTTP costs, and
// what the way of waiting for the network costs.
func (bed *sideBed) startFloor(be string) {
	relay := filepath.Join(bed.dir, "relay")
	for _, r := range []struct {
		name, wait string
		loops      int
	}{
		{"relay-goroutine", "goroutine", max(1, runtime.NumCPU()/2)},
		{"relay-epoll-raw", "epoll-raw", runtime.NumCPU()},
	} {
		port := strconv.Itoa(sidePort(bed.tb))
		bed.startTarget(r.name, port, relay, "-listen", "127.0.0.1:"+port, "-backend", "127.0.0.1:"+be,
			"-wait", r.wait, "-loops", strconv.Itoa(r.loops))
	}
	path, err := exec.LookPath("haproxy")
	if err != nil {
		bed.tb.Logf("note: haproxy is not installed; haproxy-tcp left out (apt-get install haproxy)")
		return
	}
	port := strconv.Itoa(sidePort(bed.tb))
	conf := filepath.Join(bed.dir, "haproxy-tcp.cfg")
	text := strings.NewReplacer("{be}", be, "{port}", port).Replace(sideHAProxyTCPConf)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		bed.tb.Fatal(err)
	}
	bed.startTarget("haproxy-tcp", port, path, "-f", conf, "-q")
}

// start runs argv in a new session (so a process group of its own, which
// stop signals as a whole), killed should this process die first.
func (bed *sideBed) start(name string, argv ...string) *sideProc {
	cmd := exec.Command(argv[0], argv[1:]...)
	out := &lineLog{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second // should a grandchild keep the output pipe open
	if err := cmd.Start(); err != nil {
		bed.tb.Fatalf("starting %s: %v", name, err)
	}
	p := &sideProc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	bed.procs = append(bed.procs, p)
	return p
}

// startTarget starts a proxy and makes it a target once it listens on
// port; one that does not within 10 s is left out with a note.
func (bed *sideBed) startTarget(name, port string, argv ...string) {
	p := bed.start(name, argv...)
	addr := "127.0.0.1:" + port
	if !sideWaitPort(addr) {
		bed.tb.Logf("note: %s did not start; left out\n%s", name, p.out.String())
		return
	}
	bed.targets = append(bed.targets, sideTarget{name, addr, p})
}

// stop sends SIGTERM to every process group, waits up to 5 s for each
// leader and kills the group of one that is still running.
func (bed *sideBed) stop() {
	for _, p := range bed.procs {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range bed.procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

// sidePort returns a loopback port nothing listens on right now.
func sidePort(tb testing.TB) int {
	tb.Helper()
	ln := listenProxyLoopback(tb)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sideWaitPort waits up to 10 s for addr to accept a connection.
func sideWaitPort(addr string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// proxyFreeAddr returns a loopback address nothing listens on right now.
func proxyFreeAddr(tb testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(sidePort(tb))
}

// sideTree returns pid and its descendants, from /proc/PID/task/*/children.
func sideTree(pid int) []int {
	var out []int
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		out = append(out, p)
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(p) + "/task")
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, c := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(c); err == nil {
					todo = append(todo, n)
				}
			}
		}
	}
	return out
}

// sideCPUTicks returns the user and system time of the processes, all
// their threads included, in clock ticks. Processes that are gone count 0.
func sideCPUTicks(pids []int) int64 {
	var t int64
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: utime and stime are fields 14 and
		// 15, the 12th and 13th after comm, which may hold anything.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		t += u + k
	}
	return t
}

var (
	sideWrkRequests = regexp.MustCompile(`(\d+) requests in`)
	sideWrkRate     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	// The 99% line of --latency's distribution. Not the first "99%" in
	// the output: a +/- Stdev column such as 84.99% ends in it too.
	sideWrkP99    = regexp.MustCompile(`(?m)^\s*99%\s+(\S+)`)
	sideWrkErrors = regexp.MustCompile(`(Non-2xx.*|Socket errors.*)`)
)

// sideWrk is what one wrk run printed.
type sideWrk struct {
	requests int64   // "N requests in"
	rps      float64 // "Requests/sec:"
	p99      string  // latency distribution's 99%, as printed
	errors   []string
}

// sideParseWrk reads wrk --latency's output; ok is false when a figure
// is missing.
func sideParseWrk(out []byte) (w sideWrk, ok bool) {
	n := sideWrkRequests.FindSubmatch(out)
	rate := sideWrkRate.FindSubmatch(out)
	p99 := sideWrkP99.FindSubmatch(out)
	if n == nil || rate == nil || p99 == nil {
		return w, false
	}
	w.requests, _ = strconv.ParseInt(string(n[1]), 10, 64)
	w.rps, _ = strconv.ParseFloat(string(rate[1]), 64)
	w.p99 = string(p99[1])
	for _, e := range sideWrkErrors.FindAll(out, -1) {
		w.errors = append(w.errors, string(e))
	}
	return w, true
}

// sideRound is one wrk run against one target.
type sideRound struct {
	rps   float64
	cpuUs float64 // the target's CPU µs per completed request
	p99   string
	// The CPU µs per request of the two ends of the load: the backend's
	// process tree and wrk. A proxy moves them too, by how it batches
	// what it sends each (every wake-up costs the woken), and a ratio to
	// direct counts them, since all share the machine's processors.
	backendUs float64
	wrkUs     float64
}

// measure runs wrk once against t and reads the CPU time of t, of the
// backend and of wrk around it.
func (bed *sideBed) measure(wrk string, wl sideWorkload, t sideTarget, secs int) sideRound {
	tb := bed.tb
	pids := sideTree(t.proc.cmd.Process.Pid)
	backendPids := sideTree(bed.backend.cmd.Process.Pid)
	t0, b0 := sideCPUTicks(pids), sideCPUTicks(backendPids)
	cmd := exec.Command(wrk, "-t1", "-c"+strconv.Itoa(wl.conns), "-d"+strconv.Itoa(secs)+"s", "--latency",
		"http://"+t.addr+wl.path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t1, b1 := sideCPUTicks(pids), sideCPUTicks(backendPids)
	w, ok := sideParseWrk(out)
	if err != nil || !ok {
		tb.Fatalf("wrk %s %s: %v\n%s%s", wl.name, t.name, err, out, stderr.String())
	}
	if w.errors != nil {
		tb.Logf("note: %s %s: %s", wl.name, t.name, strings.Join(w.errors, "; "))
	}
	perRequest := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(w.requests, 1)) }
	ticks := func(n int64) time.Duration { return time.Duration(n) * time.Second / sideClockTick }
	return sideRound{
		rps:       w.rps,
		cpuUs:     perRequest(ticks(t1 - t0)),
		p99:       w.p99,
		backendUs: perRequest(ticks(b1 - b0)),
		wrkUs:     perRequest(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()),
	}
}

// sideOrder is the order of the targets in round r: as started, or, with
// rotate, starting at target r mod n. The shared script runs them in one
// order, and there a target's place in the round moves its figures: in
// one run with three copies of one binary as targets in a row, their
// chunked ratios were 0.74, 0.78 and 0.88.
func sideOrder(n, r int, rotate bool) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if rotate {
			order[i] = (i + r) % n
		}
	}
	return order
}

// sideMedian is the shared script's median: the middle element, the
// upper one of an even count.
func sideMedian(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// sideWorkloadsSelected returns the workloads -sidebyside.only names, in
// their usual order.
func sideWorkloadsSelected(tb testing.TB) []sideWorkload {
	if *sideOnlyFlag == "" {
		return sideWorkloads
	}
	var names []string
	for _, w := range sideWorkloads {
		names = append(names, w.name)
	}
	only := strings.Split(*sideOnlyFlag, ",")
	for _, o := range only {
		if !slices.Contains(names, strings.TrimSpace(o)) {
			tb.Fatalf("-sidebyside.only: no workload %q (have %s)", o, strings.Join(names, ","))
		}
	}
	var out []sideWorkload
	for _, w := range sideWorkloads {
		if slices.ContainsFunc(only, func(o string) bool { return strings.TrimSpace(o) == w.name }) {
			out = append(out, w)
		}
	}
	return out
}

// BenchmarkSideBySide is the project's own copy of the shared side-by-side
// script (../shared/bench/peers.py): the same backend, the same peers with
// the same configurations, the same wrk runs and the same figures, so that
// the README's performance table can be reproduced from this repository
// alone (-v: without it go test cuts a benchmark's log to 10 lines):
//
//	go test ./bench/ -run '^$' -bench BenchmarkSideBySide -benchtime 1x -v
//	go test ./bench/ -run '^$' -bench BenchmarkSideBySide -benchtime 1x -v -sidebyside.only small,1conn -sidebyside.rounds 5
//
// Flags: -sidebyside.rounds (default 3), -sidebyside.secs (wrk -d, default
// 3), -sidebyside.only (comma-separated workloads: small, 64KiB, chunked,
// 1conn; default all) and -sidebyside.bin (a reloadproxy binary to
// measure; default ../cmd/reloadproxy built as shipped, CGO_ENABLED=0
// -trimpath). The default run takes about 3.5 minutes (4 workloads × 3
// rounds × 5 targets × 3 s); give more rounds a longer -timeout.
//
// Two flags go beyond the script, to judge its figures: -sidebyside.twins N
// adds N more copies of the reloadproxy binary as targets (reloadproxy#2…),
// whose spread is what noise alone does to one binary in this run, and
// -sidebyside.rotate starts each round at the next target, since a
// target's place in the round moves its figures (see sideOrder):
//
//	go test ./bench/ -run '^$' -bench BenchmarkSideBySide -benchtime 1x -v -timeout 30m -sidebyside.rotate -sidebyside.twins 1 -sidebyside.rounds 6
//
// -sidebyside.floor adds three targets that relay TCP without parsing
// HTTP (see startFloor): the floor under any HTTP proxy that waits for the
// network the same way.
//
// In front of one Go net/http backend (testdata/backend): nothing
// ("direct"), the reloadproxy binary in attach mode, nginx, HAProxy and
// httputil.ReverseProxy (testdata/stdproxy), each a process of its own.
// For each workload it runs `wrk -t1 -cN -dSs --latency` against every
// target in turn, round after round (the targets interleaved, so that
// drift on a shared machine hits all alike), and logs per target, as
// markdown: the median req/s, its ratio to direct, the target's own CPU
// time per request (user+system of its whole process tree, from /proc,
// around each wrk run, divided by the requests wrk completed; for direct,
// the backend's) and the p99 latency of each round, then the CPU µs per
// request of the backend and of wrk (see sideRound). On a small shared
// machine req/s moves from run to run; the ratios and the CPU figures of
// one run are the ones to compare. It reports the medians as metrics,
// "<workload>-<target>-ratio" and "<workload>-<target>-cpu-µs/req".
// Nothing is asserted: timings are not a test.
//
// Needs wrk (skipped without it); nginx and HAProxy are left out with a
// note when they are not installed (apt-get install wrk nginx-light
// haproxy). Everything binds 127.0.0.1, and every process it starts, each
// in a process group of its own, is stopped when the benchmark ends, failed
// or not.
func BenchmarkSideBySide(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("note: wrk is missing (apt-get install wrk)")
	}
	rounds, secs := max(*sideRoundsFlag, 1), max(*sideSecsFlag, 1)
	workloads := sideWorkloadsSelected(b)
	if !testing.Verbose() {
		b.Log("note: without -v, go test cuts a benchmark's log to 10 lines: run with -v for the whole tables")
	}
	reportProxyOnce(b, func() []proxyMetric {
		bin := *sideBinFlag
		if bin == "" {
			bin = reloadproxyBinary(b)
		}
		bed := startSideBySide(b, bin, max(*sideTwinsFlag, 0), *sideFloorFlag)
		var metrics []proxyMetric
		for _, wl := range workloads {
			res := make([][]sideRound, len(bed.targets))
			for r := range rounds {
				for _, i := range sideOrder(len(bed.targets), r, *sideRotateFlag) {
					res[i] = append(res[i], bed.measure(wrk, wl, bed.targets[i], secs))
				}
			}
			median := func(i int, f func(sideRound) float64) float64 {
				var xs []float64
				for _, r := range res[i] {
					xs = append(xs, f(r))
				}
				return sideMedian(xs)
			}
			direct := median(0, func(r sideRound) float64 { return r.rps })
			var sb strings.Builder
			fmt.Fprintf(&sb, "\n%s: GET %s, %d connection(s), %d rounds of %d s\n", wl.name, wl.path, wl.conns, rounds, secs)
			sb.WriteString("| target | req/s | ratio to direct | own CPU µs/req | p99 per round | backend CPU µs/req | wrk CPU µs/req |\n")
			sb.WriteString("|---|---|---|---|---|---|---|\n")
			for i, t := range bed.targets {
				rps := median(i, func(r sideRound) float64 { return r.rps })
				cpu := median(i, func(r sideRound) float64 { return r.cpuUs })
				var p99s []string
				for _, r := range res[i] {
					p99s = append(p99s, r.p99)
				}
				fmt.Fprintf(&sb, "| %s | %.0f | %.2f | %.1f | %s | %.1f | %.1f |\n", t.name, rps, rps/direct, cpu, strings.Join(p99s, " "),
					median(i, func(r sideRound) float64 { return r.backendUs }), median(i, func(r sideRound) float64 { return r.wrkUs }))
				if i > 0 {
					metrics = append(metrics, proxyMetric{rps / direct, wl.name + "-" + t.name + "-ratio"})
				}
				metrics = append(metrics, proxyMetric{cpu, wl.name + "-" + t.name + "-cpu-µs/req"})
			}
			b.Log(strings.TrimSuffix(sb.String(), "\n"))
		}
		return metrics
	})
}

// TestSideBySideTargets starts BenchmarkSideBySide's bed and checks that
// every target answers every workload's path with the backend's body, and
// passes on /events' stream (BenchmarkStreamDelay's), so that the
// benchmarks keep working where benchmarks do not run.
func TestSideBySideTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the side-by-side bed")
	}
	bed := startSideBySide(t, reloadproxyBinary(t), 1, true)
	want := map[string]string{
		"/":        "hello, world\n",
		"/big":     strings.Repeat("x", 64<<10),
		"/chunked": "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n",
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, tgt := range bed.targets {
		for _, wl := range sideWorkloads {
			resp, err := client.Get("http://" + tgt.addr + wl.path)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", tgt.name, wl.path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != want[wl.path] {
				t.Errorf("%s: GET %s: status %d, %d bytes (err %v), want 200 and %d bytes",
					tgt.name, wl.path, resp.StatusCode, len(body), err, len(want[wl.path]))
			}
		}
	}
	for _, tgt := range bed.targets {
		if _, err := streamFirstEventDelay(client, tgt.addr); err != nil {
			t.Errorf("%s: GET /events: %v", tgt.name, err)
		}
	}
	var names []string
	for _, tgt := range bed.targets {
		names = append(names, tgt.name)
	}
	for _, want := range []string{"direct", "reloadproxy", "httputil", "reloadproxy#2", "relay-goroutine", "relay-epoll-raw"} {
		if !slices.Contains(names, want) {
			t.Errorf("targets %v: no %s", names, want)
		}
	}
}

// TestSideBySideOrder: rotated, every target has every place once in n
// rounds; not rotated, the order is the targets' own.
func TestSideBySideOrder(t *testing.T) {
	const n = 4
	places := make([][n]int, n)
	for r := range n {
		if got := sideOrder(n, r, false); !slices.Equal(got, []int{0, 1, 2, 3}) {
			t.Fatalf("round %d, not rotated: %v", r, got)
		}
		order := sideOrder(n, r, true)
		if got := slices.Sorted(slices.Values(order)); !slices.Equal(got, []int{0, 1, 2, 3}) {
			t.Fatalf("round %d: %v is not every target once", r, order)
		}
		for place, target := range order {
			places[target][place]++
		}
	}
	for target, p := range places {
		if p != [n]int{1, 1, 1, 1} {
			t.Errorf("target %d had the places %v times in %d rounds, want each once", target, p, n)
		}
	}
}

// TestSideBySideWrkParse reads wrk outputs of the kind that fooled a
// first-"99%" match: a +/- Stdev column ending in 99%.
func TestSideBySideWrkParse(t *testing.T) {
	out := []byte(`Running 3s test @ http://127.0.0.1:40000/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    3.51ms  92.18ms   96.99%
    Req/Sec    11.21k     1.20k   13.01k    70.99%
  Latency Distribution
     50%    1.35ms
     75%    1.90ms
     90%    3.14ms
     99%   21.05ms
  33480 requests in 3.00s, 3.86MB read
  Socket errors: connect 0, read 0, write 0, timeout 1
Requests/sec:  11157.64
Transfer/sec:      1.29MB
`)
	w, ok := sideParseWrk(out)
	if !ok || w.requests != 33480 || w.rps != 11157.64 || w.p99 != "21.05ms" ||
		len(w.errors) != 1 || w.errors[0] != "Socket errors: connect 0, read 0, write 0, timeout 1" {
		t.Errorf("sideParseWrk = %+v, %v", w, ok)
	}
	if _, ok := sideParseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n")); ok {
		t.Error("sideParseWrk accepted a failed run")
	}
}
