//go:build unix

package baton

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/baton-go/baton/internal/devbuild"
	"github.com/baton-go/baton/proc"
)

// worker is this process's handle on the master; nil when the process
// serves itself. It is set once, by the first framework call.
var (
	worker    *proc.Worker
	procOnce  sync.Once
	readyOnce sync.Once
)

// initProcess hands the program to the process model: in the program the
// user started, proc.Init becomes the master and never returns. The
// process section of the configuration file (graceful, dev) is read here,
// before the master exists.
func initProcess() {
	procOnce.Do(func() {
		opts := processOptions(configPath(os.Args[1:]))
		w, err := proc.Init(opts)
		if err != nil {
			defaultLogger().Error("baton: serving without a master", "err", err)
			return
		}
		if w == nil && (opts.Dev || os.Getenv(proc.EnvDev) == "1") && !testing.Testing() {
			defaultLogger().Warn("baton: development mode needs the master, which is off: no rebuilds")
		}
		if w != nil {
			worker = w
			listen = w.Listen
		}
	})
}

// processOptions returns the options of proc.Init for the configuration
// file at path ("" for none). An invalid file is ignored here: Cfg
// reports it, and the servers' Start returns its error.
func processOptions(path string) proc.Options {
	opts := proc.Options{Logger: defaultLogger(), OnDevState: setDevState, Builder: new(devbuild.Builder)}
	if path == "" {
		return opts
	}
	opts.DevFiles = []string{path}
	d, err := parseConfig(path)
	if err != nil {
		return opts
	}
	pf := d.process
	opts.NoMaster = pf.Graceful.Enabled != nil && !*pf.Graceful.Enabled
	opts.WatchBinary = pf.Graceful.WatchBinary
	opts.Dev = pf.Dev
	return opts
}

// processReady reports the worker ready, once, and returns the channel the
// master closes to make it drain.
func processReady() <-chan struct{} {
	if worker == nil {
		return standaloneStop()
	}
	readyOnce.Do(func() {
		var info proc.ReadyInfo
		list, _ := runningServers()
		for _, s := range list {
			c := s.Config()
			info.DrainTimeout = max(info.DrainTimeout, drainTimeoutOf(c))
			info.ReadyTimeout = max(info.ReadyTimeout, c.ReadyTimeout)
		}
		if err := worker.Ready(info); err != nil {
			defaultLogger().Error("baton: report ready", "err", err)
		}
		startDevWatch(list, defaultLogger())
	})
	return worker.Draining()
}

func reportStartFailure(err error) {
	if worker != nil {
		worker.Fail(err)
	}
}

// reportDrained tells the master how many requests this worker answered
// while draining.
func reportDrained(n int64) {
	if worker != nil {
		worker.Drained(int(n))
	}
}

// Reload replaces the program with the binary now on disk: the master
// starts a new worker, waits until it is ready, and drains the old one
// (this process). It returns nil once the new worker serves, or an error
// naming why it could not start, in which case this worker goes on
// serving. It may be called from a handler. Without a master it returns
// ErrNoMaster.
func (s *Server) Reload() error { return processReload("api") }

// Restart asks the master for a full restart: the master re-executes
// itself from the binary on disk (same pid, sockets kept open) and starts
// a fresh worker, while this one drains. It returns once the master has
// accepted, or with the reason it refused: the master first runs the new
// binary up to its first framework call, and refuses one that does not
// get there, this worker serving on. Without a master it returns
// ErrNoMaster.
func (s *Server) Restart() error { return processRestart("api") }

func processReload(trigger string) error {
	if worker == nil {
		return ErrNoMaster
	}
	return worker.Reload(context.Background(), trigger)
}

func processRestart(trigger string) error {
	if worker == nil {
		return ErrNoMaster
	}
	return worker.Restart(trigger)
}

// processShutdown ends the whole program gracefully.
func processShutdown(trigger string) error {
	if worker == nil {
		return shutdownLocal()
	}
	return worker.Shutdown(trigger)
}

// processStatus returns the master's view of the program, or this
// process's own without a master.
func processStatus(ctx context.Context) (proc.Status, error) {
	if worker == nil {
		return localStatus(), nil
	}
	return worker.Status(ctx)
}

// hasMaster reports whether this process is a worker under a master.
func hasMaster() bool { return worker != nil }
