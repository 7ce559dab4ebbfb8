package main

import (
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// terminalHangup tells the SIGHUP of a terminal that hung up (its window
// closed, the SSH connection dropped) from one sent by hand (kill -HUP),
// which asks for a rebuild and a restart.
type terminalHangup struct {
	// attached: reloadproxy had a controlling terminal at start and has
	// not seen it hang up since. Without one (started by a script, a
	// service manager, setsid), every SIGHUP is sent by hand.
	attached bool
	// nohup: SIGHUP was ignored at start, the way nohup asks a program to
	// outlive its terminal.
	nohup bool
}

// watchTerminal must be called before signal.Notify(SIGHUP), which stops
// SIGHUP from being ignored.
func watchTerminal() terminalHangup {
	return terminalHangup{attached: hasControllingTerminal(), nohup: signal.Ignored(syscall.SIGHUP)}
}

// hungUp reports whether the SIGHUP just received is the hangup of the
// terminal reloadproxy had at start: it had one, and it has none now. Only
// the first one is: the SIGHUPs after it are sent by hand.
func (h *terminalHangup) hungUp() bool {
	if !h.attached || hasControllingTerminal() {
		return false
	}
	h.attached = false
	return true
}

// hasControllingTerminal reports whether this process has a controlling
// terminal: opening /dev/tty fails (ENXIO) without one. It fails too once
// the terminal hung up: the kernel detaches every process of the session
// from it before it sends SIGHUP, so a SIGHUP handler already sees it gone
// (tty_signal_session_leader in drivers/tty/tty_jobctrl.c). O_NONBLOCK: an
// open must not wait for a serial line's carrier.
func hasControllingTerminal() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
