package main

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssKiB reads a process's resident set size.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestE2EMemoryWithIdleConnections holds DESIGN.md's memory target: under
// 20 MiB resident with 1,000 idle connections (browser preconnects), each
// of which costs a parked goroutine and no buffer.
func TestE2EMemoryWithIdleConnections(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector multiplies memory use; the plain go test run measures this")
	}
	p := startReloadproxy(t, t.TempDir(), "LISTEN")
	pid := p.cmd.Process.Pid
	before := rssKiB(t, pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Wait until the proxy holds all of them (its listening sockets and a
	// few files besides).
	deadline := time.Now().Add(10 * time.Second)
	for {
		fds, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
		if len(fds) >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d descriptors, want 1,000 connections", len(fds))
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := rssKiB(t, pid)
	t.Logf("resident: %d KiB at start, %d KiB with 1,000 idle connections (%.1f KiB each)",
		before, after, float64(after-before)/1000)
	if after >= 20<<10 {
		t.Errorf("resident memory %d KiB with 1,000 idle connections, want under 20 MiB", after)
	}
}
