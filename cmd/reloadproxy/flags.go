package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"reloadproxy/httpwire/proxy"
	"reloadproxy/inotify"
)

// Mode is what reloadproxy does, chosen by the positional arguments.
type Mode int

const (
	StaticMode Mode = iota // LISTEN: serve --root with live reload
	AttachMode             // LISTEN BACKEND: proxy to a server the user runs
	ProxyMode              // LISTEN BACKEND --exec COMMAND...: run and restart COMMAND
)

func (m Mode) String() string {
	return [...]string{"static", "attach", "proxy"}[m]
}

// Options is the parsed command line.
type Options struct {
	Mode    Mode
	Listen  string // host:port
	Backend string // host:port; empty in static mode
	Command []string

	Patterns, Excludes, ReloadOnly []string
	Watch                          []string
	Root                           string

	Debounce        time.Duration
	StopSignal      syscall.Signal
	StopTimeout     time.Duration
	ReadyPath       string
	ReadyTimeout    time.Duration
	ResponseTimeout time.Duration
	IdleStop        time.Duration
	LiveReloadPort  int
	NoInject        bool
	NoGitignore     bool
	Quiet           bool

	// Build is the shell command run before every start (--build).
	Build string
	// Poll is the stat-polling interval when --poll was given (0: not
	// forced); NoPoll forces inotify.
	Poll   time.Duration
	NoPoll bool
	// AllowedHosts are the --allowed-host names.
	AllowedHosts []string

	// Time bounds of client connections; hidden flags, so that tests can
	// shorten them. Users get the documented defaults.
	IdleTimeout, BodyTimeout, WriteTimeout time.Duration

	Help, Version bool
}

// errUsage marks command-line mistakes: the message is printed on one line
// and the exit status is 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// parseArgs parses the arguments after the program name. Everything after
// the first --exec is the backend's argv, verbatim. Values are checked
// before what they need (a mode, another flag), so that a bad value is
// named as such. It does not look at the file system: checkDirectories
// does.
func parseArgs(args []string, validGlob func(string) error) (*Options, error) {
	var command []string
	hasExec := false
	for i, a := range args {
		if a == "--exec" {
			command = args[i+1:]
			args = args[:i]
			hasExec = true
			break
		}
		if a == "--" {
			break
		}
	}
	o := &Options{}
	fs := newFlagSet(o, io.Discard)
	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v", err)
	}
	if o.Help || o.Version {
		return o, nil
	}
	if err := checkValues(o, fs, validGlob); err != nil {
		return nil, err
	}

	pos := fs.Args()
	if interval, ok := pollIntervalAfterSpace(args, pos); ok {
		return nil, usagef("--poll takes its interval after '=': write --poll=%s (after a space, %s is read as an address)", interval, interval)
	}
	var err error
	switch len(pos) {
	case 0:
		return nil, usagef("missing LISTEN address (a port like 8000, or HOST:PORT)")
	case 1, 2:
	default:
		return nil, usagef("too many arguments: %q (the backend command goes after --exec)", pos[2:])
	}
	if o.Listen, err = parseAddr("LISTEN", pos[0], true); err != nil {
		return nil, err
	}
	if len(pos) == 2 {
		if o.Backend, err = parseAddr("BACKEND", pos[1], false); err != nil {
			return nil, err
		}
		o.Mode = AttachMode
	}
	if hasExec {
		if o.Mode != AttachMode {
			return nil, usagef("--exec needs a BACKEND address before it: the port your server will listen on")
		}
		if len(command) == 0 {
			return nil, usagef("--exec needs a command to run")
		}
		o.Command = command
		o.Mode = ProxyMode
	}
	if err := checkModeOptions(o.Mode, fs); err != nil {
		return nil, err
	}
	if o.Mode != StaticMode && sameAddress(o.Listen, o.Backend) {
		return nil, usagef("LISTEN %s and BACKEND %s are the same address: reloadproxy would send requests to itself (your server needs a port of its own)", pos[0], pos[1])
	}
	// The LiveReload port is opened on LISTEN's host.
	if lrHost, _, _ := net.SplitHostPort(o.Listen); o.LiveReloadPort != 0 {
		lr := net.JoinHostPort(lrHost, strconv.Itoa(o.LiveReloadPort))
		switch {
		case sameAddress(lr, o.Listen):
			return nil, usagef("--livereload-port %d is LISTEN's port: choose another (0 turns it off)", o.LiveReloadPort)
		case o.Mode != StaticMode && sameAddress(lr, o.Backend):
			return nil, usagef("--livereload-port %d is BACKEND's port, where your server listens: choose another (0 turns it off)", o.LiveReloadPort)
		}
	}
	if len(o.Watch) == 0 {
		// Static mode watches what it serves, unless a build makes it:
		// then, like the other modes, the project, where the sources
		// are (what the build writes under --root never triggers).
		o.Watch = []string{"."}
		if o.Mode == StaticMode && o.Build == "" {
			o.Watch = []string{o.Root}
		}
	}
	return o, nil
}

// checkValues checks each flag's value on its own, whatever the mode.
func checkValues(o *Options, fs *pflag.FlagSet, validGlob func(string) error) error {
	stopSignal, _ := fs.GetString("stop-signal")
	sig, err := parseSignal(stopSignal)
	if err != nil {
		return err
	}
	o.StopSignal = sig
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"debounce", o.Debounce}, {"stop-timeout", o.StopTimeout}, {"ready-timeout", o.ReadyTimeout}, {"response-timeout", o.ResponseTimeout}, {"idle-stop", o.IdleStop}} {
		if d.v < 0 {
			return usagef("--%s must not be negative, got %v", d.name, d.v)
		}
	}
	if o.ReadyTimeout == 0 {
		return usagef("--ready-timeout must be positive")
	}
	if !strings.HasPrefix(o.ReadyPath, "/") {
		return usagef("--ready-path must start with /, got %q", o.ReadyPath)
	}
	// An empty name would be the working directory to some calls and an
	// error to others.
	if o.Root == "" {
		return usagef("--root needs a directory, such as --root public")
	}
	for _, w := range o.Watch {
		if w == "" {
			return usagef("--watch needs a directory, such as --watch src")
		}
	}
	if fs.Changed("poll") && o.NoPoll {
		return usagef("--poll and --no-poll contradict each other: choose one")
	}
	if fs.Changed("poll") && o.Poll < 10*time.Millisecond {
		return usagef("--poll interval must be at least 10ms, got %v", o.Poll)
	}
	if fs.Changed("build") && strings.TrimSpace(o.Build) == "" {
		return usagef("--build needs a command, such as --build 'go build -o app .'")
	}
	for _, h := range o.AllowedHosts {
		if err := validAllowedHost(h); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"idle-timeout", o.IdleTimeout}, {"body-timeout", o.BodyTimeout}, {"write-timeout", o.WriteTimeout}} {
		if d.v <= 0 {
			return usagef("--%s must be positive, got %v", d.name, d.v)
		}
	}
	if o.LiveReloadPort < 0 || o.LiveReloadPort > 65535 {
		return usagef("--livereload-port must be a port number (0 turns it off), got %d", o.LiveReloadPort)
	}
	for _, g := range []struct {
		flag  string
		globs []string
	}{{"--pattern", o.Patterns}, {"--exclude", o.Excludes}, {"--reload-only", o.ReloadOnly}} {
		for _, p := range g.globs {
			if err := validGlob(p); err != nil {
				return usagef("%s %q: %v", g.flag, p, err)
			}
		}
	}
	return nil
}

// Options that mean something only in some modes. Each of them given where
// it means nothing is refused: the user expects an effect it cannot have.
var (
	// execOptions are about a server reloadproxy runs itself: how it is
	// stopped, and stopping it when unused (DESIGN.md, "Command line").
	execOptions = []string{"stop-signal", "stop-timeout", "idle-stop"}
	// backendOptions are about a server reloadproxy talks to, run by it or
	// by the user: attach mode probes the user's server and waits for its
	// answers too. Static mode answers from the files itself.
	backendOptions = []string{"ready-path", "ready-timeout", "response-timeout"}
)

// checkModeOptions refuses the options given that mean nothing in mode.
func checkModeOptions(mode Mode, fs *pflag.FlagSet) error {
	if mode != StaticMode && fs.Changed("root") {
		return usagef("--root is for static mode (LISTEN alone); with a BACKEND your server serves the files")
	}
	for _, name := range execOptions {
		switch {
		case !fs.Changed(name):
		case mode == StaticMode:
			return usagef("--%s needs --exec: there is no server to stop in static mode", name)
		case mode == AttachMode:
			return usagef("--%s needs --exec: reloadproxy can only stop a server it started", name)
		}
	}
	for _, name := range backendOptions {
		if mode == StaticMode && fs.Changed(name) {
			return usagef("--%s needs a BACKEND address: in static mode reloadproxy serves --root itself, with no server to wait for", name)
		}
	}
	return nil
}

// pollIntervalAfterSpace finds the interval meant for --poll in "--poll
// 2s": --poll's value is optional, so it takes one only after '='
// (--poll=2s), and the 2s became a positional argument. A positional that
// is a duration with a unit cannot be an address (a port has none), so it
// was meant for --poll when --poll was given bare. args are those before
// --exec; a "--" ends the flags.
func pollIntervalAfterSpace(args, positional []string) (string, bool) {
	bare := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--poll" {
			bare = true
		}
	}
	if !bare {
		return "", false
	}
	for _, p := range positional {
		if _, err := time.ParseDuration(p); err != nil {
			continue
		}
		if _, err := strconv.Atoi(p); err != nil {
			return p, true
		}
	}
	return "", false
}

// checkDirectories checks, before anything starts, that --root (static
// mode) and every watched directory exist and are directories: a mistake
// there is a bad argument (exit status 2), not a failure found after the
// ports are open. A --root that does not exist yet is what a build makes
// (build outputs are seldom kept in the repository), as long as something
// else is watched: the sources it is built from.
func checkDirectories(o *Options) error {
	if o.Mode == StaticMode {
		switch d := statDir(o.Root); {
		case d.missing && o.Build != "":
			for _, w := range o.Watch {
				if filepath.Clean(w) == filepath.Clean(o.Root) {
					return usagef("--root %q does not exist yet: the build makes it, so watch the sources it is built from with -w (for example -w src)", o.Root)
				}
			}
		case d.problem != "":
			return usagef("--root %q: %s", o.Root, d.problem)
		}
	}
	for _, w := range o.Watch {
		switch d := statDir(w); {
		case d.file:
			return usagef("--watch %q: %s (watch the directory that holds it; -p picks files)", w, d.problem)
		case d.problem != "":
			return usagef("--watch %q: %s", w, d.problem)
		}
	}
	return nil
}

// dirState is what keeps a path from being served or watched as a
// directory: problem, empty when nothing does; file and missing say
// whether that is that it is a file or that it does not exist.
type dirState struct {
	problem       string
	file, missing bool
}

func statDir(dir string) dirState {
	info, err := os.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return dirState{}
	case err == nil:
		return dirState{problem: "not a directory", file: true}
	case errors.Is(err, os.ErrNotExist):
		return dirState{problem: "no such directory", missing: true}
	}
	return dirState{problem: fmt.Sprint(errors.Unwrap(err))}
}

func newFlagSet(o *Options, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("reloadproxy", pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	fs.SetInterspersed(true)
	fs.StringArrayVarP(&o.Patterns, "pattern", "p", nil, "only files matching `GLOB` trigger a restart (repeatable; default: any file)")
	fs.StringArrayVarP(&o.Excludes, "exclude", "x", nil, "files matching `GLOB` never trigger (repeatable; wins over --pattern)")
	fs.StringArrayVar(&o.ReloadOnly, "reload-only", nil, "files matching `GLOB` refresh the browser without a restart; CSS is swapped in place (repeatable)")
	fs.StringArrayVarP(&o.Watch, "watch", "w", nil, "`DIR` to watch (repeatable; default: ., or --root in static mode without --build)")
	fs.StringVar(&o.Root, "root", ".", "`DIR` to serve in static mode")
	fs.DurationVar(&o.Debounce, "debounce", 50*time.Millisecond, "quiet time after a change before the server starts again")
	fs.String("stop-signal", "KILL", "signal `SIG` that stops the server: KILL, TERM, INT, HUP, QUIT, USR1, USR2 or a number")
	fs.DurationVar(&o.StopTimeout, "stop-timeout", 5*time.Second, "after this long the server is sent SIGKILL")
	fs.StringVar(&o.ReadyPath, "ready-path", "/", "`PATH` probed with HEAD to tell that the server is ready")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 60*time.Second, "how long requests wait for the server before a 502 page")
	fs.DurationVar(&o.ResponseTimeout, "response-timeout", 0, "answer 504 when the server takes longer than this to respond (0: wait forever)")
	fs.DurationVar(&o.IdleStop, "idle-stop", 0, "stop the server after this long without requests; the next request starts it (0: never)")
	fs.IntVar(&o.LiveReloadPort, "livereload-port", 35729, "`PORT` of the LiveReload v7 server for the browser extension (0: off)")
	fs.BoolVar(&o.NoInject, "no-inject", false, "do not add the reload script to HTML pages")
	fs.BoolVar(&o.NoGitignore, "no-gitignore", false, "watch files that .gitignore lists")
	fs.DurationVar(&o.Poll, "poll", 0, "watch by stat polling every `DUR` instead of inotify (default 1s; automatic on network and VM mounts)")
	fs.Lookup("poll").NoOptDefVal = "1s"
	fs.BoolVar(&o.NoPoll, "no-poll", false, "always use inotify, even on network and VM mounts")
	fs.StringVar(&o.Build, "build", "", "shell `CMD` run before every start (and on changes in attach and static modes); a failed build keeps the old server")
	fs.StringArrayVar(&o.AllowedHosts, "allowed-host", nil, "also answer requests for host `NAME` (repeatable; .example.test: the domain and its subdomains; all: any host)")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", proxy.DefaultIdleTimeout, "close a client connection with no request in progress after this long")
	fs.DurationVar(&o.BodyTimeout, "body-timeout", proxy.DefaultBodyTimeout, "a request body without progress for this long gets 408")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", proxy.DefaultWriteTimeout, "drop a client that accepts no response byte for this long")
	for _, name := range []string{"idle-timeout", "body-timeout", "write-timeout"} {
		fs.MarkHidden(name)
	}
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print only warnings and errors")
	fs.BoolVar(&o.Version, "version", false, "print the version and exit")
	fs.BoolVarP(&o.Help, "help", "h", false, "show this help")
	return fs
}

const usageHead = `reloadproxy: a live-reloading HTTP reverse proxy for web development.

Usage:
  reloadproxy [flags] LISTEN BACKEND --exec COMMAND [ARG...]   run COMMAND, restart it when files change
  reloadproxy [flags] LISTEN BACKEND                          proxy to a server you run yourself
  reloadproxy [flags] LISTEN                                  serve --root with live reload

LISTEN and BACKEND are PORT (meaning localhost:PORT), HOST:PORT or [IPv6]:PORT.
Everything after --exec is the command and its arguments, run without a shell;
it gets PORT=<backend port> in its environment.

Globs match paths relative to the watched directory: * stays within one
directory, **/ spans any number of them: -p '**/*.py' is every Python file,
-p '*.py' only those at the top.

Examples:
  reloadproxy 8000 8001 --exec python3 manage.py runserver --noreload 8001
  reloadproxy 8000 8001 -p 'src/**/*' -x 'src/**/test_*' --exec node server.js
  reloadproxy 8000 8001 --build 'go build -o app .' -x app --exec ./app
  reloadproxy 0.0.0.0:8000 localhost:3000
  reloadproxy 8000 --root dist --build 'npm run build' -w src

Flags:
`

func printHelp(w io.Writer) {
	var o Options
	fs := newFlagSet(&o, w)
	io.WriteString(w, usageHead)
	fs.PrintDefaults()
	io.WriteString(w, "\n"+fill(fmt.Sprintf(`Never watched: the directories %s, any directory holding a pyvenv.cfg (a
virtualenv), .gitignored ones (unless --no-gitignore) and the ignore_dirs of
.watchmanconfig. Never a trigger: what servers write themselves (%s),
editor temporaries (*.swp, *~, #*#, .#*, 4913, *___jb_tmp___), and, with
--build, --exec's program when it lies under a watched directory (the build
writes it; without --build an edit of it restarts the server). Only real
edits count: a
file opened and closed without a write, chmod or chown is not a change.

Signals: Ctrl+C (SIGINT) or SIGTERM stops the server and exits; SIGHUP
rebuilds (with --build) and restarts by hand, but the SIGHUP of the terminal
reloadproxy runs in, when it closes, stops it as SIGTERM does (unless started
with nohup).

Security: only requests for localhost, *.localhost, IP addresses, LISTEN's
host name and --allowed-host names are answered (others get 403: this stops
DNS rebinding), and the reload sockets refuse pages of other origins.
`, strings.Join(inotify.NeverWatchedDirs(), ", "), strings.Join(inotify.NeverTriggerGlobs(), ", ")), helpWidth))
}

// helpWidth is the width --help's closing paragraphs are filled to.
const helpWidth = 78

// fill re-flows each paragraph of text (paragraphs are separated by a
// blank line) into lines of at most width columns, breaking at spaces:
// the lists interpolated into --help are longer than a line.
func fill(text string, width int) string {
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		col := 0
		for _, word := range strings.Fields(para) {
			switch {
			case col == 0:
			case col+1+len(word) > width:
				b.WriteString("\n")
				col = 0
			default:
				b.WriteString(" ")
				col++
			}
			b.WriteString(word)
			col += len(word)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// parseAddr turns PORT, HOST:PORT or [IPv6]:PORT into host:port. A bare
// port means localhost. Port 0 is allowed only for LISTEN (any free port).
func parseAddr(what, s string, listen bool) (string, error) {
	host, port := "localhost", s
	if strings.ContainsAny(s, ":[]") {
		var err error
		host, port, err = net.SplitHostPort(s)
		if err != nil && strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			return "", usagef("%s %q: put an IPv6 address in brackets, like [::1]:8000", what, s)
		}
		if err != nil {
			return "", usagef("%s %q: want PORT, HOST:PORT or [IPv6]:PORT", what, s)
		}
		if host == "" {
			host = "localhost"
		}
		if strings.Contains(host, ":") && !strings.HasPrefix(s, "[") {
			return "", usagef("%s %q: put an IPv6 address in brackets, like [::1]:8000", what, s)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return "", usagef("%s %q: %q is not a port number (1-65535)", what, s, port)
	}
	if strings.ContainsAny(host, " /?#@") {
		return "", usagef("%s %q: %q is not a host name or address", what, s, host)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// sameAddress reports whether listening on a would take b's port, or
// connecting to b would reach a: the same port on the same host, where
// localhost is any loopback address and a wildcard address covers
// loopback. Other addresses are told apart by their text: a wildcard
// LISTEN with this machine's LAN address as BACKEND is not caught, so that
// a backend on another machine with the same port never is. Port 0 (any
// free port) is no one's.
func sameAddress(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	ka, kb := hostKind(ha), hostKind(hb)
	switch {
	case strings.EqualFold(strings.TrimSuffix(ha, "."), strings.TrimSuffix(hb, ".")):
		return true
	case ka == otherHost || kb == otherHost:
		return false
	case ka == loopbackIP && kb == loopbackIP:
		return net.ParseIP(ha).Equal(net.ParseIP(hb))
	}
	return true // localhost, a loopback address or a wildcard on each side
}

type hostKinds int

const (
	otherHost     hostKinds = iota
	localhostName           // localhost or a name under it: any loopback address
	loopbackIP
	wildcardIP // every address of the machine
)

func hostKind(h string) hostKinds {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	ip := net.ParseIP(h)
	switch {
	case h == "" || ip != nil && ip.IsUnspecified():
		return wildcardIP
	case ip != nil && ip.IsLoopback():
		return loopbackIP
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return localhostName
	}
	return otherHost
}

// validAllowedHost checks an --allowed-host value: "all", a host name, or
// ".domain" for a domain and its subdomains. The port does not matter, so
// a name with one is refused with a hint.
func validAllowedHost(h string) error {
	name := strings.TrimPrefix(h, ".")
	switch {
	case h == proxy.AllowAll:
		return nil
	case name == "":
		return usagef("--allowed-host needs a host name, .domain or all")
	case strings.Contains(name, ":") && !strings.HasPrefix(h, "["):
		return usagef("--allowed-host %q: give the name without a port (any port is allowed)", h)
	}
	if !proxy.IsHostName(name) {
		return usagef("--allowed-host %q: not a host name (letters, digits, '-', '.')", h)
	}
	return nil
}

var signals = map[string]syscall.Signal{
	"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

func parseSignal(s string) (syscall.Signal, error) {
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signals[name]; ok {
		return sig, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, usagef("--stop-signal %q: not a signal name (KILL, TERM, INT, HUP, QUIT, USR1, USR2) or number", s)
}
