// Command stdproxy is the standard library's httputil.ReverseProxy in front
// of one backend, the baseline a Go user would reach for first; the
// httputil target of BenchmarkSideBySide. Its transport keeps up to 1024
// idle backend connections, so every client connection can have one.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen `address`")
	to := flag.String("to", "http://127.0.0.1:9001", "backend `URL`")
	flag.Parse()
	u, err := url.Parse(*to)
	if err != nil {
		log.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	log.Fatal(http.ListenAndServe(*addr, p))
}
