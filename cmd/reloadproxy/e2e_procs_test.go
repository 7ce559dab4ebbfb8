package main

import (
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestE2EProcessorsShared checks, through the runtime's own scheduler
// trace, that the proxy runs Go code on half the processors a Go program
// would use by default (at least one) unless GOMAXPROCS is set, and on
// exactly GOMAXPROCS when it is.
func TestE2EProcessorsShared(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		env  string
		want int
	}{{"3", 3}}
	if os.Getenv("GOMAXPROCS") == "" {
		// The proxy inherits this process's affinity and cgroup, so a
		// Go program's default is the same for both.
		cases = append(cases, struct {
			env  string
			want int
		}{"", max(1, runtime.GOMAXPROCS(0)/2)})
	} else {
		t.Log("GOMAXPROCS is set for the tests: the default is not checked")
	}
	// schedtrace prints "SCHED …: gomaxprocs=N …" every 20 ms on stderr.
	t.Setenv("GODEBUG", "schedtrace=20")
	trace := regexp.MustCompile(`gomaxprocs=(\d+)`)
	for _, c := range cases {
		t.Setenv("GOMAXPROCS", c.env)
		p := startReloadproxy(t, root, "--root", root, "LISTEN")
		// Lines printed once it listens come after main set the value.
		seen := len(p.out.String())
		deadline := time.Now().Add(10 * time.Second)
		var got []string
		for got == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			got = trace.FindStringSubmatch(p.out.String()[seen:])
		}
		p.stop()
		if got == nil {
			t.Fatalf("GOMAXPROCS=%q: no scheduler trace in the output:\n%s", c.env, p.out)
		}
		if n, _ := strconv.Atoi(got[1]); n != c.want {
			t.Errorf("GOMAXPROCS=%q: the proxy runs on %d processors, want %d", c.env, n, c.want)
		}
	}
}
