//go:build unix && !aix

// This file holds what the master keeps of the generations a reload
// replaces: their settings (generations), and the bound on how many old
// workers may drain at once (Options.MaxDraining). The lame duck of a
// shutdown is in lameduck_unix.go, the copies of executables for a
// rollback in rollback_unix.go.

package proc

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

// generations is the master's state for rollback, lame duck and bounded
// overlap. kept is guarded by the master's mu; the rest is set once.
type generations struct {
	maxDraining int           // 0: a reload waits for the previous old worker
	lameDuck    time.Duration // Options.LameDuck, when no worker says otherwise
	rollback    bool          // keep the previous generation's executable
	kept        keptExes
}

// configureGenerations reads the options and their environment variables.
func (m *master) configureGenerations(opts Options) {
	g := &m.gens
	g.maxDraining = opts.MaxDraining
	if g.maxDraining == 0 {
		if s := os.Getenv(EnvMaxDraining); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				m.log.Warn("baton: ignoring invalid number", "env", EnvMaxDraining, "value", s)
			} else {
				g.maxDraining = n
			}
		}
	}
	g.lameDuck = opts.LameDuck
	if g.lameDuck == 0 && os.Getenv(EnvLameDuck) != "" {
		g.lameDuck = timeout(0, EnvLameDuck, 0, m.log)
	}
	g.rollback = opts.Rollback
	if s := os.Getenv(EnvRollback); s != "" {
		g.rollback = !offWord(s)
	}
	if g.rollback {
		m.adoptKept()
	}
}

// makeRoom is called before a reload starts. Without a bound, it waits
// until no old worker drains (see waitDraining); with one, the reload
// goes ahead at once and limitDraining keeps the bound after it. It
// reports false if a shutdown was asked for meanwhile.
func (m *master) makeRoom(waiters []request) bool {
	if m.gens.maxDraining <= 0 {
		return m.waitDraining(waiters)
	}
	m.reapDraining()
	return true
}

// limitDraining kills the oldest old workers while more than
// Options.MaxDraining of them drain, and waits (a little) until each is
// reaped, so that the number of processes stays bounded however fast the
// reloads come.
func (m *master) limitDraining() {
	max := m.gens.maxDraining
	if max <= 0 {
		return
	}
	m.mu.Lock()
	var live []*child
	for _, c := range m.draining {
		if !c.isDone() {
			live = append(live, c)
		}
	}
	m.mu.Unlock()
	for ; len(live) > max; live = live[1:] {
		c := live[0]
		m.log.Warn("baton: too many old workers draining, killing the oldest", "pid", c.pid,
			"generation", c.gen, "max_draining", max)
		m.procs.signal(c, syscall.SIGKILL)
		if !waitTimeout(c.done, time.Second) {
			m.log.Error("baton: killed worker not reaped", "pid", c.pid)
		}
	}
	m.reapDraining()
}
