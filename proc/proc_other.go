//go:build !unix || aix

package proc

import (
	"context"
	"net"
)

// initProcess has no master to set up on this platform: the process serves
// by itself.
func initProcess(Options) (*Worker, error) { return nil, nil }

// client is never created on this platform: Init returns a nil *Worker.
type client struct{}

func (*client) listen(string, string, string) (net.Listener, error) { return nil, ErrNotSupported }
func (*client) ready(ReadyInfo) error                               { return ErrNotSupported }
func (*client) fail(error)                                          {}
func (*client) drained(int)                                         {}
func (*client) call(context.Context, string, string) error          { return ErrNotSupported }
func (*client) status(context.Context) (Status, error)              { return Status{}, ErrNotSupported }

const (
	msgReload   = "reload"
	msgRestart  = "restart"
	msgShutdown = "shutdown"
	msgRollback = "rollback"
)
