package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// logger prints one line per event to stderr: what happened and how long it
// took. Colours only on a terminal and never with NO_COLOR
// (https://no-color.org); -q keeps warnings and errors only.
type logger struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	quiet  bool
	prefix string
}

func newLogger(f *os.File, quiet bool) *logger {
	_, noColor := os.LookupEnv("NO_COLOR")
	return &logger{w: f, quiet: quiet, color: !noColor && isTerminal(f), prefix: "reloadproxy"}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

const (
	colorReset  = "\x1b[0m"
	colorDim    = "\x1b[2m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
)

func (l *logger) line(color, level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := time.Now().Format("15:04:05")
	if l.color {
		fmt.Fprintf(l.w, "%s%s %s%s %s%s%s\n", colorDim, stamp, l.prefix, colorReset, color, msg, colorReset)
		return
	}
	if level != "" {
		level += ": "
	}
	fmt.Fprintf(l.w, "%s %s: %s%s\n", stamp, l.prefix, level, msg)
}

// Info reports normal events; -q silences them.
func (l *logger) Info(msg string) {
	if !l.quiet {
		l.line(colorGreen, "", msg)
	}
}

func (l *logger) Warn(msg string)  { l.line(colorYellow, "warning", msg) }
func (l *logger) Error(msg string) { l.line(colorRed, "error", msg) }

func (l *logger) Warnf(format string, args ...any) { l.Warn(fmt.Sprintf(format, args...)) }
