// Command reloadproxy is a live-reloading HTTP reverse proxy for web
// development: it runs your server, proxies every request to it, watches your
// files, restarts the server when they change and makes the browser reload.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"reloadproxy/httpwire/proxy"
	"reloadproxy/httpwire/static"
	"reloadproxy/inotify"
	"reloadproxy/supervisor"
	"reloadproxy/ws"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	shareProcessors()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// shareProcessors lets the proxy run Go code on half of the processors it
// may use (at least one), unless GOMAXPROCS is set. A development proxy
// shares its machine with the server it fronts and the browser or load
// generator that talks to it; with a P for every processor, idle Ps spin
// looking for work and wake each other for every ready connection, which
// on a 2-processor machine cost 10-20% more CPU per proxied request and
// lower throughput (see README, Performance). With fewer Ps the netpoller
// hands each one a batch of ready connections, as an event loop would.
func shareProcessors() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/2))
	}
}

func run(args []string, stdout io.Writer, stderr *os.File) int {
	o, err := parseArgs(args, inotify.ValidateGlob)
	if err == nil && !o.Help && !o.Version {
		err = checkDirectories(o)
	}
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

// app is one running reloadproxy: the listeners, the proxy servers, the
// reload hub, the supervisor and the watcher.
type app struct {
	o   *Options
	log *logger

	hosts        *proxy.HostPolicy
	srv          *proxy.Server // the LISTEN port
	liveReload   *proxy.Server // the LiveReload port, when on
	liveReloadLn net.Listener
	hub          *ws.Hub
	sup          *supervisor.Supervisor
	listeners    []net.Listener
	buildFirst   bool // static mode: --root is made by a build run at start
	// rootPending is answered instead of the files (static mode with
	// --build) while --root is not there to serve: see filesPending.
	rootPending atomic.Pointer[pendingRoot]
}

// pendingRoot is the page static mode answers while --root is not there:
// until the first build ends, or, after a build failed, as long as --root
// does not exist.
type pendingRoot struct {
	page         *proxy.ErrorPage
	whileMissing bool
}

func serve(o *Options, log *logger) error {
	a := &app{o: o, log: log, hub: ws.NewHub()}
	defer a.hub.Close()
	a.hosts = a.hostPolicy()
	a.srv = a.newServer()
	if o.Mode == StaticMode {
		a.wireStatic()
	}
	if err := a.newSupervisor(); err != nil {
		return err
	}
	if o.Mode != StaticMode {
		a.srv.Backend = backendAdapter{a.sup}
	}
	// The LiveReload port first: once LISTEN accepts connections, every
	// port reloadproxy opens is open.
	if o.LiveReloadPort != 0 {
		a.listenLiveReload()
	}
	if err := a.listen(); err != nil {
		a.closeListeners()
		return err
	}
	tree, err := inotify.WatchTree(inotify.Options{
		Roots:        o.Watch,
		Patterns:     o.Patterns,
		Excludes:     append(append(o.Excludes, a.programExcludes()...), a.outputExcludes()...),
		ReloadOnly:   o.ReloadOnly,
		NoGitignore:  o.NoGitignore,
		Method:       a.watchMethod(),
		PollInterval: o.Poll,
		OnChange:     a.changed,
		OnWarning:    func(err error) { log.Warn(err.Error()) },
	})
	if err != nil {
		a.closeListeners()
		return fmt.Errorf("watching files: %w", err)
	}
	defer tree.Close()
	for _, r := range tree.Roots() {
		log.Info(fmt.Sprintf("watching %s with %s (%s)", r.Root, r.Method, r.Reason))
	}
	return a.run()
}

// hostPolicy is the Host allow-list of every port: localhost, IP literals,
// LISTEN's host when it is a name, and --allowed-host.
func (a *app) hostPolicy() *proxy.HostPolicy {
	names := append([]string(nil), a.o.AllowedHosts...)
	if host, _, _ := net.SplitHostPort(a.o.Listen); host != "" {
		names = append(names, host)
	}
	return proxy.NewHostPolicy(names...)
}

// newServer returns the server of the LISTEN port, with the reload
// client's endpoints; the mode's wiring adds where requests go.
func (a *app) newServer() *proxy.Server {
	srv := &proxy.Server{
		Hosts:       a.hosts,
		LocalPrefix: ws.Prefix,
		Local: map[string]proxy.Endpoint{
			ws.ScriptPath: {ContentType: "text/javascript; charset=utf-8", Body: ws.ClientScript()},
			ws.SocketPath: {WebSocket: a.hub.ServeConn},
		},
		ResponseTimeout: a.o.ResponseTimeout,
		IdleTimeout:     a.o.IdleTimeout,
		BodyTimeout:     a.o.BodyTimeout,
		WriteTimeout:    a.o.WriteTimeout,
		Logf:            func(format string, args ...any) { a.log.Warnf(format, args...) },
	}
	if !a.o.NoInject {
		srv.Inject = ws.ScriptTag()
		srv.ScriptPath, srv.SocketPath = ws.ScriptPath, ws.SocketPath
	}
	return srv
}

// wireStatic serves --root from the LISTEN port. With --build, a --root
// that does not exist yet is what the first build makes (checkDirectories
// allowed it): buildFirst asks for that build at start.
func (a *app) wireStatic() {
	if _, err := os.Stat(a.o.Root); errors.Is(err, os.ErrNotExist) && a.o.Build != "" {
		a.buildFirst = true
		a.rootPending.Store(&pendingRoot{page: &proxy.ErrorPage{
			Status: 503,
			Title:  "building " + a.o.Root,
			Detail: fmt.Sprintf("--root %s does not exist yet: reloadproxy is running the build `%s` that makes it. This page reloads when it is done.", a.o.Root, a.o.Build),
		}})
	}
	a.srv.Files = &static.FileServer{Root: a.o.Root}
	if a.o.Build != "" {
		a.srv.FilesPending = a.filesPending
	}
}

// filesPending is the static server's FilesPending: a 503 instead of 404s
// while the first build makes --root, and the failure's page, with the
// build's output, while a failed build left no --root to serve (README,
// "Build step": with nothing to serve, requests get that page).
func (a *app) filesPending() *proxy.ErrorPage {
	p := a.rootPending.Load()
	if p == nil {
		return nil
	}
	if p.whileMissing {
		if _, err := os.Stat(a.o.Root); err == nil {
			return nil
		}
	}
	return p.page
}

// staticBuildEnded records how a build ended for filesPending (static mode).
func (a *app) staticBuildEnded(failure *supervisor.BuildFailure) {
	if a.o.Mode != StaticMode {
		return
	}
	if failure == nil {
		a.rootPending.Store(nil)
		return
	}
	a.rootPending.Store(&pendingRoot{whileMissing: true, page: &proxy.ErrorPage{
		Status: 503,
		Title:  "build failed (" + failure.Exit + ")",
		Detail: fmt.Sprintf("The build command `%s` failed, and there is no --root %s to serve. Fix the problem and save a file: reloadproxy builds again.", failure.Command, a.o.Root),
		Output: failure.Output,
	}})
}

// newSupervisor creates the supervisor of every mode: it builds, runs and
// restarts --exec's command (proxy mode), waits for the user's server after
// a change (attach mode), or only builds and numbers the changes (static
// mode). Its generation is the one browsers see: it starts at the time the
// proxy started, so that tabs left open across a restart of reloadproxy
// itself reload too.
func (a *app) newSupervisor() error {
	o := a.o
	stdout, stderr := a.log.serverOutput(os.Stdout)
	sup, err := supervisor.New(supervisor.Config{
		Stdout:          stdout,
		Stderr:          stderr,
		Command:         o.Command,
		Addr:            o.Backend,
		Build:           o.Build,
		FirstGeneration: uint64(time.Now().UnixMilli()),
		ReadyPath:       o.ReadyPath,
		ReadyTimeout:    o.ReadyTimeout,
		StopSignal:      o.StopSignal,
		StopTimeout:     o.StopTimeout,
		Debounce:        o.Debounce,
		IdleStop:        o.IdleStop,
		Log:             a.log,
		OnReady: func(gen uint64, why supervisor.ReloadReason) {
			if why != supervisor.Started {
				// Static mode: a build succeeded (Started comes at
				// once, before the first build).
				a.staticBuildEnded(nil)
			}
			a.hub.Reload(gen, reloadKind(why))
		},
		// The tabs reload to show the 503 page.
		OnError: func(gen uint64) { a.hub.Reload(gen, ws.Failure) },
		OnLeaveRunning: func() {
			a.srv.CloseIdle()
			a.hub.Restarting()
		},
		OnBuildStarted: a.hub.Building,
		OnBuildFailed: func(f supervisor.BuildFailure) {
			a.staticBuildEnded(&f)
			a.hub.BuildFailed(ws.BuildFailure{Command: f.Command, Exit: f.Exit, Output: f.Output})
		},
		OnRestartLoop: func(path string) { a.log.Warn(restartLoopWarning(path)) },
		OnBuildLoop:   func(path string, isDir bool) { a.log.Warn(buildLoopWarning(path, isDir)) },
	})
	if err != nil {
		return err
	}
	a.sup = sup
	return nil
}

// restartLoopWarning tells that path, which changed each time the server
// started, is ignored while the server starts from now on, and gives the
// -x that excludes it, ready to paste into a shell.
func restartLoopWarning(path string) string {
	return fmt.Sprintf("%s changed each time the server started, 3 restarts in a row: from now on its changes while the server starts are ignored. "+
		"If your server writes it, exclude it: -x %s", path, shellQuote(globEscape(path)))
}

// buildLoopWarning is the warning for a path (or a directory, isDir)
// whose changes cancelled three builds in a row: the build probably writes
// there, into a watched directory, and will cancel itself each time. For a
// path it suggests the -x for the path, and for its directory, where a
// build writes its other output too.
func buildLoopWarning(path string, isDir bool) string {
	if isDir {
		return fmt.Sprintf("files in %s changed as the build ran, cancelling 3 builds in a row. If the build writes them, exclude the directory: -x %s", path, shellQuote(globEscape(path)))
	}
	msg := fmt.Sprintf("%s changed as the build ran, cancelling 3 builds in a row. If the build writes it, exclude it: -x %s", path, shellQuote(globEscape(path)))
	if dir := filepath.Dir(path); dir != "." && dir != "/" {
		msg += fmt.Sprintf(" (or its directory: -x %s)", shellQuote(globEscape(dir)))
	}
	return msg
}

// shellQuote quotes s as one word for a POSIX shell: inside single quotes
// nothing is special but the single quote itself, which cannot be escaped
// there, so each one closes the quotes, adds an escaped ' and reopens them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// reloadKind says how tabs treat a reload: one the page's own live-update
// client (Vite, webpack, ...) may handle, or one that needs a fresh page.
func reloadKind(why supervisor.ReloadReason) ws.ReloadKind {
	switch why {
	case supervisor.Change, supervisor.Recovered:
		// Files changed, or the user's server restarted by itself: a page
		// with its own client hears of it from that client.
		return ws.Change
	}
	return ws.Restart
}

// watchMethod turns --poll and --no-poll into the watcher's method.
func (a *app) watchMethod() inotify.Method {
	switch {
	case a.o.Poll > 0:
		return inotify.Poll
	case a.o.NoPoll:
		return inotify.Inotify
	}
	return inotify.Auto
}

// programExcludes keeps --exec's program from triggering, with --build,
// when it lies under a watched root: the build writes it (go build -o
// app), which is not an edit. Without --build the program is a file like
// any other: a script run directly, or a binary the developer rebuilds in
// another terminal, and its edits restart the server.
// A program given as a path is excluded whether or not it exists yet: on a
// fresh checkout the build creates it, and writing it must not cancel that
// build. exec runs such a path as it is, relative to the working
// directory, and searches PATH only for a bare name.
func (a *app) programExcludes() []string {
	if len(a.o.Command) == 0 || a.o.Build == "" {
		return nil
	}
	prog := a.o.Command[0]
	if !strings.Contains(prog, "/") {
		found, err := exec.LookPath(prog)
		if err != nil {
			return nil
		}
		prog = found
	}
	var globs []string
	for _, rel := range a.underWatchRoots(prog) {
		globs = append(globs, globEscape(rel))
	}
	return globs
}

// outputExcludes keeps what a build writes under --root (static mode) from
// triggering when --root lies under a watched root: each build would
// otherwise start the next, without end.
func (a *app) outputExcludes() []string {
	if a.o.Mode != StaticMode || a.o.Build == "" {
		return nil
	}
	var globs []string
	for _, rel := range a.underWatchRoots(a.o.Root) {
		globs = append(globs, globEscape(rel), globEscape(rel)+"/**")
	}
	return globs
}

// underWatchRoots gives path relative to each watched root that it lies
// strictly under, with slashes.
func (a *app) underWatchRoots(path string) []string {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	var rels []string
	for _, root := range a.o.Watch {
		abs, err := filepath.Abs(root)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(abs, path)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	return rels
}

// globEscape quotes the characters a glob gives a meaning to.
func globEscape(path string) string {
	var b strings.Builder
	for _, c := range path {
		if strings.ContainsRune(`*?[]{}\!`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// run serves until Ctrl+C, SIGTERM or the supervisor's end, then stops
// everything in order: listeners, backend, connections.
func (a *app) run() error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	supDone := make(chan error, 1)
	go func() { supDone <- a.sup.Run(ctx) }()
	a.announce()
	if a.buildFirst {
		a.log.Info(fmt.Sprintf("--root %s does not exist yet: building it", a.o.Root))
		a.sup.Restart()
	}

	var wg sync.WaitGroup
	serveOn := func(srv *proxy.Server, ln net.Listener) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, proxy.ErrServerClosed) {
				a.log.Error("accepting connections: " + err.Error())
			}
		}()
	}
	for _, ln := range a.listeners {
		serveOn(a.srv, ln)
	}
	if a.liveReload != nil {
		serveOn(a.liveReload, a.liveReloadLn)
	}

	// Ctrl+C or SIGTERM: stop accepting, stop the backend, exit. A second
	// one exits at once, having killed the backend's group and its strays
	// (Pdeathsig would reach the backend alone).
	// SIGHUP rebuilds and restarts by hand, unless it is the hangup of the
	// terminal reloadproxy ran in: then nobody is left to stop it, and it
	// stops as for SIGTERM (under nohup it keeps running).
	term := watchTerminal()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var stopping string // why, logged once the second signal is watched for
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				switch {
				case !term.hungUp():
					a.log.Info("SIGHUP: rebuilding and restarting by hand")
					a.sup.Restart()
					continue
				case term.nohup:
					a.log.Info("terminal closed (SIGHUP): still running, since SIGHUP was ignored at start (nohup)")
					continue
				}
				stopping = "terminal closed (SIGHUP): stopping"
				break wait
			}
			stopping = "stopping (" + sig.String() + "); press Ctrl+C again to quit at once"
			break wait
		case err := <-supDone:
			supDone = nil
			if err != nil {
				a.log.Error(err.Error())
			}
			break wait
		}
	}
	// Watched for before anything is logged: a log line blocks while
	// nobody reads stderr (a full pipe), and the second signal must
	// still end everything then. Its own line is written only if that
	// does not block.
	go func() {
		for sig := range sigs {
			if sig != syscall.SIGHUP {
				logged := make(chan struct{})
				go func() {
					a.log.Info("quitting at once (" + sig.String() + "): killing every process of the server")
					close(logged)
				}()
				a.sup.Kill()
				select {
				case <-logged:
				case <-time.After(100 * time.Millisecond):
				}
				os.Exit(1)
			}
		}
	}()
	if stopping != "" {
		a.log.Info(stopping)
	}
	a.closeListeners()
	stop()
	if supDone != nil {
		<-supDone
	}
	a.srv.Close()
	if a.liveReload != nil {
		a.liveReload.Close()
	}
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
			a.sup.Reload() // a new generation: tabs away now notice too
		}
		return
	}
	path := c.Path
	if c.Op&inotify.Overflow != 0 {
		a.sup.Changed("(too many changes at once: inotify queue overflowed)")
		return
	}
	if _, err := os.Lstat(filepath.Join(c.Root, filepath.FromSlash(path))); errors.Is(err, fs.ErrNotExist) {
		// Deleted, or the temporary file of a save renamed over the
		// original: the log names the original, which changed with it.
		a.sup.ChangedAway(path)
		return
	}
	a.sup.Changed(path)
}

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
	for _, ln := range a.listeners {
		if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			a.log.Warn(fmt.Sprintf("listening on %s, which is not a loopback address: anyone on your network can reach your app through it (and, in static mode, the files under --root)", ln.Addr()))
			break
		}
	}
	return nil
}

func (a *app) closeListeners() {
	for _, ln := range a.listeners {
		ln.Close()
	}
	if a.liveReloadLn != nil {
		a.liveReloadLn.Close()
	}
}

// listenLiveReload opens the LiveReload v7 port for the browser extension:
// a server of its own whose only endpoints are the LiveReload script and
// socket. A busy port is a warning, not a failure.
func (a *app) listenLiveReload() {
	host, _, _ := net.SplitHostPort(a.o.Listen)
	if host == "localhost" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(a.o.LiveReloadPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.log.Warnf("LiveReload extension support is off: cannot listen on %s (%v); the injected script still reloads pages", addr, errors.Unwrap(err))
		return
	}
	a.liveReloadLn = ln
	a.liveReload = &proxy.Server{
		Hosts:       a.hosts,
		LocalPrefix: "/",
		Local: map[string]proxy.Endpoint{
			ws.LiveReloadScriptPath: {ContentType: "text/javascript; charset=utf-8", Body: ws.LiveReloadScript()},
			ws.LiveReloadSocketPath: {WebSocket: a.hub.ServeLiveReload, ExtensionOrigins: true},
		},
		IdleTimeout:  a.o.IdleTimeout,
		BodyTimeout:  a.o.BodyTimeout,
		WriteTimeout: a.o.WriteTimeout,
		Logf:         func(format string, args ...any) { a.log.Warnf(format, args...) },
	}
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

// backendAdapter lets the proxy ask the supervisor where to send requests
// without either package knowing the other (DESIGN.md, "Layout").
type backendAdapter struct{ s *supervisor.Supervisor }

func (b backendAdapter) Route() proxy.Route {
	r := b.s.Route()
	route := proxy.Route{Addr: r.Addr, Generation: r.Generation}
	if f := r.Failure; f != nil {
		route.Page = &proxy.ErrorPage{Status: f.Status, Title: f.Title, Detail: f.Detail, Output: f.Output}
	}
	return route
}

func (b backendAdapter) Failed(gen uint64) { b.s.Failed(gen) }
