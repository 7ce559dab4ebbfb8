package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// BenchmarkSoak runs the built reloadproxy in proxy mode in front of a Go
// backend for -soak.duration (or $RELOADPROXY_SOAK_DURATION; default 10
// minutes) with mixed traffic at once: GETs on kept-alive and on fresh
// connections, POSTs with bodies (echoed and checked), a WebSocket echo,
// a server-sent-events stream and a long poll, while a file changes every
// 5 s (a restart each time). Not run by CI:
//
//	go test ./bench -run '^$' -bench Soak -benchtime 1x -soak.duration 2m
//
// It reports the requests served, the failures (must be 0), what restarts
// end by design (counted apart, see soakCounts), the restarts, and the
// proxy's resident memory and descriptors at the start and the end.
func BenchmarkSoak(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runSoak(b, *soakDurationFlag)
	}
}

var soakDurationFlag = flag.Duration("soak.duration", soakDefaultDuration(),
	"how long BenchmarkSoak runs (default $RELOADPROXY_SOAK_DURATION, else 10m)")

func soakDefaultDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("RELOADPROXY_SOAK_DURATION")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Minute
}

// soakBackendArg, as the first argument of the bench test binary, makes it
// the soak's backend instead of a benchmark run: --exec runs this binary,
// so the backend needs no build of its own.
const soakBackendArg = "-reloadproxy-soak-backend"

func init() {
	if len(os.Args) > 1 && os.Args[1] == soakBackendArg {
		os.Exit(runSoakBackend())
	}
}

// runSoakBackend serves on 127.0.0.1:$PORT: / answers "ok", POST /echo its
// body, /ws is a WebSocket echo, /sse an event every 100 ms, /poll answers
// after a second.
func runSoakBackend() int {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Write(body)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			msg, op, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			fmt.Fprintf(w, "data: %d\n\n", n)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
			io.WriteString(w, "polled\n")
		}
	})
	err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux)
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// soakCounts are the soak's counters, updated by its workers.
type soakCounts struct {
	requests atomic.Int64 // HTTP exchanges completed as expected, WebSocket echoes included
	failures atomic.Int64 // anything else

	// Ends that a restart causes by design, counted apart: a WebSocket or
	// an event stream ends when its server is killed; a POST (not
	// idempotent, so not sent again) that the killed server was handling
	// gets the 502 page, or, if the server had begun its answer, an answer
	// cut short (DESIGN.md, Killing: the process group is signalled at
	// once); and a POST sent on a kept-alive connection just as the proxy
	// closed it for the restart gets no answer (RFC 9112 §9.3.1: the client
	// may retry it; Go's client does not retry a POST).
	wsClosed, sseClosed, postCut, postRace atomic.Int64

	mu      sync.Mutex
	errors  []string    // the first failures, for the report
	changes []time.Time // when each change was written
}

// changed records that a change was written now.
func (c *soakCounts) changed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, time.Now())
}

// justChanged reports whether a change was written in the last restartWindow:
// the time the debounce, the kill and the answer's end take.
func (c *soakCounts) justChanged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.changes) > 0 && time.Since(c.changes[len(c.changes)-1]) < restartWindow
}

// restartWindow is how long after a change a POST's answer may be cut by
// the restart it causes.
const restartWindow = time.Second

func (c *soakCounts) fail(format string, args ...any) {
	c.failures.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errors) < 20 {
		c.errors = append(c.errors, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
}

func runSoak(b *testing.B, duration time.Duration) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	port := freePort(b)
	p := startReloadproxy(b, dir, "--livereload-port", "0", "LISTEN", "127.0.0.1:"+port, "--exec", exe, soakBackendArg)
	p.out.waitCount(b, "ready in", 1, 30*time.Second)
	pid := p.cmd.Process.Pid
	base := "http://" + p.addr
	rssStart := soakRSS(b, pid)
	fdsStart, socketsStart := soakFDs(b, pid)
	b.Logf("soak: %v through %s (pid %d): %d KiB resident, %d descriptors (%d sockets) at start", duration, p.addr, pid, rssStart, fdsStart, socketsStart)

	var counts soakCounts
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	run := func(n int, worker func(ctx context.Context, c *soakCounts)) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				worker(ctx, &counts)
			}()
		}
	}
	keepAlive := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	fresh := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer keepAlive.CloseIdleConnections()

	b.ResetTimer()
	run(3, func(ctx context.Context, c *soakCounts) { soakGets(ctx, c, keepAlive, base+"/", 2*time.Millisecond) })
	run(1, func(ctx context.Context, c *soakCounts) { soakGets(ctx, c, fresh, base+"/", 5*time.Millisecond) })
	run(2, func(ctx context.Context, c *soakCounts) { soakPosts(ctx, c, keepAlive, base+"/echo") })
	run(1, func(ctx context.Context, c *soakCounts) { soakWebSocket(ctx, c, "ws://"+p.addr+"/ws") })
	run(1, func(ctx context.Context, c *soakCounts) { soakEvents(ctx, c, base+"/sse") })
	run(1, func(ctx context.Context, c *soakCounts) { soakGets(ctx, c, keepAlive, base+"/poll", 0) })

	changes := 0
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-tick.C:
			changes++
			counts.changed()
			// A new name each time: the restart-loop guard ignores a path
			// that changes after every start.
			if err := os.WriteFile(filepath.Join(dir, "change-"+strconv.Itoa(changes)+".txt"), []byte(strconv.Itoa(changes)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	wg.Wait()
	b.StopTimer()
	keepAlive.CloseIdleConnections()
	// The proxy's connections end with the clients'. (Its other
	// descriptors may grow by a few pipes: the runtime keeps pipes for
	// splice(2) in a pool.)
	sockets := func() int { _, n := soakFDs(b, pid); return n }
	for deadline := time.Now().Add(10 * time.Second); sockets() > socketsStart && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	rssEnd := soakRSS(b, pid)
	fdsEnd, socketsEnd := soakFDs(b, pid)
	restarts := p.out.count("ready in") - 1

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(counts.requests.Load()), "requests")
	b.ReportMetric(float64(counts.failures.Load()), "failures")
	b.ReportMetric(float64(counts.wsClosed.Load()), "ws-closed-by-restart")
	b.ReportMetric(float64(counts.sseClosed.Load()), "sse-closed-by-restart")
	b.ReportMetric(float64(counts.postCut.Load()), "post-cut-by-restart")
	b.ReportMetric(float64(counts.postRace.Load()), "post-keepalive-race")
	b.ReportMetric(float64(restarts), "restarts")
	b.ReportMetric(float64(rssStart), "rss-start-KiB")
	b.ReportMetric(float64(rssEnd), "rss-end-KiB")
	b.ReportMetric(float64(fdsStart), "fds-start")
	b.ReportMetric(float64(fdsEnd), "fds-end")
	b.ReportMetric(float64(socketsStart), "sockets-start")
	b.ReportMetric(float64(socketsEnd), "sockets-end")
	b.Logf("soak: %d requests, %d failures, %d restarts for %d changes; WebSockets ended by a restart %d, event streams %d, POSTs cut %d, POST keep-alive races %d; resident %d -> %d KiB, descriptors %d -> %d (sockets %d -> %d)",
		counts.requests.Load(), counts.failures.Load(), restarts, changes, counts.wsClosed.Load(), counts.sseClosed.Load(),
		counts.postCut.Load(), counts.postRace.Load(), rssStart, rssEnd, fdsStart, fdsEnd, socketsStart, socketsEnd)
	if n := counts.failures.Load(); n > 0 {
		b.Errorf("%d failures; the first:\n%s\nreloadproxy's log ends:\n%s", n, strings.Join(counts.errors, "\n"), soakTail(p.out.String(), 40))
	}
	if restarts < changes-1 {
		b.Errorf("%d restarts for %d changes", restarts, changes)
	}
	if socketsEnd > socketsStart {
		b.Errorf("the proxy holds %d sockets after the clients left, %d at start", socketsEnd, socketsStart)
	}
}

// soakGets GETs url until ctx ends, pausing between requests.
func soakGets(ctx context.Context, c *soakCounts, client *http.Client, url string, pause time.Duration) {
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err != nil {
			c.fail("GET %s: %v", url, err)
		} else {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "ok\n"
			if strings.HasSuffix(url, "/poll") {
				want = "polled\n"
			}
			if err != nil || resp.StatusCode != 200 || string(body) != want {
				c.fail("GET %s: %d %.200q %v", url, resp.StatusCode, body, err)
			} else {
				c.requests.Add(1)
			}
		}
		time.Sleep(pause)
	}
}

// soakPosts POSTs random bodies of up to 64 KiB to url and checks the
// echo.
func soakPosts(ctx context.Context, c *soakCounts, client *http.Client, url string) {
	buf := make([]byte, 64<<10)
	for n := 1; ctx.Err() == nil; n++ {
		body := buf[:1+n*7919%len(buf)]
		rand.Read(body)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := client.Do(req)
		switch {
		case err != nil && reused && soakClosedBeforeAnswer(err):
			c.postRace.Add(1)
		case err != nil:
			c.fail("POST %d bytes: %v", len(body), err)
		default:
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 502 && bytes.Contains(got, []byte("closed the connection without a complete response")):
				c.postCut.Add(1)
			case resp.StatusCode == 200 && errors.Is(err, io.ErrUnexpectedEOF) && bytes.HasPrefix(body, got) && c.justChanged():
				// Cut short by the kill, not garbled: what came is the
				// start of the echo.
				c.postCut.Add(1)
			case err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body):
				c.fail("POST %d bytes: status %d, %d bytes back (%v): %.200q", len(body), resp.StatusCode, len(got), err, got)
			default:
				c.requests.Add(1)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// soakClosedBeforeAnswer reports whether err says that the connection
// ended before any byte of a response: EOF or a reset on the read, a
// broken pipe on the write, or the client's transport having closed the
// connection under the body's write once its read saw the end.
func soakClosedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "server closed idle connection")
}

// soakWebSocket keeps a WebSocket open, echoing a message every 50 ms; a
// session that a restart ends is opened again.
func soakWebSocket(ctx context.Context, c *soakCounts, url string) {
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, _, _, err := ws.Dial(dctx, url)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.fail("WebSocket dial: %v", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		for n := 0; ctx.Err() == nil; n++ {
			msg := []byte("echo " + strconv.Itoa(n))
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			if err := wsutil.WriteClientText(conn, msg); err != nil {
				c.wsClosed.Add(1)
				break
			}
			got, _, err := wsutil.ReadServerData(conn)
			if err != nil {
				// The backend was killed mid-session: the tunnel ends.
				c.wsClosed.Add(1)
				break
			}
			if !bytes.Equal(got, msg) {
				c.fail("WebSocket echo: sent %q, got %q", msg, got)
				break
			}
			c.requests.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
		conn.Close()
	}
}

// soakEvents reads a server-sent-events stream, checking that its events
// count up; a stream that a restart ends is opened again.
func soakEvents(ctx context.Context, c *soakCounts, url string) {
	for ctx.Err() == nil {
		// A stream that stops without ending is a failure: a watchdog
		// cancels it after 30s without an event.
		sctx, cancel := context.WithCancel(ctx)
		var stalled atomic.Bool
		watchdog := time.AfterFunc(30*time.Second, func() { stalled.Store(true); cancel() })
		req, _ := http.NewRequestWithContext(sctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			watchdog.Stop()
			cancel()
			if ctx.Err() == nil {
				c.fail("event stream: %v (stalled %v)", err, stalled.Load())
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			c.fail("event stream: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			resp.Body.Close()
			continue
		}
		br := bufio.NewReader(resp.Body)
		for want := 0; ; want++ {
			line, err := br.ReadString('\n')
			switch {
			case err != nil && stalled.Load():
				c.fail("event stream: no event for 30s after event %d", want-1)
			case err != nil && ctx.Err() == nil:
				c.sseClosed.Add(1)
			}
			if err != nil {
				break
			}
			watchdog.Reset(30 * time.Second)
			blank, _ := br.ReadString('\n')
			if line != "data: "+strconv.Itoa(want)+"\n" || blank != "\n" {
				c.fail("event stream: event %d is %q %q", want, line, blank)
				break
			}
			c.requests.Add(1)
		}
		watchdog.Stop()
		cancel()
		resp.Body.Close()
	}
}

// soakRSS reads the resident set size of pid in KiB.
func soakRSS(b *testing.B, pid int) int {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// soakFDs counts the descriptors pid holds, and the sockets among them.
func soakFDs(b *testing.B, pid int) (fds, sockets int) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			sockets++
		}
	}
	return len(ents), sockets
}

// soakTail returns the last n lines of s.
func soakTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
