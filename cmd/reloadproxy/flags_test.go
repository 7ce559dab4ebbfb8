package main

import (
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func acceptGlob(string) error { return nil }

func TestParseArgsModesAndAddresses(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mode    Mode
		listen  string
		backend string
		command []string
	}{
		{"bare ports mean localhost", []string{"8000", "8001"}, AttachMode, "localhost:8000", "localhost:8001", nil},
		{"static mode", []string{"8000"}, StaticMode, "localhost:8000", "", nil},
		{"host and port", []string{"0.0.0.0:8000", "127.0.0.1:3000"}, AttachMode, "0.0.0.0:8000", "127.0.0.1:3000", nil},
		{"IPv6 in brackets", []string{"[::1]:8000", "[::1]:8001"}, AttachMode, "[::1]:8000", "[::1]:8001", nil},
		{"empty host means localhost", []string{":8000", "8001"}, AttachMode, "localhost:8000", "localhost:8001", nil},
		{"listen on any free port", []string{"0", "8001"}, AttachMode, "localhost:0", "localhost:8001", nil},
		{"exec takes the rest verbatim", []string{"8000", "8001", "--exec", "python3", "manage.py", "runserver", "--noreload", "-q", "8001"},
			ProxyMode, "localhost:8000", "localhost:8001", []string{"python3", "manage.py", "runserver", "--noreload", "-q", "8001"}},
		{"flags before positionals", []string{"-q", "--pattern", "src/**/*", "8000", "8001", "--exec", "sh", "-c", "exit 1"},
			ProxyMode, "localhost:8000", "localhost:8001", []string{"sh", "-c", "exit 1"}},
		{"flags between positionals", []string{"8000", "-x", "*.tmp", "8001"}, AttachMode, "localhost:8000", "localhost:8001", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args, acceptGlob)
			if err != nil {
				t.Fatal(err)
			}
			if o.Mode != tt.mode || o.Listen != tt.listen || o.Backend != tt.backend || !reflect.DeepEqual(o.Command, tt.command) {
				t.Errorf("got mode=%v listen=%q backend=%q command=%q\nwant mode=%v listen=%q backend=%q command=%q",
					o.Mode, o.Listen, o.Backend, o.Command, tt.mode, tt.listen, tt.backend, tt.command)
			}
		})
	}
}

func TestParseArgsDefaults(t *testing.T) {
	o, err := parseArgs([]string{"8000", "8001", "--exec", "true"}, acceptGlob)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Mode: ProxyMode, Listen: "localhost:8000", Backend: "localhost:8001", Command: []string{"true"},
		Watch: []string{"."}, Root: ".", Debounce: 50 * time.Millisecond, StopSignal: syscall.SIGKILL,
		StopTimeout: 5 * time.Second, ReadyPath: "/", ReadyTimeout: 60 * time.Second, LiveReloadPort: 35729,
		IdleTimeout: 2 * time.Minute, BodyTimeout: time.Minute, WriteTimeout: time.Minute,
	}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *o, want)
	}
}

func TestParseArgsFlags(t *testing.T) {
	o, err := parseArgs([]string{"-p", "src/**/*", "--pattern", "*.py", "-x", "src/**/test_*", "--reload-only", "*.css",
		"-w", "src", "-w", "templates", "--debounce", "10ms", "--stop-signal", "term", "--stop-timeout", "1s",
		"--ready-path", "/health", "--ready-timeout", "3s", "--response-timeout", "2s", "--idle-stop", "5m",
		"--livereload-port", "0", "--no-inject", "--no-gitignore", "-q", "--build", "make app", "--poll=250ms",
		"--allowed-host", "myapp.test", "--allowed-host", ".example.test", "8000", "8001", "--exec", "app"}, acceptGlob)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Mode: ProxyMode, Listen: "localhost:8000", Backend: "localhost:8001", Command: []string{"app"},
		Patterns: []string{"src/**/*", "*.py"}, Excludes: []string{"src/**/test_*"}, ReloadOnly: []string{"*.css"},
		Watch: []string{"src", "templates"}, Root: ".", Debounce: 10 * time.Millisecond, StopSignal: syscall.SIGTERM,
		StopTimeout: time.Second, ReadyPath: "/health", ReadyTimeout: 3 * time.Second, ResponseTimeout: 2 * time.Second,
		IdleStop: 5 * time.Minute, LiveReloadPort: 0, NoInject: true, NoGitignore: true, Quiet: true,
		Build: "make app", Poll: 250 * time.Millisecond, AllowedHosts: []string{"myapp.test", ".example.test"},
		IdleTimeout: 2 * time.Minute, BodyTimeout: time.Minute, WriteTimeout: time.Minute,
	}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("\n got %+v\nwant %+v", *o, want)
	}
	// --poll alone means every second.
	o, err = parseArgs([]string{"--poll", "8000"}, acceptGlob)
	if err != nil || o.Poll != time.Second {
		t.Errorf("--poll alone: %v, %v; want 1s", o.Poll, err)
	}
}

// TestParseArgsDistinctAddresses lists LISTEN and BACKEND pairs that share
// a port without being one socket: they must be accepted.
func TestParseArgsDistinctAddresses(t *testing.T) {
	for _, args := range [][]string{
		{"127.0.0.1:8000", "127.0.0.2:8000"},
		{"[::1]:8000", "127.0.0.1:8000"},
		{"0.0.0.0:8000", "192.168.1.5:8000"}, // a backend on another machine
		{"localhost:8000", "myhost:8000"},
		{"0", "8000"},
	} {
		if _, err := parseArgs(args, func(string) error { return nil }); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestParseArgsStaticModeWatchesRoot(t *testing.T) {
	o, err := parseArgs([]string{"--root", "/srv/site", "8000"}, acceptGlob)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Watch, []string{"/srv/site"}) {
		t.Errorf("static mode watches %q, want its --root", o.Watch)
	}
	o, err = parseArgs([]string{"--root", "/srv/site", "-w", "src", "8000"}, acceptGlob)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Watch, []string{"src"}) {
		t.Errorf("-w given: watches %q, want [src]", o.Watch)
	}
	// A build makes --root: the project is watched, as in the other modes.
	o, err = parseArgs([]string{"--root", "dist", "--build", "npm run build", "8000"}, acceptGlob)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Watch, []string{"."}) {
		t.Errorf("static mode with --build watches %q, want [.]", o.Watch)
	}
}

func TestParseArgsRejects(t *testing.T) {
	badGlob := func(g string) error {
		if strings.Contains(g, "[") {
			return errors.New("unclosed character class")
		}
		return nil
	}
	tests := []struct {
		name string
		args []string
		msg  string // a piece of the one-line reason
	}{
		{"nothing", nil, "missing LISTEN"},
		{"port not a number", []string{"80a0"}, `"80a0" is not a port number`},
		{"port too large", []string{"8000", "70000"}, `"70000" is not a port number`},
		{"backend port zero", []string{"8000", "0"}, `BACKEND "0"`},
		{"IPv6 without brackets", []string{"::1:8000"}, "brackets"},
		{"too many positionals", []string{"8000", "8001", "python3"}, "after --exec"},
		{"exec without backend", []string{"8000", "--exec", "python3"}, "--exec needs a BACKEND"},
		{"exec without command", []string{"8000", "8001", "--exec"}, "--exec needs a command"},
		{"unknown flag", []string{"--frobnicate", "8000"}, "unknown flag: --frobnicate"},
		{"bad duration", []string{"--debounce", "fast", "8000"}, "--debounce"},
		{"negative duration", []string{"--stop-timeout", "-1s", "8000", "8001", "--exec", "x"}, "--stop-timeout must not be negative"},
		{"bad signal", []string{"--stop-signal", "NOPE", "8000", "8001", "--exec", "x"}, `--stop-signal "NOPE"`},
		{"bad glob", []string{"-p", "src/[a", "8000", "8001"}, `--pattern "src/[a": unclosed character class`},
		{"idle-stop without exec", []string{"--idle-stop", "1m", "8000", "8001"}, "--idle-stop needs --exec"},
		{"root with backend", []string{"--root", "public", "8000", "8001"}, "--root is for static mode"},
		{"ready path relative", []string{"--ready-path", "health", "8000", "8001"}, "--ready-path must start with /"},
		{"livereload port", []string{"--livereload-port", "99999", "8000"}, "--livereload-port"},
		{"poll and no-poll", []string{"--poll", "--no-poll", "8000"}, "--poll and --no-poll contradict"},
		{"poll too fast", []string{"--poll=1ms", "8000"}, "at least 10ms"},
		{"poll not a duration", []string{"--poll=often", "8000"}, "--poll"},
		{"empty build", []string{"--build", " ", "8000"}, "--build needs a command"},
		{"allowed host with port", []string{"--allowed-host", "myapp.test:8000", "8000"}, "without a port"},
		{"allowed host not a name", []string{"--allowed-host", "my app", "8000"}, "not a host name"},
		{"allowed host empty", []string{"--allowed-host", "", "8000"}, "needs a host name"},
		{"backend is listen", []string{"8000", "8000", "--exec", "x"}, "same address: reloadproxy would send requests to itself"},
		{"backend is listen by IP", []string{"8000", "127.0.0.1:8000"}, "same address"},
		{"backend under a wildcard listen", []string{"0.0.0.0:8000", "127.0.0.2:8000"}, "same address"},
		{"backend is listen, localhost on IPv6", []string{"[::1]:8000", "localhost:8000"}, "same address"},
		{"backend is listen, names differ in case", []string{"myhost:8000", "MYHOST.:8000"}, "same address"},
		{"livereload port is listen's", []string{"--livereload-port", "8000", "8000"}, "--livereload-port 8000 is LISTEN's port"},
		{"livereload port is backend's", []string{"--livereload-port", "8001", "8000", "8001", "--exec", "x"}, "--livereload-port 8001 is BACKEND's port"},
		{"livereload port is attached backend's", []string{"--livereload-port", "8001", "8000", "8001"}, "--livereload-port 8001 is BACKEND's port"},

		// --poll's value is optional: it only takes one after "=".
		{"poll interval after a space", []string{"8000", "--poll", "2s"}, "--poll takes its interval after '=': write --poll=2s"},
		{"poll interval after a space, two addresses", []string{"--poll", "500ms", "8000", "8001"}, "write --poll=500ms"},
		{"poll interval after a space, proxy mode", []string{"8000", "8001", "--poll", "2s", "--exec", "x"}, "write --poll=2s"},

		{"empty root", []string{"--root", "", "8000"}, "--root needs a directory"},
		{"empty watch", []string{"-w", "", "8000"}, "--watch needs a directory"},
		{"empty watch among others", []string{"-w", "src", "--watch", "", "8000", "8001"}, "--watch needs a directory"},

		// Options about a server reloadproxy runs need --exec; those about
		// a server it talks to need a BACKEND.
		{"stop-signal in static mode", []string{"--stop-signal", "TERM", "8000"}, "--stop-signal needs --exec: there is no server to stop in static mode"},
		{"stop-signal in attach mode", []string{"--stop-signal", "TERM", "8000", "8001"}, "--stop-signal needs --exec: reloadproxy can only stop a server it started"},
		{"stop-timeout in static mode", []string{"--stop-timeout", "2s", "8000"}, "--stop-timeout needs --exec"},
		{"stop-timeout in attach mode", []string{"--stop-timeout", "2s", "8000", "8001"}, "--stop-timeout needs --exec"},
		{"idle-stop in static mode", []string{"--idle-stop", "1s", "8000"}, "--idle-stop needs --exec"},
		{"ready-path in static mode", []string{"--ready-path", "/health", "8000"}, "--ready-path needs a BACKEND"},
		{"ready-timeout in static mode", []string{"--ready-timeout", "5s", "8000"}, "--ready-timeout needs a BACKEND"},
		{"response-timeout in static mode", []string{"--response-timeout", "5s", "8000"}, "--response-timeout needs a BACKEND"},

		// A bad value is named before the mode it needs.
		{"negative idle-stop in static mode", []string{"--idle-stop", "-1s", "8000"}, "--idle-stop must not be negative, got -1s"},
		{"negative stop-timeout in attach mode", []string{"--stop-timeout", "-1s", "8000", "8001"}, "--stop-timeout must not be negative"},
		{"bad stop-signal in static mode", []string{"--stop-signal", "NOPE", "8000"}, `--stop-signal "NOPE"`},
		{"relative ready-path in static mode", []string{"--ready-path", "health", "8000"}, "--ready-path must start with /"},
		{"zero ready-timeout in static mode", []string{"--ready-timeout", "0s", "8000"}, "--ready-timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, badGlob)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("want a usage error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("reason %q: want one line containing %q", err, tt.msg)
			}
		})
	}
}

// TestParseArgsModeOptionsAccepted lists the options that mean something
// in a mode other than proxy mode: attach mode probes the user's server
// (--ready-path, --ready-timeout) and waits for its answers
// (--response-timeout); --debounce and --build apply in every mode.
func TestParseArgsModeOptionsAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"--ready-path", "/health", "--ready-timeout", "3s", "--response-timeout", "2s", "8000", "8001"},
		{"--debounce", "10ms", "--build", "make", "8000", "8001"},
		{"--debounce", "10ms", "--build", "make", "8000"},
		{"--poll=2s", "8000"},
		{"--poll", "8000", "8001"},
		{"--poll", "0", "8001"}, // LISTEN on any free port, not an interval
	} {
		if _, err := parseArgs(args, acceptGlob); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}
