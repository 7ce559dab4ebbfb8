// Command reloadproxy is a live-reloading HTTP reverse proxy for web
// development: it runs your server, proxies every request to it, watches your
// files, restarts the server when they change and makes the browser reload.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire"
	"reloadproxy/inotify"
	"reloadproxy/supervisor"
	"reloadproxy/ws"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout io.Writer, stderr *os.File) int {
	o, err := parseArgs(args, inotify.ValidateGlob)
	if err != nil {
		fmt.Fprintf(stderr, "reloadproxy: %v\nTry 'reloadproxy --help' for more information.\n", err)
		return 2
	}
	if o.Help {
		printHelp(stdout)
		return 0
	}
	if o.Version {
		fmt.Fprintf(stdout, "reloadproxy %s\n", version)
		return 0
	}
	log := newLogger(stderr, o.Quiet)
	if err := serve(o, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

// app is one running reloadproxy: the listeners, the proxy server, the
// reload hub, the supervisor (not in static mode) and the watcher.
type app struct {
	o   *Options
	log *logger

	srv       *httpwire.Server
	hub       *ws.Hub
	sup       *supervisor.Supervisor
	listeners []net.Listener

	// generation numbers the reloads sent to browsers. It starts at the
	// time the proxy started, so that tabs left open across a restart of
	// reloadproxy itself reload too, and stays far below 2^53 (JavaScript).
	generation atomic.Uint64
	reloads    *debouncer // static mode: coalesces a burst of changes
}

func serve(o *Options, log *logger) error {
	a := &app{o: o, log: log, hub: ws.NewHub()}
	a.generation.Store(uint64(time.Now().UnixMilli()))
	defer a.hub.Close()

	a.srv = &httpwire.Server{
		LocalPrefix:     ws.Prefix,
		LocalFiles:      map[string]httpwire.LocalFile{ws.ScriptPath: {ContentType: "text/javascript; charset=utf-8", Body: ws.ClientScript()}},
		LocalUpgrade:    a.hub.ServeConn,
		ResponseTimeout: o.ResponseTimeout,
		Logf:            func(format string, args ...any) { log.Warnf(format, args...) },
	}
	if !o.NoInject {
		a.srv.Inject = ws.ScriptTag()
		a.srv.ScriptPath, a.srv.SocketPath = ws.ScriptPath, ws.SocketPath
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var supDone chan error
	switch o.Mode {
	case StaticMode:
		info, err := os.Stat(o.Root)
		if err != nil || !info.IsDir() {
			return fmt.Errorf("--root %s: not a directory", o.Root)
		}
		a.srv.Files = &httpwire.FileServer{Root: o.Root}
		a.reloads = newDebouncer(o.Debounce, a.reloadBrowsers)
	default:
		debounce := o.Debounce
		if debounce == 0 {
			debounce = time.Nanosecond // the supervisor reads zero as "default"
		}
		sup, err := supervisor.New(supervisor.Config{
			Command:      o.Command,
			Addr:         o.Backend,
			ReadyPath:    o.ReadyPath,
			ReadyTimeout: o.ReadyTimeout,
			StopSignal:   o.StopSignal,
			StopTimeout:  o.StopTimeout,
			Debounce:     debounce,
			IdleStop:     o.IdleStop,
			Log:          log,
			// Browsers reload when the new backend is ready, and when it
			// crashed, to show the 503 page.
			OnReady: func(uint64) { a.reloadBrowsers() },
			OnError: func(uint64) { a.reloadBrowsers() },
			OnLeaveRunning: func() {
				a.srv.CloseIdle()
				a.hub.Restarting(a.generation.Load() + 1)
			},
		})
		if err != nil {
			return err
		}
		a.sup = sup
		a.srv.Backend = backendAdapter{sup}
	}

	if err := a.listen(); err != nil {
		return err
	}
	tree, err := inotify.WatchTree(inotify.Options{
		Roots:       o.Watch,
		Patterns:    o.Patterns,
		Excludes:    o.Excludes,
		ReloadOnly:  o.ReloadOnly,
		NoGitignore: o.NoGitignore,
		OnChange:    a.changed,
		OnWarning:   func(err error) { log.Warn(err.Error()) },
	})
	if err != nil {
		a.closeListeners()
		return fmt.Errorf("watching files: %w", err)
	}
	defer tree.Close()

	if a.sup != nil {
		supDone = make(chan error, 1)
		go func() { supDone <- a.sup.Run(ctx) }()
	}
	var lr net.Listener
	if o.LiveReloadPort != 0 {
		lr = a.listenLiveReload()
	}
	a.announce()

	var wg sync.WaitGroup
	for _, ln := range a.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.srv.Serve(ln); err != nil && !errors.Is(err, httpwire.ErrServerClosed) {
				log.Error("accepting connections: " + err.Error())
			}
		}()
	}

	// Ctrl+C or SIGTERM: stop accepting, stop the backend, exit. A second
	// one exits at once; the backend dies with us through Pdeathsig.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-sigs:
		log.Info("stopping (" + sig.String() + "); press Ctrl+C again to quit at once")
	case err := <-supDone:
		supDone = nil
		if err != nil {
			log.Error(err.Error())
		}
	}
	go func() {
		<-sigs
		os.Exit(1)
	}()
	a.closeListeners()
	if lr != nil {
		lr.Close()
	}
	stop()
	if supDone != nil {
		<-supDone
	}
	a.srv.Close()
	wg.Wait()
	return nil
}

// changed receives file changes from the watcher's goroutine.
func (a *app) changed(c inotify.Change) {
	a.srv.NoteChange(time.Now())
	if c.Action == inotify.ReloadOnly {
		a.log.Info("reloading browsers: " + c.Path + " changed")
		if strings.HasSuffix(c.Path, ".css") {
			a.hub.ReloadCSS(c.Path)
		} else {
			a.reloadBrowsers()
		}
		return
	}
	path := c.Path
	if c.Op&inotify.Overflow != 0 {
		path = "(too many changes at once: inotify queue overflowed)"
	}
	if a.sup != nil {
		a.sup.Changed(path)
		return
	}
	a.reloads.trigger()
}

// reloadBrowsers tells every tab to reload, under a new generation so that
// tabs that were disconnected notice when they come back.
func (a *app) reloadBrowsers() { a.hub.Reload(a.generation.Add(1)) }

// listen opens the LISTEN address. localhost means both loopback addresses,
// so that a browser resolving localhost to ::1 first still connects.
func (a *app) listen() error {
	host, port, _ := net.SplitHostPort(a.o.Listen)
	addrs := []string{a.o.Listen}
	if host == "localhost" {
		addrs = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
	}
	for i, addr := range addrs {
		if i > 0 && port == "0" {
			// The same free port on the second address.
			_, p, _ := net.SplitHostPort(a.listeners[0].Addr().String())
			addr = net.JoinHostPort("::1", p)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if i > 0 && !errors.Is(err, syscall.EADDRINUSE) {
				continue // no IPv6 loopback here: 127.0.0.1 is enough
			}
			a.closeListeners()
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("cannot listen on %s: the address is already in use (is another reloadproxy or server running there?)", a.o.Listen)
			}
			return fmt.Errorf("cannot listen on %s: %v", a.o.Listen, err)
		}
		a.listeners = append(a.listeners, ln)
	}
	return nil
}

func (a *app) closeListeners() {
	for _, ln := range a.listeners {
		ln.Close()
	}
}

// listenLiveReload serves the LiveReload v7 protocol for the browser
// extension. A busy port is a warning, not a failure.
func (a *app) listenLiveReload() net.Listener {
	host, _, _ := net.SplitHostPort(a.o.Listen)
	if host == "localhost" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(a.o.LiveReloadPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.log.Warnf("LiveReload extension support is off: cannot listen on %s (%v); the injected script still reloads pages", addr, errors.Unwrap(err))
		return nil
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.hub.ServeLiveReload(c, nil)
		}
	}()
	return ln
}

func (a *app) announce() {
	url := "http://" + a.publicAddr() + "/"
	switch a.o.Mode {
	case StaticMode:
		a.log.Info("serving " + a.o.Root + " at " + url)
	case AttachMode:
		a.log.Info("proxying " + url + " to your server at " + a.o.Backend)
	case ProxyMode:
		a.log.Info("proxying " + url + " to " + a.o.Backend + ", running: " + strings.Join(a.o.Command, " "))
	}
}

// publicAddr is the address to print: the requested host with the port
// actually bound.
func (a *app) publicAddr() string {
	host, _, _ := net.SplitHostPort(a.o.Listen)
	_, port, _ := net.SplitHostPort(a.listeners[0].Addr().String())
	return net.JoinHostPort(host, port)
}

// backendAdapter lets httpwire ask the supervisor where to send requests
// without either package knowing the other (DESIGN.md, "Layout").
type backendAdapter struct{ s *supervisor.Supervisor }

func (b backendAdapter) Route() httpwire.Route {
	r := b.s.Route()
	route := httpwire.Route{Addr: r.Addr, Generation: r.Generation}
	if f := r.Failure; f != nil {
		route.Page = &httpwire.ErrorPage{Status: f.Status, Title: f.Title, Detail: f.Detail, Output: f.Output}
	}
	return route
}

func (b backendAdapter) Failed(gen uint64) { b.s.Failed(gen) }

// debouncer calls fn once a burst of triggers has been quiet for d.
type debouncer struct {
	mu    sync.Mutex
	d     time.Duration
	fn    func()
	timer *time.Timer
}

func newDebouncer(d time.Duration, fn func()) *debouncer {
	return &debouncer{d: d, fn: fn}
}

func (d *debouncer) trigger() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer == nil {
		d.timer = time.AfterFunc(d.d, d.fn)
		return
	}
	d.timer.Reset(d.d)
}
