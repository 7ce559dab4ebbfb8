package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

const fixHint = "Fix the problem and save a file: reloadproxy restarts it."

// exitFailure describes a backend that exited by itself.
func (s *Supervisor) exitFailure(ps *os.ProcessState, out []byte) *Failure {
	f := &Failure{Status: 503, Output: out}
	if hasAddrInUse(out) {
		f.Title = fmt.Sprintf("%s could not listen on %s: address already in use", s.name, s.cfg.Addr)
		f.Detail = fmt.Sprintf("`%s` exited because another program already uses that port, perhaps an older copy of your server. Stop that program (`ss -ltnp` shows who listens where) or choose another backend port, then save a file: reloadproxy restarts it.", s.cmdline)
		return f
	}
	f.Title = s.name + " " + describeExit(ps)
	f.Detail = fmt.Sprintf("The command `%s` stopped by itself; a web server should keep running. %s", s.cmdline, fixHint)
	return f
}

// describeExit says how a process ended: "exited with status 1", "was
// killed by signal SIGSEGV (segmentation fault)".
func describeExit(ps *os.ProcessState) string {
	if ps == nil {
		return "exited"
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return "exited: " + ps.String()
	}
	switch {
	case ws.Exited():
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	case ws.Signaled():
		sig := ws.Signal()
		msg := fmt.Sprintf("was killed by signal %s (%s)", signalName(sig), sig.String())
		if ws.CoreDump() {
			msg += ", core dumped"
		}
		return msg
	}
	return "exited: " + ps.String()
}

// hasAddrInUse reports whether out mentions EADDRINUSE, as Python, Node,
// Go, Ruby... print it.
func hasAddrInUse(out []byte) bool {
	return bytes.Contains(out, []byte("EADDRINUSE")) ||
		bytes.Contains(bytes.ToLower(out), []byte("address already in use"))
}

func addrInUseTitle(addr string) string {
	return "Address already in use: something else is listening on " + addr
}

// startFailure describes a backend that could not be started.
func (s *Supervisor) startFailure(err error) *Failure {
	f := &Failure{Status: 503}
	name := s.cfg.Command[0]
	switch {
	case errors.Is(err, errAddrInUse):
		f.Title = addrInUseTitle(s.cfg.Addr)
		f.Detail = fmt.Sprintf("reloadproxy did not start `%s`, because another program already accepts connections at %s, perhaps an older copy of your server. Stop it (`ss -ltnp` shows who listens where) or choose another BACKEND address, then save a file to try again.", s.cmdline, s.cfg.Addr)
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		f.Title = "Executable not found: " + name
		where := "in any directory of PATH"
		if strings.ContainsRune(name, '/') {
			where = "at that path (or the interpreter on its #! line is missing)"
		}
		f.Detail = fmt.Sprintf("reloadproxy could not start `%s`: no program %s was found %s. Check the command after --exec and your PATH, then save a file to try again.", s.cmdline, name, where)
	case errors.Is(err, fs.ErrPermission):
		f.Title = "Permission denied: " + name
		f.Detail = fmt.Sprintf("reloadproxy could not start `%s`: %s is not executable (try chmod +x) or a directory on the way is not searchable. Check the command after --exec, then save a file to try again.", s.cmdline, name)
	default:
		f.Title = "Cannot start " + s.name
		f.Detail = fmt.Sprintf("reloadproxy could not start `%s`: %v. Check the command after --exec, then save a file to try again.", s.cmdline, err)
	}
	return f
}

// notReadyFailure is the 502 (503 for a start being retried) of a backend
// that did not answer, or a build that did not finish, within ReadyTimeout,
// as sn describes it.
func (s *Supervisor) notReadyFailure(sn *snapshot) *Failure {
	d := fmtDuration(s.cfg.ReadyTimeout)
	switch {
	case sn.retryErr != nil:
		return s.retryFailure(sn.retryErr, sn.building)
	case sn.quietAfter != "":
		return &Failure{
			Status: 502,
			Title:  fmt.Sprintf("Restarting %s: waiting for the files to stop changing", s.name),
			Detail: fmt.Sprintf("reloadproxy stopped `%s` after %s changed, and starts it again once the watched files have been quiet for %s: after %s they are still changing. If something keeps writing into a watched directory, exclude it with -x. This page reloads by itself once the server is ready.",
				s.cmdline, sn.quietAfter, fmtDuration(s.cfg.Debounce), d),
		}
	case sn.oldStopping:
		return &Failure{
			Status: 502,
			Title:  fmt.Sprintf("Restarting %s: the old process has not exited yet", s.name),
			Detail: fmt.Sprintf("reloadproxy asked `%s` to stop (--stop-signal) and kills it after --stop-timeout (%s); the new one starts once it has exited. Its output is below. This page reloads by itself once the server is ready.",
				s.cmdline, fmtDuration(s.cfg.StopTimeout)),
			Output: sn.out.snapshot(),
		}
	case sn.building:
		return &Failure{
			Status: 502,
			Title:  "The build is still running after " + d,
			Detail: fmt.Sprintf("reloadproxy runs the build command `%s` before it starts `%s`, and it has not finished yet. Its output so far is below.", s.cfg.Build, s.cmdline),
			Output: sn.out.snapshot(),
		}
	case s.mode == attachMode:
		return &Failure{
			Status: 502,
			Title:  "Nothing is answering at " + s.cfg.Addr,
			Detail: fmt.Sprintf("Nothing is answering at %s. Start your server there, or check the BACKEND address. (reloadproxy waited %s; this page reloads by itself once the server answers.)", s.cfg.Addr, d),
		}
	}
	return &Failure{
		Status: 502,
		Title:  fmt.Sprintf("%s did not become ready within %s", s.name, d),
		Detail: fmt.Sprintf("reloadproxy started `%s` and is waiting for it to answer HTTP at %s (HEAD %s). Check that it listens on that address: it gets PORT=%s in its environment.", s.cmdline, s.cfg.Addr, s.cfg.ReadyPath, s.port),
		Output: sn.out.snapshot(),
	}
}

// transientErrnos are the start errors that pass by themselves: a limit on
// descriptors (the pipes), processes or memory was reached for a moment.
var transientErrnos = [...]syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EAGAIN, syscall.ENOMEM}

// transientErrno returns the errno that makes err a transient start error,
// or 0.
func transientErrno(err error) syscall.Errno {
	for _, e := range transientErrnos {
		if errors.Is(err, e) {
			return e
		}
	}
	return 0
}

// retryTitle is the one line of a start that is being retried: "cannot
// start python3: too many open files; retrying".
func (s *Supervisor) retryTitle(err error, build bool) string {
	what := s.name
	if build {
		what = "the build"
	}
	why := err.Error()
	if e := transientErrno(err); e != 0 {
		why = e.Error()
	}
	return "cannot start " + what + ": " + why + "; retrying"
}

// retryFailure is the 503 of a start (of the backend, or of the build) that
// keeps failing for lack of resources.
func (s *Supervisor) retryFailure(err error, build bool) *Failure {
	cmd := s.cmdline
	if build {
		cmd = "sh -c " + shellQuote(s.cfg.Build)
	}
	return &Failure{
		Status: 503,
		Title:  s.retryTitle(err, build),
		Detail: fmt.Sprintf("reloadproxy could not start `%s`: %v. A limit on open files, processes or memory was reached (see ulimit -n and ulimit -u, or close programs you do not need); reloadproxy keeps trying, every 2 s at most.", cmd, err),
	}
}

// describeBuildExit says how a build ended, for titles and log lines: "exit
// 2", "killed by SIGSEGV"; and its exit status, -1 for a signal.
func describeBuildExit(ps *os.ProcessState) (string, int) {
	if ps == nil {
		return "exited", -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + signalName(ws.Signal()), -1
	}
	return fmt.Sprintf("exit %d", ps.ExitCode()), ps.ExitCode()
}

// buildPageFailure is Error's Failure when the build failed and no backend
// runs.
func (s *Supervisor) buildPageFailure(bf *BuildFailure) *Failure {
	what := "reloadproxy did not start `" + s.cmdline + "`"
	if s.mode != proxyMode {
		what = "reloadproxy did not reload the browsers"
	}
	return &Failure{
		Status: 503,
		Title:  "build failed (" + bf.Exit + ")",
		Detail: fmt.Sprintf("The build command `%s` failed, so %s. Fix the problem and save a file: reloadproxy builds again.", bf.Command, what),
		Output: bf.Output,
	}
}

// quoteCommand joins argv for display, quoting for a POSIX shell where
// needed, so the user can copy it into a terminal.
func quoteCommand(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("@%+=:,./-_", c) >= 0) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
