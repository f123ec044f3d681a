package baton

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/proc"
)

// host is the process this program runs in: a worker under a master
// (worker_unix.go), or a process that serves itself (standalone, below;
// what Windows and graceful mode off get). It is the one seam between
// this package and package proc: the rest of the package talks to it and
// to its own types. The file of each platform chooses it (self, in
// reload_unix.go and reload_windows.go).
type host interface {
	// listen returns the listening socket of key, on network and addr.
	listen(key, network, addr string) (net.Listener, error)
	// ready reports that the running servers accept, once, and returns
	// the channel closed when this process must drain (nil: never).
	ready() <-chan struct{}
	// fail reports that a server could not start.
	fail(err error)
	// drained reports how many requests were answered while draining.
	drained(n int64)
	// reload, restart and shutdown act on the whole program; trigger
	// names who asked, for the master's log and history.
	reload(trigger string) error
	restart(trigger string) error
	rollback(trigger string) error
	shutdown(trigger string) error
	// status describes the program: the process fields of a statusView.
	status(ctx context.Context) (statusView, error)
	// hasMaster reports whether a master supervises this process.
	hasMaster() bool
}

// Defaults of the process model, shared with the master so that both
// sides agree.
const (
	// DefaultDrainTimeout bounds a graceful shutdown or the drain of an old
	// worker, when neither ServerConfig.DrainTimeout nor
	// BATON_DRAIN_TIMEOUT sets it.
	DefaultDrainTimeout = proc.DefaultDrainTimeout
	// DefaultReadyTimeout bounds how long the master waits for a new worker
	// to report ready, when ServerConfig.ReadyTimeout does not set it.
	DefaultReadyTimeout = proc.DefaultReadyTimeout
)

// errShuttingDown is what the master answers to a request it refuses
// because the program is shutting down.
var errShuttingDown = proc.ErrShuttingDown

// errNoRollback is what the master answers to a rollback when it keeps
// no previous generation.
var errNoRollback = proc.ErrNoRollback

// devState is the state of development mode as the master reports it.
type devState = proc.DevState

// devOn reports whether development mode is on: BATON_DEV when it says so
// either way, else opt. It is the master's rule, so that the master, the
// views and the warnings agree.
func devOn(opt bool) bool { return proc.DevOn(opt) }

// drainTimeoutOf returns the drain timeout a configuration asks for: its
// own, else BATON_DRAIN_TIMEOUT, else DefaultDrainTimeout, as the master
// reads them.
func drainTimeoutOf(c ServerConfig) time.Duration { return proc.DrainTimeout(c.DrainTimeout, nil) }

// standalone is a process that serves itself: it binds its own sockets,
// stops on SIGINT or SIGTERM, and has nobody to reload it.
type standalone struct{}

var _ host = standalone{}

func (standalone) listen(_, network, addr string) (net.Listener, error) {
	return net.Listen(network, addr)
}

// ready returns a channel closed on SIGINT or SIGTERM, so that a program
// without a master still shuts down gracefully; under go test it returns
// nil and leaves signals alone.
func (standalone) ready() <-chan struct{} {
	if testing.Testing() {
		return nil
	}
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		lameDuckAlone(sig)
		signal.Stop(sig)
		close(stop)
	}()
	return stop
}

func (standalone) fail(error)            {}
func (standalone) drained(int64)         {}
func (standalone) reload(string) error   { return ErrNoMaster }
func (standalone) restart(string) error  { return ErrNoMaster }
func (standalone) rollback(string) error { return ErrNoMaster }
func (standalone) hasMaster() bool       { return false }

// shutdown drains every running server in the background.
func (standalone) shutdown(string) error {
	list, _ := runningServers()
	go shutdownAll(list)
	return nil
}

// processStarted is when this process started, for a status without a
// master.
var processStarted = time.Now()

// status describes this process alone.
func (standalone) status(context.Context) (statusView, error) {
	v := statusView{WorkerPID: os.Getpid(), Started: processStarted}
	if exe, err := os.Executable(); err == nil {
		v.Executable = exe
		if fi, err := os.Stat(exe); err == nil {
			v.ExecutableModTime = fi.ModTime()
		}
	}
	return v, nil
}
