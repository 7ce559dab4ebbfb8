package bench

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkProxyWrkVsServers runs wrk, as BenchmarkProxyWrk does, against
// the backend directly, reloadproxy, httputil.ReverseProxy, and the reverse
// proxies DESIGN.md measures us against, nginx and HAProxy, each in front of
// the same backend on this machine. Proxies that are not installed are left out with a
// message (apt-get install nginx-light haproxy wrk); nothing is asserted.
//
//	go test ./bench/ -run '^$' -bench BenchmarkProxyWrkVsServers -benchtime 1x
func BenchmarkProxyWrkVsServers(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not on PATH (apt-get install wrk)")
	}
	reportProxyOnce(b, func() []proxyMetric {
		backend := startProxyHTTPBackend(b)
		type target struct{ name, addr string }
		targets := []target{{"direct", backend}, {"reloadproxy", startProxyReload(b, backend)}, {"reverseproxy", startProxyReverse(b, backend)}}
		if addr, err := startProxyNginx(b, backend); err != nil {
			b.Logf("nginx left out: %v", err)
		} else {
			targets = append(targets, target{"nginx", addr})
		}
		if addr, err := startProxyHAProxy(b, backend); err != nil {
			b.Logf("haproxy left out: %v", err)
		} else {
			targets = append(targets, target{"haproxy", addr})
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "wrk, net/http backend, req/s (ratio to direct):\n%-12s", "scenario")
		for _, t := range targets {
			fmt.Fprintf(&sb, " %22s", t.name)
		}
		sb.WriteString("\n")
		var metrics []proxyMetric
		for _, sc := range proxyScenarios {
			rates := make([]float64, len(targets))
			for i, t := range targets {
				out, err := exec.Command(wrk, "-t"+strconv.Itoa(min(2, sc.conns)), "-c"+strconv.Itoa(sc.conns),
					"-d"+strconv.Itoa(max(1, int(proxyWrkTimeFlag.Seconds())))+"s", "http://"+t.addr+sc.path).CombinedOutput()
				if err != nil || bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
					b.Fatalf("wrk %s %s: %v\n%s", sc.name, t.name, err, out)
				}
				m := proxyWrkRate.FindSubmatch(out)
				if m == nil {
					b.Fatalf("wrk %s %s: no Requests/sec in:\n%s", sc.name, t.name, out)
				}
				rates[i], _ = strconv.ParseFloat(string(m[1]), 64)
			}
			fmt.Fprintf(&sb, "%-12s", sc.name)
			for i, t := range targets {
				ratio := rates[i] / rates[0]
				fmt.Fprintf(&sb, " %13.0f (%5.3f)", rates[i], ratio)
				if i > 0 {
					metrics = append(metrics, proxyMetric{ratio, sc.name + "-" + t.name + "-vs-direct"})
				}
			}
			sb.WriteString("\n")
		}
		b.Log(strings.TrimSuffix(sb.String(), "\n"))
		return metrics
	})
}

// startProxyExternal runs a proxy program in its own process group until tb
// ends and waits for addr to accept connections.
func startProxyExternal(tb testing.TB, addr string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("%s did not listen on %s: %s", argv[0], addr, out.String())
}

func proxyFreeAddr(tb testing.TB) string {
	ln := listenProxyLoopback(tb)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startProxyNginx runs nginx as a keep-alive reverse proxy with one worker
// per core, logging off, as a tuned dev setup would.
func startProxyNginx(tb testing.TB, backend string) (string, error) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		return "", err
	}
	dir := tb.TempDir()
	addr := proxyFreeAddr(tb)
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	upstream backend { server %[2]s; keepalive 64; }
	server {
		listen %[3]s;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
`, dir, backend, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", err
	}
	return addr, startProxyExternal(tb, addr, nginx, "-p", dir, "-c", path)
}

// startProxyHAProxy runs HAProxy in HTTP mode with keep-alive to the
// backend and one thread per core.
func startProxyHAProxy(tb testing.TB, backend string) (string, error) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		return "", err
	}
	addr := proxyFreeAddr(tb)
	conf := fmt.Sprintf(`global
	nbthread 2
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
frontend front
	bind %s
	default_backend back
backend back
	http-reuse always
	server s1 %s
`, addr, backend)
	path := filepath.Join(tb.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", err
	}
	return addr, startProxyExternal(tb, addr, haproxy, "-db", "-f", path)
}
