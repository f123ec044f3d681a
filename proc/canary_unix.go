//go:build unix && !aix

// This file holds the master's side of a canary reload: which reloads are
// canaries, the window in which the old and the new worker serve side by
// side while they report their figures, the verdict, and the rollback.
// The rules are in canary.go, the workers' accept gate in
// canary_gate_unix.go.

package proc

import (
	"time"
)

// canaryState is the master's record of canary windows, guarded by
// master.mu.
type canaryState struct {
	run                *canaryRun // the window under way, or nil
	promoted, rolledBk int
}

// canaryRun is one window: its two workers and their last reports.
type canaryRun struct {
	cfg        CanaryConfig
	started    time.Time
	old, nu    *child
	oldS, newS canaryStats
	newAt      time.Time // the new worker's last report
}

// canaryStale is how long the new worker may send no figures (it sends
// them every canaryReportEvery) before it counts as stopped: a stopped or
// wedged worker answers nothing and must not pass for an idle one.
const canaryStale = 2 * time.Second

// verdict returns the figures so far and the rules' decision on them.
func (r *canaryRun) verdict(now time.Time) CanaryVerdict {
	v := CanaryVerdict{Window: now.Sub(r.started), Share: r.cfg.Share,
		Old: r.oldS.generation(r.old.pid, r.old.gen), New: r.newS.generation(r.nu.pid, r.nu.gen)}
	if n := v.Old.Conns + v.New.Conns; n > 0 {
		v.Achieved = float64(v.New.Conns) / float64(n)
	}
	return v
}

// canaryFor returns the canary settings of a reload for waiters, if it is
// one: the last waiter's that asked for one, else the master's own. A
// reload with no serving old worker, a replacement of a hung worker, a
// development build and a rollback into a kept executable are not
// canaries: there is nothing to compare with, or someone waits for the
// change at once.
func (m *master) canaryFor(waiters []request, old *child, bin *binary) (CanaryConfig, bool) {
	var cfg *CanaryConfig
	for _, w := range waiters {
		if w.hung != nil {
			return CanaryConfig{}, false
		}
		if w.canary != nil {
			cfg = w.canary
		}
	}
	switch {
	case cfg == nil:
		cfg = m.canaryCfg
	case m.canaryCfg != nil:
		// What the caller left zero, the master's setting says.
		c := cfg.or(*m.canaryCfg)
		cfg = &c
	}
	if cfg == nil || old == nil || old.isDone() || !old.isReady() || (bin != nil && (bin.build > 0 || bin.kept)) {
		return CanaryConfig{}, false
	}
	return cfg.withDefaults(), true
}

// canaryReport takes the figures a worker sent during a window.
func (m *master) canaryReport(c *child, s *canaryStats) {
	if s == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.canary.run
	switch {
	case r == nil:
	case c == r.old:
		r.oldS = *s
	case c == r.nu:
		r.newS, r.newAt = *s, time.Now()
	}
}

// runCanary lets old and nu serve side by side for the window and
// returns the verdict. Requests that arrive meanwhile are queued; a
// shutdown ends the window with nu rolled back.
func (m *master) runCanary(cfg CanaryConfig, old, nu *child) CanaryVerdict {
	run := &canaryRun{cfg: cfg, started: time.Now(), old: old, nu: nu}
	m.mu.Lock()
	m.canary.run = run
	m.mu.Unlock()
	m.log.Info("baton: canary started", "old_pid", old.pid, "new_pid", nu.pid, "window", cfg.Window, "share", cfg.Share)
	m.procs.send(nu, &message{Type: msgCanary, Canary: &canaryRole{New: true, Share: cfg.Share}})
	m.procs.send(old, &message{Type: msgCanary, Canary: &canaryRole{Share: cfg.Share}})

	timer := time.NewTimer(cfg.Window)
	defer timer.Stop()
	var oldDied, newDied, abandoned string
wait:
	for {
		select {
		case <-timer.C:
			break wait
		case <-nu.done:
			waitTimeout(nu.crashDone, time.Second)
			newDied = nu.exitCause()
			break wait
		case <-old.done:
			waitTimeout(old.crashDone, time.Second)
			oldDied = old.exitCause()
			break wait
		case r := <-m.reqs:
			m.queue(r)
			if m.shutdownPending() {
				abandoned = "abandoned: shutting down"
				break wait
			}
		}
	}
	now := time.Now()
	m.mu.Lock()
	v := run.verdict(now)
	last := run.newAt
	if last.IsZero() {
		last = run.started
	}
	if silent := now.Sub(last); newDied == "" && abandoned == "" && silent > canaryStale {
		newDied = "sent no figures for " + silent.Round(time.Millisecond).String() + " (stopped or wedged)"
	}
	m.canary.run = nil
	m.mu.Unlock()
	v.New.Died, v.Old.Died = newDied, oldDied
	if abandoned != "" {
		v.Promoted, v.Reason = false, abandoned
	} else {
		v.Promoted, v.Reason = judge(cfg, v.Old, v.New)
	}
	m.mu.Lock()
	if v.Promoted {
		m.canary.promoted++
	} else {
		m.canary.rolledBk++
	}
	m.mu.Unlock()
	// The survivor accepts alone again before the other one drains.
	survivor := old
	if v.Promoted {
		survivor = nu
	}
	m.procs.send(survivor, &message{Type: msgCanary, Canary: &canaryRole{}})
	return v
}

// canaryStage runs the canary of a reload whose new worker nu is ready,
// if it is one. It reports whether the reload ended there, rolled back:
// nu is then drained, the event recorded and the waiters answered, and
// old serves on. Otherwise ev carries the verdict, if any, and the reload
// goes on to promote nu.
func (m *master) canaryStage(waiters []request, old, nu *child, bin *binary, ev *Event) (rolledBack bool) {
	cfg, ok := m.canaryFor(waiters, old, bin)
	if !ok {
		return false
	}
	v := m.runCanary(cfg, old, nu)
	ev.Canary = &v
	for _, w := range waiters {
		if w.verdict != nil {
			*w.verdict = v
		}
	}
	if v.Promoted {
		m.log.Info("baton: canary promoted", "old_pid", old.pid, "new_pid", nu.pid, "reason", v.Reason,
			"share", round3(v.Achieved), "new_requests", v.New.Requests, "new_error_rate", round3(v.New.ErrorRate()),
			"new_p99", v.New.P99, "old_requests", v.Old.Requests, "old_error_rate", round3(v.Old.ErrorRate()), "old_p99", v.Old.P99)
		return false
	}
	err := &CanaryError{Verdict: v}
	ev.OK, ev.Err = false, err.Error()
	m.mu.Lock()
	if !nu.isDone() {
		m.draining = append(m.draining, nu)
	}
	m.recordLocked(*ev)
	m.mu.Unlock()
	m.log.Warn("baton: canary rolled back", "old_pid", old.pid, "new_pid", nu.pid, "reason", v.Reason,
		"share", round3(v.Achieved), "new_requests", v.New.Requests, "new_error_rate", round3(v.New.ErrorRate()),
		"new_p99", v.New.P99, "old_requests", v.Old.Requests, "old_error_rate", round3(v.Old.ErrorRate()), "old_p99", v.Old.P99)
	answerAll(waiters, err)
	m.drain(nu)
	m.prune()
	return true
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// canaryStatus adds the window under way and the counts of outcomes to
// st. The caller holds m.mu.
func (m *master) canaryStatus(st *Status) {
	if r := m.canary.run; r != nil {
		v := r.verdict(time.Now())
		v.Reason = "running"
		st.Canary = &v
	}
	st.CanaryPromoted, st.CanaryRolledBack = m.canary.promoted, m.canary.rolledBk
}
