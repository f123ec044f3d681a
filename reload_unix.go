//go:build unix

package baton

import (
	"os"
	"sync"
	"testing"

	"github.com/baton-go/baton/internal/devbuild"
	"github.com/baton-go/baton/proc"
)

// self is the process this program runs in: a worker once proc.Init
// has connected it to its master, else standalone. It is set once, by the
// first framework call.
var (
	self     host = standalone{}
	procOnce sync.Once
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
		if w == nil && devOn(opts.Dev) && !testing.Testing() {
			defaultLogger().Warn("baton: development mode needs the master, which is off: no rebuilds")
		}
		if w != nil {
			self = &worker{w: w}
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
	opts.LameDuck, opts.MaxDraining, opts.Rollback = pf.Graceful.LameDuck, pf.Graceful.MaxDraining, pf.Graceful.Rollback
	opts.Dev = pf.Dev
	return opts
}

// Reload replaces the program with the binary now on disk: the master
// starts a new worker, waits until it is ready, and drains the old one
// (this process). It returns nil once the new worker serves, or an error
// naming why it could not start, in which case this worker goes on
// serving. It may be called from a handler. Without a master it returns
// ErrNoMaster.
func (s *Server) Reload() error { return self.reload("api") }

// Restart asks the master for a full restart: the master re-executes
// itself from the binary on disk (same pid, sockets kept open) and starts
// a fresh worker, while this one drains. It returns once the master has
// accepted, or with the reason it refused: the master first runs the new
// binary up to its first framework call, and refuses one that does not
// get there, this worker serving on. Without a master it returns
// ErrNoMaster.
func (s *Server) Restart() error { return self.restart("api") }

// Rollback goes back one generation: the master starts a worker from its
// copy of the binary the previous generation ran (kept with "graceful:
// {rollback: true}" or BATON_ROLLBACK=1, since a deploy replaces the file
// on disk), waits until it is ready and drains this one, as Reload does.
// SIGTTIN to the master does the same. It returns nil once that worker
// serves, or an error: there is no previous generation (none kept, or the
// last change was already a rollback), or the reason it could not start,
// this worker serving on. Without a master it returns ErrNoMaster.
func (s *Server) Rollback() error { return self.rollback("api") }
