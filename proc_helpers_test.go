//go:build linux

package baton_test

import (
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// The tests that build a real program, start it under the master, signal
// it and talk to it over loopback run on internal/proctest; what is here is
// what this suite adds, under the names its many call sites use.

// build compiles pkg with the given -X assignments (name=value, in
// package main) once per test binary and returns the binary's path.
func build(t *testing.T, pkg string, vars ...string) string {
	t.Helper()
	return builds.Build(t, pkg, vars...)
}

// install puts bin at dst by renaming a copy over it, as a deploy does.
func install(t *testing.T, bin, dst string) {
	t.Helper()
	proctest.Install(t, bin, dst)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int { return proctest.FreePort(t) }

// program is a started example or test program, whose /pid answers with
// the pid that serves.
type program struct {
	*proctest.Program
}

// startProgram runs bin with PORT=port and env added, and kills it and
// every process it started when the test ends.
func startProgram(t *testing.T, bin string, port int, env ...string) *program {
	t.Helper()
	return &program{proctest.Start(t, proctest.Config{
		Argv: []string{bin},
		Env:  append([]string{"PORT=" + strconv.Itoa(port)}, env...),
		Port: port,
	})}
}

// waitLog waits until the log contains s; see [proctest.Program.WaitLog].
func (p *program) waitLog(s string, d time.Duration) {
	p.T.Helper()
	p.WaitLog(s, d)
}

// failureKind names the way a request failed, for the load figures.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other: " + err.Error()
}
