//go:build unix && !aix

package proc

import (
	"errors"
	"slices"
	"syscall"
	"time"
)

// Backoff of respawns after unexpected worker deaths.
const (
	respawnBackoffStep = 100 * time.Millisecond
	respawnBackoffMax  = 5 * time.Second
	// healthyAfter is how long a worker must have been ready for its
	// death to reset the backoff.
	healthyAfter = 10 * time.Second
)

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

// startWorker starts a worker from bin (the current binary if nil) and
// waits until it is ready. On failure it kills and reaps it and returns the
// cause; c is then the dead child, or nil if it never started.
func (m *master) startWorker(bin *binary) (c *child, rerr *ReloadError) {
	m.mu.Lock()
	m.nextGen++
	gen := m.nextGen
	readyTimeout := m.readyTimeout
	if bin == nil {
		bin = m.bin
	}
	m.mu.Unlock()

	// Development builds are the master's own, in its private directory.
	if m.strictModes && bin.build == 0 {
		if err := checkOwner(bin.path); err != nil {
			if !m.warnOnly {
				return nil, &ReloadError{Cause: err.Error(), Err: ErrUnsafeExecutable}
			}
			m.log.Warn("baton: starting the program that was run, but a reload into it will be refused", "err", err)
		}
	}
	c, err := m.spawn(gen, bin)
	if err != nil {
		return nil, &ReloadError{Cause: err.Error(), Err: ErrWorkerStart}
	}
	defer func() {
		m.mu.Lock()
		if m.starting == c {
			m.starting = nil
		}
		m.mu.Unlock()
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	var cause string
	var kind error
wait:
	for {
		select {
		case <-c.ready:
			return c, nil
		case <-c.failed:
			kind = ErrWorkerFailed
			break wait
		case <-c.done:
			// A worker that reports why it failed and exits at once can
			// be reaped before its report is read: read to the end of
			// what it sent, and give its reason if it gave one.
			waitTimeout(c.ctlDone, time.Second)
			select {
			case <-c.failed:
				kind = ErrWorkerFailed
			default:
				kind = ErrWorkerExited
			}
			break wait
		case <-timer.C:
			cause = "not ready after " + readyTimeout.String()
			kind = ErrReloadTimeout
			break wait
		case r := <-m.reqs:
			m.queue(r)
			if m.shutdownPending() {
				cause = "abandoned: shutting down"
				kind = ErrShuttingDown
				break wait
			}
		}
	}
	if kind == ErrWorkerFailed {
		c.mu.Lock()
		cause = c.failMsg
		c.mu.Unlock()
		// It is exiting by itself; give it a moment.
		waitTimeout(c.done, time.Second)
	}
	m.reaper.signal(c, syscall.SIGKILL)
	if !waitTimeout(c.done, 5*time.Second) {
		m.log.Error("baton: killed worker not reaped", "pid", c.pid)
	}
	if kind == ErrWorkerExited {
		waitTimeout(c.crashDone, time.Second)
		cause = c.exitCause()
	}
	return c, &ReloadError{PID: c.pid, Cause: cause, Err: kind}
}

// waitTimeout waits for ch to close, at most d. It reports whether it did.
func waitTimeout(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// startFirst starts the first worker of this master.
func (m *master) startFirst() (code int, exit bool) {
	c, rerr := m.startWorker(nil)
	m.warnOnly = false
	if rerr != nil {
		if errors.Is(rerr, ErrShuttingDown) {
			return 0, false // the run loop performs the stashed shutdown
		}
		if m.restarted {
			// The program was serving before the restart: keep the
			// sockets and try again, as after a crash.
			m.log.Error("baton: worker failed after restart", "err", rerr)
			m.finishRestart(rerr)
			m.scheduleRespawn(Event{Time: time.Now(), Kind: "respawn", Trigger: "restart failed"})
			return 0, false
		}
		code := 1
		if c != nil && c.status.Exited() && c.status.ExitStatus() == 0 {
			m.log.Info("baton: worker exited with status 0 before serving", "pid", c.pid)
			code = 0
		} else {
			m.log.Error("baton: first worker failed", "err", rerr)
			if c != nil {
				code = c.exitCode()
			}
		}
		m.sockets.closeAll()
		return code, true
	}
	m.mu.Lock()
	m.cur = c
	m.mu.Unlock()
	m.log.Info("baton: worker ready", "pid", c.pid, "generation", c.gen, "startup", time.Since(c.started).Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.prune()
	m.trimMemory()
	return 0, false
}

// finishRestart records the restart that executed this master.
func (m *master) finishRestart(rerr *ReloadError) {
	ev := m.restartEvent
	if ev == nil {
		return
	}
	m.restartEvent = nil
	if rerr != nil {
		ev.NewPID = rerr.PID
		ev.Err = rerr.Error()
	} else {
		m.mu.Lock()
		ev.OK, ev.NewPID, ev.Generation = true, m.cur.pid, m.cur.gen
		m.mu.Unlock()
		ev.HandOff = time.Since(ev.Time)
		m.log.Info("baton: restart complete", "trigger", ev.Trigger, "old_pid", ev.OldPID, "new_pid", ev.NewPID,
			"generation", ev.Generation, "handoff", ev.HandOff.Round(time.Millisecond))
	}
	m.record(*ev)
}

// reload replaces the current worker with a new one from the binary on
// disk, for all waiters.
func (m *master) reload(waiters []request) {
	// A heartbeat's request for a worker that no longer serves (it was
	// replaced, or died, meanwhile) has nothing left to do.
	m.mu.Lock()
	cur := m.cur
	m.mu.Unlock()
	waiters = slices.DeleteFunc(waiters, func(r request) bool {
		if r.hung != nil && r.hung != cur {
			r.answer(nil)
			return true
		}
		return false
	})
	if len(waiters) == 0 {
		return
	}
	at, trigger := waiters[0].at, waiters[0].trigger
	// Never two old workers: wait for the previous one to finish.
	if !m.waitDraining(waiters) {
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
	m.mu.Lock()
	old := m.cur
	m.mu.Unlock()
	ev := Event{Time: at, Kind: "reload", Trigger: trigger}
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
	// NOTE: the new worker and its event appear in the status together.
	m.mu.Lock()
	m.cur = c
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
		m.dev.served(bin, c, old)
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
	}
	m.prune()
	m.trimMemory()
}

// killHung kills a worker that stopped answering its heartbeat, now that
// its successor serves: a stopped or stuck process cannot drain. SIGKILL
// ends a stopped process too. The worker stays among the draining ones
// until it is reaped.
func (m *master) killHung(c *child) {
	c.mu.Lock()
	c.drainSent = true
	c.mu.Unlock()
	m.log.Warn("baton: killing the worker that stopped answering", "pid", c.pid)
	m.reaper.signal(c, syscall.SIGKILL)
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

// reapDraining forgets old workers that have exited.
func (m *master) reapDraining() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.draining = slices.DeleteFunc(m.draining, func(c *child) bool {
		if !c.isDone() {
			return false
		}
		m.log.Debug("baton: old worker exited", "pid", c.pid, "status", c.exitCause())
		return true
	})
}

// drain tells c to drain and kills it if it is not gone in time.
func (m *master) drain(c *child) {
	c.mu.Lock()
	if c.drainSent {
		c.mu.Unlock()
		return
	}
	c.drainSent = true
	d := c.readyInfo.DrainTimeout
	c.mu.Unlock()
	if d <= 0 {
		m.mu.Lock()
		d = m.drainTimeout
		m.mu.Unlock()
	}
	if c.conn != nil {
		if err := c.conn.send(&message{Type: msgDrain}, -1); err != nil {
			m.log.Debug("baton: drain", "pid", c.pid, "err", err)
		}
	}
	go m.killAfter(c, d+DefaultExitGrace)
}

// killAfter kills c with SIGKILL if it has not exited after d.
func (m *master) killAfter(c *child, d time.Duration) {
	if waitTimeout(c.done, max(d, 0)) {
		return
	}
	m.log.Warn("baton: old worker did not exit in time, killing it", "pid", c.pid, "after", d)
	m.reaper.signal(c, syscall.SIGKILL)
}

// curExited handles the end of the current worker.
func (m *master) curExited() (code int, exit bool) {
	m.mu.Lock()
	c := m.cur
	m.cur = nil
	m.mu.Unlock()
	c.mu.Lock()
	drainSent, readyAt := c.drainSent, c.readyAt
	c.mu.Unlock()
	waitTimeout(c.crashDone, time.Second)
	if c.status.Exited() && c.status.ExitStatus() == 0 && !drainSent {
		m.log.Info("baton: worker exited with status 0, ending the program", "pid", c.pid)
		return m.shutdown(request{kind: msgShutdown, trigger: "worker exited", at: time.Now()}, 0), true
	}
	cause := c.exitCause()
	m.log.Error("baton: worker died", "pid", c.pid, "generation", c.gen, "cause", cause)
	if !readyAt.IsZero() && time.Since(readyAt) >= healthyAfter {
		m.crashes = 0
	}
	m.scheduleRespawn(Event{Time: time.Now(), Kind: "respawn", Trigger: "worker " + cause, OldPID: c.pid})
	return 0, false
}

// respawnDelay is the backoff before the n-th consecutive respawn (from 0).
func respawnDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > 16 {
		return respawnBackoffMax
	}
	return min(respawnBackoffStep<<(n-1), respawnBackoffMax)
}

func (m *master) scheduleRespawn(ev Event) {
	d := respawnDelay(m.crashes)
	m.crashes++
	m.respawnEvent = ev
	if m.respawnTimer != nil {
		m.respawnTimer.Stop()
	}
	m.respawnTimer = time.NewTimer(d)
	if d > 0 {
		m.log.Info("baton: respawning worker", "in", d)
	}
}

func (m *master) cancelRespawn() {
	if m.respawnTimer != nil {
		m.respawnTimer.Stop()
		m.respawnTimer = nil
	}
}

// respawn starts a worker after the current one died.
func (m *master) respawn() {
	ev := m.respawnEvent
	c, rerr := m.startWorker(nil)
	if rerr != nil {
		ev.NewPID, ev.Err = rerr.PID, rerr.Error()
		m.record(ev)
		if errors.Is(rerr, ErrShuttingDown) {
			return
		}
		m.log.Error("baton: respawn failed", "err", rerr)
		m.finishRestart(rerr)
		m.scheduleRespawn(Event{Time: time.Now(), Kind: "respawn", Trigger: "respawn failed", OldPID: ev.OldPID})
		return
	}
	ev.OK, ev.NewPID, ev.Generation, ev.HandOff = true, c.pid, c.gen, time.Since(ev.Time)
	m.mu.Lock()
	m.cur = c
	m.recordLocked(ev)
	m.mu.Unlock()
	m.log.Info("baton: worker respawned", "old_pid", ev.OldPID, "new_pid", c.pid, "generation", c.gen,
		"handoff", ev.HandOff.Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.prune()
	m.trimMemory()
}
