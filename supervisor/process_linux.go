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

// errKilled is the start error of a process after Kill.
var errKilled = errors.New("supervisor: killed, starting nothing more")

// children holds the backends and builds started by every Supervisor of
// this process that have not been reaped yet, by pid. The stray scan leaves
// them alone; Kill finds its own there. mu is held from fork to
// registration (p.pid included) so that a concurrent scan never sees an
// unregistered child, and a Kill never misses one. mu also guards
// Supervisor.killed.
var children = struct {
	mu   sync.Mutex
	pids map[int]child
}{pids: map[int]child{}}

// child is a registered backend or build, and the Supervisor that runs it.
type child struct {
	sup *Supervisor
	p   *process
}

// strayMu is held while strays are killed and reaped (killStrays, and
// drainGroup's reaps). A stray's pid may be reused as soon as it is
// reaped: no goroutine may kill a stray it found while another one reaps
// it, as a Kill during a stop would.
var strayMu sync.Mutex

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

// runProcess starts the backend p and waits for it; it runs on its own
// goroutine and posts a started and an exited procMsg to the loop on procC.
// After the exit, what is left of the group and the strays are killed.
func (s *Supervisor) runProcess(p *process) {
	if addrAnswers(s.cfg.Addr) {
		s.procC <- procMsg{p: p, exited: true, startErr: errAddrInUse}
		return
	}
	s.runChild(p, s.procC, func(int) []int { return killStrays() })
}

// runBuild starts the build p and waits for it, like runProcess, posting on
// buildC. After the exit, what is left of its group is killed and reaped;
// the strays that left the group are not touched here, since a backend may
// be running whose own reparented descendants would look the same (they are
// found at the backend's next exit, or when Run returns).
func (s *Supervisor) runBuild(p *process) {
	s.runChild(p, s.buildC, func(pid int) []int { drainGroup(pid); return nil })
}

// runChild starts p.cmd in its own process group, posts a started procMsg
// on c, waits for the child, kills what is left of its group, calls cleanup
// with its pid while the child is a zombie (so the pid and the group id
// cannot be reused), reaps it and posts the exited procMsg, with the pids
// cleanup returns as strays. After Kill it starts nothing and posts
// errKilled.
//
// The goroutine locks its OS thread and never unlocks it: Pdeathsig is tied
// to the thread that forked, so that thread must live as long as the child.
// The goroutine returns only after the child has been reaped, and the
// runtime then ends the locked thread.
func (s *Supervisor) runChild(p *process, c chan<- procMsg, cleanup func(pid int) []int) {
	runtime.LockOSThread()
	post := func(m procMsg) {
		m.p = p
		c <- m // the loop reads c until this process has exited
	}
	children.mu.Lock()
	startedAt := time.Now()
	err := errKilled
	if !s.killed {
		err = p.cmd.Start()
	}
	var pid int
	if err == nil {
		pid = p.cmd.Process.Pid
		p.mu.Lock()
		p.pid = pid
		p.mu.Unlock()
		children.pids[pid] = child{sup: s, p: p}
	}
	children.mu.Unlock()
	if err != nil {
		post(procMsg{exited: true, startErr: err})
		return
	}
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
	strays := cleanup(pid)
	// Strays were holding the output pipes too; now Wait sees EOF at once.
	_ = p.cmd.Wait()
	p.out.flush()
	children.mu.Lock()
	delete(children.pids, pid)
	children.mu.Unlock()
	post(procMsg{exited: true, state: p.cmd.ProcessState, strays: strays})
}

// drainGroup waits until the process group pgid, which was sent SIGKILL and
// whose leader pgid is a zombie not reaped yet, holds no other process that
// can be waited for: its members that were reparented to this process (a
// subreaper) are reaped here, the others are dying and reaped by their own
// parents (zombies of a parent that never waits are not waited for). It
// gives up after 3s. Once the leader is reaped too, kill(-pgid, 0) fails
// with ESRCH.
func drainGroup(pgid int) {
	self := os.Getpid()
	backoff := 100 * time.Microsecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := false
		for _, m := range groupMembers(pgid) {
			if m.pid == pgid {
				continue
			}
			if m.ppid == self {
				strayMu.Lock()
				reap(m.pid)
				strayMu.Unlock()
				continue
			}
			if m.state != 'Z' {
				left = true
			}
		}
		if !left || time.Now().After(deadline) {
			return
		}
		killGroup(pgid, syscall.SIGKILL) // a member may have forked meanwhile
		time.Sleep(backoff)
		backoff = min(backoff*2, 20*time.Millisecond)
	}
}

// procInfo is what /proc/PID/stat says of a process.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte
}

// groupMembers returns the processes of process group pgid, from
// /proc/*/stat.
func groupMembers(pgid int) []procInfo {
	var found []procInfo
	eachProc(func(pi procInfo) {
		if pi.pgrp == pgid {
			found = append(found, pi)
		}
	})
	return found
}

// eachProc calls fn with every process that /proc lists.
func eachProc(fn func(procInfo)) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if pi, ok := readStat(pid); ok {
			fn(pi)
		}
	}
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

// Kill kills the backend's and the build's process groups with SIGKILL,
// waits (a second at most) until they have exited, then kills and reaps the
// strays, as after every exit of the backend: for a program that must exit
// at once (a second Ctrl+C) without leaving behind the backend's
// descendants, which Pdeathsig alone would. The strays are those of the whole
// process (see the package doc, "Processes"). From then on the Supervisor
// starts no process. Safe from any goroutine, also while Run stops; Run
// still returns as usual.
func (s *Supervisor) Kill() {
	children.mu.Lock()
	s.killed = true
	var mine []*process
	for _, c := range children.pids {
		if c.sup == s {
			mine = append(mine, c.p)
		}
	}
	children.mu.Unlock()
	for _, p := range mine {
		p.signalGroup(syscall.SIGKILL)
	}
	// Once a leader has exited, its children are reparented here: strays.
	deadline := time.Now().Add(time.Second)
	for _, p := range mine {
		p.awaitGone(deadline)
	}
	killStrays()
}

// awaitGone waits until the child has exited (gone), or until deadline.
func (p *process) awaitGone(deadline time.Time) {
	backoff := 100 * time.Microsecond
	for {
		p.mu.Lock()
		gone := p.gone
		p.mu.Unlock()
		if gone || time.Now().After(deadline) {
			return
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 10*time.Millisecond)
	}
}

// killStrays kills and reaps the children of this process that no
// Supervisor started: descendants of a backend, reparented here because this
// process is a subreaper. Killing one reparents its own children here, so it
// scans again until none is left. It returns the pids it killed.
func killStrays() []int {
	strayMu.Lock()
	defer strayMu.Unlock()
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
func childPids(ppid int, skip map[int]child) []int {
	var pids []int
	eachProc(func(pi procInfo) {
		if _, ok := skip[pi.pid]; !ok && pi.ppid == ppid {
			pids = append(pids, pi.pid)
		}
	})
	return pids
}

// readStat reads /proc/PID/stat: "pid (comm) state ppid pgrp ...", where
// comm may hold spaces and parentheses, so the fields are counted from the
// last ')'.
func readStat(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return procInfo{}, false
	}
	pp, err1 := strconv.Atoi(string(f[1]))
	pg, err2 := strconv.Atoi(string(f[2]))
	return procInfo{pid: pid, ppid: pp, pgrp: pg, state: f[0][0]}, err1 == nil && err2 == nil
}

// signalName returns "SIGSEGV" for SIGSEGV.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}
