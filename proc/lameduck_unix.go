//go:build unix && !aix

// This file holds the lame duck of a shutdown: before the workers drain,
// they are told that the program is stopping and go on serving for a
// while, so that a load balancer sees their health check fail and stops
// sending them work before they stop accepting.

package proc

import "time"

// lameDuckFor returns the lame duck of worker c: its own, else the
// master's option.
func (m *master) lameDuckFor(c *child) time.Duration {
	c.mu.Lock()
	d := c.readyInfo.LameDuck
	c.mu.Unlock()
	if d > 0 {
		return d
	}
	return m.gens.lameDuck
}

// lameDuck tells the serving worker cur that the program stops, and
// waits its lame duck before the shutdown drains it. Requests that come
// meanwhile are refused, except that a second shutdown signal ends the
// wait at once, when the shutdown was itself asked for by a signal to the
// master. It returns at once if cur is nil or has no lame duck.
//
// NOTE: a signal that reaches the master after the worker relayed its own
// copy (systemd's KillMode=control-group signals every process of the
// service at once) is the same stop, not a second one.
func (m *master) lameDuck(cur *child, first request) {
	if cur == nil || cur.isDone() {
		return
	}
	d := m.lameDuckFor(cur)
	if d <= 0 {
		return
	}
	if err := m.procs.send(cur, &message{Type: msgLameDuck, LameDuck: d}); err != nil {
		m.log.Debug("baton: lame duck", "pid", cur.pid, "err", err)
		return
	}
	m.log.Info("baton: lame duck: health checks fail, serving on", "pid", cur.pid, "for", d)
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-cur.done:
			return
		case r := <-m.reqs:
			if r.kind == msgPing {
				r.answer(nil)
				continue
			}
			r.answer(ErrShuttingDown)
			if r.kind == msgShutdown && r.reply == nil && first.reply == nil {
				m.log.Warn("baton: second shutdown signal, ending the lame duck", "signal", r.trigger)
				return
			}
		}
	}
}
