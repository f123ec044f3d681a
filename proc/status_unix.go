//go:build unix && !aix

// This file holds the status a worker asks for, and when it is answered.

package proc

import "time"

// setCurLocked makes c the serving worker and wakes the status requests
// that wait for it. m.mu is held.
func (m *master) setCurLocked(c *child) {
	m.cur = c
	c.current = true
	if m.curSet != nil {
		close(m.curSet)
		m.curSet = nil
	}
}

// handleStatus answers the status request id of worker c. A worker serves
// before the master has taken its ready and made it the serving worker,
// so a handler of it can ask in between: its answer waits until c serves
// as far as the master is concerned (the status then names it, with the
// event of its start), or until c has failed to start and is gone, at
// most the ready timeout and the exit grace. It waits on a goroutine of
// its own: c's ready, which ends the wait, comes on the channel this
// request came on.
func (m *master) handleStatus(c *child, id uint64) {
	answer := func() {
		st := m.status()
		m.procs.send(c, &message{Type: msgReply, ID: id, Status: &st})
	}
	m.mu.Lock()
	wait := !c.current && !c.isDone()
	bound := m.readyTimeout + DefaultExitGrace
	m.mu.Unlock()
	if !wait {
		answer()
		return
	}
	go func() {
		defer answer()
		timer := time.NewTimer(bound)
		defer timer.Stop()
		for {
			m.mu.Lock()
			if c.current {
				m.mu.Unlock()
				return
			}
			if m.curSet == nil {
				m.curSet = make(chan struct{})
			}
			set := m.curSet
			m.mu.Unlock()
			select {
			case <-set:
			case <-c.done:
				return
			case <-timer.C:
				return
			}
		}
	}()
}
