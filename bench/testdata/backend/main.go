// Command backend is the origin server of BenchmarkSideBySide: a plain
// net/http server, the kind of backend reloadproxy fronts, with the
// endpoints and responses of the shared side-by-side script's backend
// (../shared/bench/backend), so that both measure the same thing:
//
//	/         a short text body ("hello, world\n"), with Content-Length
//	/big      64 KiB in one write (more than net/http buffers before
//	          deciding on framing, so it goes out chunked)
//	/chunked  five lines, each written and flushed as a chunk of its own
//	/events   an event stream of two events 100 ms apart, each flushed as
//	          it is written (not in the shared backend: it measures how
//	          soon a proxy passes on a stream's event, which BenchmarkStreamDelay
//	          reports)
//
// Any other path answers as / does.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen `address`")
	flag.Parse()
	big := strings.Repeat("x", 64<<10)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, big)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		for i := range 5 {
			fmt.Fprintf(w, "chunk %d\n", i)
			f.Flush()
		}
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		io.WriteString(w, "data: first\n\n")
		f.Flush()
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "data: last\n\n")
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
