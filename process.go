package baton

import (
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// listen obtains a listening socket. It is the one place the process model
// replaces: under a master, sockets come from the master.
var listen = func(key, network, addr string) (net.Listener, error) {
	return net.Listen(network, addr)
}

func initProcess() {}

// processReady is called by Wait once the servers are started; the channel
// it returns is closed when they should drain.
func processReady() <-chan struct{} {
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

func reportStartFailure(error) {}

// Reload replaces the program with the binary on disk.
func (s *Server) Reload() error { return ErrNoMaster }

// Restart restarts the program in place.
func (s *Server) Restart() error { return ErrNoMaster }
