//go:build !linux

package supervisor

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"
)

// errAddrInUse means something already accepted a connection on Addr
// before the backend was started.
var errAddrInUse = errors.New("address already in use")

// errUnsupported is the start error of every backend and build outside
// Linux: process groups with Pdeathsig and child subreapers are Linux
// features.
var errUnsupported = errors.New("supervisor: running a backend is only supported on Linux")

func becomeSubreaper() error               { return errUnsupported }
func setProcAttr(*exec.Cmd)                {}
func killGroup(int, syscall.Signal)        {}
func signalName(sig syscall.Signal) string { return "signal " + strconv.Itoa(int(sig)) }

// Kill does nothing: no process is ever started.
func (s *Supervisor) Kill() {}

func (s *Supervisor) runProcess(p *process) {
	s.procC <- procMsg{p: p, exited: true, startErr: errUnsupported}
}

func (s *Supervisor) runBuild(p *process) {
	s.buildC <- procMsg{p: p, exited: true, startErr: errUnsupported}
}
