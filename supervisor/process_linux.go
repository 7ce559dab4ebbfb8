package supervisor

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errAddrInUse means something already accepted a connection on Addr
// before the backend was started.
var errAddrInUse = errors.New("address already in use")

// children holds the pids of the backends started by every Supervisor of
// this process that have not been reaped yet. The stray scan leaves them
// alone. mu is held from fork to registration so that a concurrent scan
// never sees an unregistered backend.
var children = struct {
	mu   sync.Mutex
	pids map[int]struct{}
}{pids: map[int]struct{}{}}

// testHookStarted, if set, runs on the process goroutine after the start.
var testHookStarted func()

var subreaper struct {
	once sync.Once
	err  error
}

// becomeSubreaper makes this process a child subreaper (prctl(2)
// PR_SET_CHILD_SUBREAPER), once, so that orphaned descendants of the backend
// are reparented to it rather than to init.
func becomeSubreaper() error {
	subreaper.once.Do(func() {
		subreaper.err = os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	})
	return subreaper.err
}

func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true, // own group: signal it as a whole; Ctrl+C at the terminal is ours to handle
		Pdeathsig: syscall.SIGKILL,
	}
}

// killGroup wraps kill(2) on the process group pgid.
func killGroup(pgid int, sig syscall.Signal) {
	_ = unix.Kill(-pgid, sig)
}

// runProcess starts p and waits for it; it runs on its own goroutine and
// posts a started and an exited procMsg to the loop.
//
// The goroutine locks its OS thread and never unlocks it: Pdeathsig is tied
// to the thread that forked, so that thread must live as long as the child.
// The goroutine returns only after the child has been reaped, and the
// runtime then ends the locked thread.
func (s *Supervisor) runProcess(p *process) {
	runtime.LockOSThread()
	post := func(m procMsg) {
		m.p = p
		s.procC <- m // the loop reads procC until this process has exited
	}
	if addrAnswers(s.cfg.Addr) {
		post(procMsg{exited: true, startErr: errAddrInUse})
		return
	}
	children.mu.Lock()
	startedAt := time.Now()
	err := p.cmd.Start()
	var pid int
	if err == nil {
		pid = p.cmd.Process.Pid
		children.pids[pid] = struct{}{}
	}
	children.mu.Unlock()
	if err != nil {
		post(procMsg{exited: true, startErr: err})
		return
	}
	p.mu.Lock()
	p.pid = pid
	p.mu.Unlock()
	post(procMsg{startedAt: startedAt})
	if testHookStarted != nil {
		testHookStarted()
	}

	// Wait for the exit without reaping: while the child is a zombie its
	// pid, and so its process group id, cannot be reused, so the group
	// kill below cannot hit an unrelated group.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	killGroup(pid, syscall.SIGKILL) // what is left of the group
	p.gone = true
	p.mu.Unlock()
	strays := killStrays()
	// Strays were holding the output pipes too; now Wait sees EOF at once.
	_ = p.cmd.Wait()
	p.out.flush()
	children.mu.Lock()
	delete(children.pids, pid)
	children.mu.Unlock()
	post(procMsg{exited: true, state: p.cmd.ProcessState, strays: strays})
}

// addrAnswers reports whether something accepts TCP connections on addr.
func addrAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// killStrays kills and reaps the children of this process that no
// Supervisor started: descendants of a backend, reparented here because this
// process is a subreaper. Killing one reparents its own children here, so it
// scans again until none is left. It returns the pids it killed.
func killStrays() []int {
	self := os.Getpid()
	var killed []int
	for round := 0; round < 100; round++ {
		children.mu.Lock()
		found := childPids(self, children.pids)
		for _, pid := range found {
			_ = unix.Kill(pid, syscall.SIGKILL)
		}
		children.mu.Unlock()
		if len(found) == 0 {
			break
		}
		for _, pid := range found {
			reap(pid)
			if !containsInt(killed, pid) {
				killed = append(killed, pid)
			}
		}
	}
	return killed
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// reap waits for the killed child pid with wait4(2) on that pid only (never
// -1, which could steal a child that os/exec waits for). __WALL also reaps
// children created with clone(2) without SIGCHLD. It gives up after 3s (a
// process stuck in an uninterruptible sleep).
func reap(pid int) {
	var ws unix.WaitStatus
	backoff := 100 * time.Microsecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if wpid == pid || err != nil || time.Now().After(deadline) {
			return
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 20*time.Millisecond)
	}
}

// childPids returns the pids whose parent is ppid, from /proc/*/stat,
// except those in skip.
func childPids(ppid int, skip map[int]struct{}) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var pids []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if _, ok := skip[pid]; ok {
			continue
		}
		if pp, ok := readPPid(pid); ok && pp == ppid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// readPPid returns the parent pid from /proc/PID/stat: "pid (comm) state
// ppid ...", where comm may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func readPPid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(string(f[1]))
	return pp, err == nil
}

// signalName returns "SIGSEGV" for SIGSEGV.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}
