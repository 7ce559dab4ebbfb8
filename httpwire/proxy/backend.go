package proxy

// Backend tells the proxy where to send each request. The supervisor
// implements it (through an adapter in cmd); this package only consumes
// it, so the two stay independent (DESIGN.md, "Layout").
//
// Implementations must be safe for concurrent use: every client connection
// calls Route before each request.
type Backend interface {
	// Route returns where the next request goes. While the backend is
	// running it must return at once and without allocating (it reads an
	// immutable snapshot). While the backend is starting or restarting it
	// blocks until the backend is ready, has failed, or until its own ready
	// timeout, and then returns a Route with Page set.
	Route() Route

	// Failed reports that the backend of generation gen refused a
	// connection or closed it before answering, so the owner can learn of a
	// crash before the process's wait returns. It must not block.
	Failed(gen uint64)
}

// Route is the answer of Backend.Route.
type Route struct {
	// Addr is the host:port to dial.
	Addr string
	// Generation changes every time the backend restarts; a client
	// connection drops its paired backend connection when it changes.
	Generation uint64
	// Page, when non-nil, is answered instead of proxying (503 for a
	// crashed backend, 502 when it never became ready).
	Page *ErrorPage
}

// ErrorPage describes a page the proxy answers on the backend's behalf.
// The proxy renders it as HTML for browsers and plain text for other
// clients, with Cache-Control: no-store.
type ErrorPage struct {
	Status int    // 502, 503 or 504
	Title  string // one line: "Your server exited with status 1"
	Detail string // a paragraph in words a user understands; may name the command
	// Output is the last lines the backend printed. It is shown only to
	// clients connecting from a loopback address.
	Output []byte
}
