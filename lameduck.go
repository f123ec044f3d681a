package baton

import (
	"os"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton/proc"
)

// The lame duck of a stopping program: told to stop (SIGTERM), it goes on
// serving everything as before for ServerConfig.LameDuck, except that the
// health check answers 503, so that a load balancer takes it out of
// rotation before it stops accepting; then it drains. Under the master,
// the master times it and tells the worker (proc.Worker.LameDuck); a
// process serving itself times it here.

// lameDuck is set for the rest of the process once its lame duck begins.
var lameDuck atomic.Bool

// IsLameDuck reports whether the program has been told to stop and is
// serving out its lame duck (ServerConfig.LameDuck), or has begun to
// drain after it. A health check of its own should answer 503 then, as
// EnableHealth's does.
func (s *Server) IsLameDuck() bool { return lameDuck.Load() }

// watchLameDuck starts the lame duck when ch, the master's word, closes.
func watchLameDuck(ch <-chan struct{}) {
	if ch == nil {
		return
	}
	<-ch
	lameDuck.Store(true)
	defaultLogger().Info("baton: lame duck: the health check answers 503", "pid", os.Getpid())
}

// lameDuckAlone is the lame duck of a process serving itself, after the
// first stop signal: the largest LameDuck of the running servers, else
// BATON_LAME_DUCK. A second signal on sig ends it.
func lameDuckAlone(sig <-chan os.Signal) {
	var d time.Duration
	list, _ := runningServers()
	for _, s := range list {
		d = max(d, s.Config().LameDuck)
	}
	if d == 0 && os.Getenv(proc.EnvLameDuck) != "" {
		d, _ = time.ParseDuration(os.Getenv(proc.EnvLameDuck))
	}
	if d <= 0 {
		return
	}
	lameDuck.Store(true)
	defaultLogger().Info("baton: lame duck: the health check answers 503, serving on", "for", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sig:
	}
}
