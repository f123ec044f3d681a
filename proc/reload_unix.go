//go:build unix && !aix

// This file holds what the master decides about the requests it gets:
// the queue of requests that arrive during a wait, the reload (coalesced,
// one at a time, never beside a second old worker, rolled back when the
// new worker fails) and the shutdown.

package proc

import (
	"slices"
	"syscall"
	"time"
)

// request is a reload, restart or shutdown asked for by a signal or a worker.
type request struct {
	kind    string // msgReload, msgRestart or msgShutdown
	trigger string
	at      time.Time
	reply   func(error) // nil when nobody waits (signals)
	from    *child      // the worker asking, or nil
	// hung, in a reload asked for by the heartbeat, is the worker that
	// stopped answering: it is killed, not drained, once replaced.
	hung *child
	// bin, if set, is the binary to reload into. Only the master sets it
	// (binary watch, development builds): no worker message and no
	// signal carries a path.
	bin *binary
	// canary, if set, makes the reload a canary with these settings;
	// verdict, if set, receives the verdict of a canary reload.
	canary  *CanaryConfig
	verdict *CanaryVerdict
}

// binary is a program file workers are started from.
type binary struct {
	path  string
	build int  // development build number; 0 for the program's own binary
	kept  bool // the master's copy of an earlier generation's (rollback_unix.go)
}

func (r request) answer(err error) {
	if r.reply != nil {
		r.reply(err)
	}
}

func answerAll(rs []request, err error) {
	for _, r := range rs {
		r.answer(err)
	}
}

// reloadAll performs one reload for waiters and for the reload requests
// already queued, then one more for all those that arrive meanwhile, and so
// on.
func (m *master) reloadAll(waiters []request) {
	for more := true; more; {
		select {
		case r := <-m.reqs:
			if r.kind == msgReload {
				waiters = append(waiters, r)
			} else {
				m.queue(r)
			}
		default:
			more = false
		}
	}
	m.reload(waiters)
	// Requests that arrived during a reload are coalesced into one more
	// reload, whose result all of them get.
	for len(m.pending) > 0 && !m.shutdownPending() {
		waiters, m.pending = m.pending, nil
		m.reload(waiters)
	}
}

// reload replaces the current worker with a new one from the binary on
// disk, for all waiters.
func (m *master) reload(waiters []request) {
	waiters = m.dropStale(waiters)
	if len(waiters) == 0 {
		return
	}
	at, trigger := waiters[0].at, waiters[0].trigger
	// Never two old workers (or at most Options.MaxDraining): wait for
	// the previous one to finish, or go ahead.
	if !m.makeRoom(waiters) {
		answerAll(waiters, ErrShuttingDown)
		return
	}
	// Requests that came while waiting join this reload: it has not
	// started yet.
	waiters = append(waiters, m.pending...)
	m.pending = nil
	m.setReloading(true)
	defer m.setReloading(false)
	m.notify.reloading()
	defer m.notify.ready(m.pid)

	// The newest binary asked for wins: a development build, or the
	// watched executable.
	var bin *binary
	for _, w := range waiters {
		if w.bin != nil {
			bin = w.bin
		}
	}
	bin = m.reloadBinary(bin)
	m.mu.Lock()
	old := m.cur
	m.mu.Unlock()
	ev := Event{Time: at, Kind: reloadKind(bin), Trigger: trigger}
	if old != nil {
		ev.OldPID = old.pid
	}
	c, rerr := m.startWorker(bin)
	if rerr != nil {
		ev.NewPID, ev.Err = rerr.PID, rerr.Error()
		m.record(ev)
		m.log.Error("baton: reload failed", "trigger", trigger, "old_pid", ev.OldPID, "err", rerr)
		m.prune()
		answerAll(waiters, rerr)
		return
	}
	ev.OK, ev.NewPID, ev.Generation, ev.HandOff = true, c.pid, c.gen, time.Since(at)
	if m.canaryStage(waiters, old, c, bin, &ev) {
		return // rolled back: old serves on
	}
	// NOTE: the new worker and its event appear in the status together.
	m.mu.Lock()
	m.setCurLocked(c)
	if bin != nil {
		m.bin = bin
	}
	if old != nil && !old.isDone() {
		m.draining = append(m.draining, old)
	}
	m.recordLocked(ev)
	m.mu.Unlock()
	m.cancelRespawn()
	if bin != nil && bin.build > 0 && m.dev != nil {
		m.dev.Served(handoff(bin, c, old))
	}
	m.log.Info("baton: reload complete", "trigger", trigger, "old_pid", ev.OldPID, "new_pid", c.pid,
		"generation", c.gen, "handoff", ev.HandOff.Round(time.Millisecond), "waiters", len(waiters))
	// NOTE: answer before draining: a waiter may be the old worker itself,
	// inside a handler that its drain would wait for.
	answerAll(waiters, nil)
	if old != nil {
		if slices.ContainsFunc(waiters, func(r request) bool { return r.hung == old }) {
			m.killHung(old)
		} else {
			m.drain(old)
		}
		m.limitDraining()
	}
	m.keep(c, bin, true)
	m.prune()
	m.trimMemory()
}

// dropStale answers and removes the heartbeat's requests for a worker
// that no longer serves (it was replaced, or died, meanwhile): they have
// nothing left to do.
func (m *master) dropStale(waiters []request) []request {
	m.mu.Lock()
	cur := m.cur
	m.mu.Unlock()
	return slices.DeleteFunc(waiters, func(r request) bool {
		if r.hung != nil && r.hung != cur {
			r.answer(nil)
			return true
		}
		return false
	})
}

// waitDraining waits until no old worker is draining, except old workers
// that are among the waiters: a handler of theirs waits for this reload, so
// they cannot finish before it (it was asked for during the previous
// reload). It reports false if a shutdown was asked for meanwhile.
func (m *master) waitDraining(waiters []request) bool {
	for {
		m.mu.Lock()
		var d *child
		for _, c := range m.draining {
			if !slices.ContainsFunc(waiters, func(r request) bool { return r.from == c }) {
				d = c
				break
			}
		}
		m.mu.Unlock()
		if d == nil {
			return true
		}
		select {
		case <-d.done:
			m.reapDraining()
		case r := <-m.reqs:
			m.queue(r)
			if m.shutdownPending() {
				return false
			}
		}
	}
}

// handle performs a request. It reports exit when the master must exit with
// code.
func (m *master) handle(r request) (code int, exit bool) {
	switch r.kind {
	case msgPing:
		r.answer(nil)
	case msgReload:
		m.reloadAll([]request{r})
	case msgRollback:
		m.rollback(r)
	case msgRestart:
		m.restart(r)
	case msgShutdown:
		return m.shutdown(r, 0), true
	}
	return 0, false
}

// queue keeps a request that arrived while the run goroutine was waiting.
func (m *master) queue(r request) {
	switch {
	case r.kind == msgPing:
		r.answer(nil) // the loop that reads requests is alive
		return
	case r.kind == msgReload:
		if m.shutdownPending() {
			r.answer(ErrShuttingDown)
			return
		}
		m.pending = append(m.pending, r)
	case m.stash == nil:
		m.stash = &r
	case r.kind == msgShutdown && (m.stash.kind == msgRestart || m.stash.kind == msgRollback):
		m.stash.answer(ErrShuttingDown)
		m.stash = &r
	case r.kind == m.stash.kind:
		r.answer(nil) // the same action is already pending
	default:
		r.answer(ErrShuttingDown) // a restart after a pending shutdown
	}
	if m.shutdownPending() {
		answerAll(m.pending, ErrShuttingDown)
		m.pending = nil
	}
}

func (m *master) shutdownPending() bool {
	return m.stash != nil && m.stash.kind == msgShutdown
}

// shutdown drains every worker, closes the sockets and returns code.
func (m *master) shutdown(r request, code int) int {
	r.answer(nil)
	m.sockets.refuse()
	m.mu.Lock()
	kids := slices.Clone(m.draining)
	cur := m.cur
	if cur != nil {
		kids = append(kids, cur)
	}
	m.mu.Unlock()
	m.notify.stopping()
	m.log.Info("baton: shutting down", "trigger", r.trigger)
	ev := Event{Time: r.at, Kind: "shutdown", Trigger: r.trigger}
	if cur != nil {
		ev.OldPID = cur.pid
	}
	m.cancelRespawn()
	answerAll(m.pending, ErrShuttingDown)
	m.pending = nil
	if m.stash != nil {
		m.stash.answer(ErrShuttingDown)
		m.stash = nil
	}
	m.lameDuck(cur, r)
	for _, c := range kids {
		m.drain(c)
	}
	// The drains kill workers that overstay; this bound is a safety net.
	m.mu.Lock()
	bound := m.drainTimeout + DefaultExitGrace + 2*time.Second
	m.mu.Unlock()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	killAll := func() {
		for _, c := range kids {
			m.procs.signal(c, syscall.SIGKILL)
		}
	}
	for _, c := range kids {
	wait:
		for {
			select {
			case <-c.done:
				break wait
			case r2 := <-m.reqs:
				if r2.kind == msgShutdown && r2.reply == nil {
					m.log.Warn("baton: second shutdown signal, killing workers", "signal", r2.trigger)
					killAll()
				}
				r2.answer(ErrShuttingDown)
			case <-deadline.C:
				killAll()
				waitTimeout(c.done, time.Second)
				break wait
			}
		}
	}
	m.sockets.closeAll()
	ev.OK = true
	m.record(ev)
	m.log.Info("baton: shutdown complete", "exit", code)
	return code
}
