package baton

import (
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/proc"
)

// listen obtains a listening socket. It is the one place the process model
// replaces: under a master, sockets come from the master.
var listen = func(key, network, addr string) (net.Listener, error) {
	return net.Listen(network, addr)
}

// standaloneStop returns a channel closed on SIGINT or SIGTERM, so that a
// program without a master still shuts down gracefully; under go test it
// returns nil and leaves signals alone.
func standaloneStop() <-chan struct{} {
	if testing.Testing() {
		return nil
	}
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		signal.Stop(sig)
		close(stop)
	}()
	return stop
}

// processStarted is when this process started, for a status without a
// master.
var processStarted = time.Now()

// localStatus describes a process that serves itself.
func localStatus() proc.Status {
	st := proc.Status{WorkerPID: os.Getpid(), Started: processStarted}
	if exe, err := os.Executable(); err == nil {
		st.Executable = exe
		if fi, err := os.Stat(exe); err == nil {
			st.ExecutableModTime = fi.ModTime()
		}
	}
	return st
}

// shutdownLocal drains every running server in the background.
func shutdownLocal() error {
	list, _ := runningServers()
	go shutdownAll(list)
	return nil
}
