//go:build unix && !aix

// This file holds the master's side of the control channel: it reads
// what a worker sends (hello, listen, ready, fail, drained, pong, the
// reload, restart and shutdown requests, status) and answers it.

package proc

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"
)

// serve reads the control channel of worker c until it closes.
func (m *master) serve(c *child) {
	defer close(c.ctlDone)
	defer c.conn.close()
	for {
		msg, fd, err := c.conn.recv()
		if fd >= 0 {
			syscall.Close(fd) // workers send no descriptors
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				m.log.Warn("baton: control channel", "pid", c.pid, "err", err)
			}
			return
		}
		m.dispatch(c, msg)
	}
}

// dispatch handles one message of worker c.
func (m *master) dispatch(c *child, msg *message) {
	switch msg.Type {
	case msgHello:
	case msgListen:
		m.handleListen(c, msg)
	case msgReady:
		m.handleReady(c, msg)
	case msgFail:
		c.mu.Lock()
		if c.failMsg == "" {
			c.failMsg = msg.Err
		}
		c.mu.Unlock()
		c.failOnce.Do(func() { close(c.failed) })
	case msgPong:
		select {
		case c.pong <- struct{}{}:
		default:
		}
	case msgDrained:
		c.mu.Lock()
		c.drained = msg.Count
		c.mu.Unlock()
		c.drainedOnce.Do(func() { close(c.drainedCh) })
	case msgReload, msgRestart, msgShutdown, msgRollback:
		id := msg.ID
		r := request{kind: msg.Type, trigger: msg.Trigger, at: time.Now(), from: c}
		if msg.Type == msgReload {
			r.canary, r.verdict = msg.CanaryConfig, new(CanaryVerdict)
		}
		r.reply = func(err error) {
			rep := &message{Type: msgReply, ID: id}
			setReplyErr(rep, err)
			if r.verdict != nil && r.verdict.Reason != "" {
				rep.Verdict = r.verdict
			}
			m.procs.send(c, rep)
		}
		m.reqs <- r
	case msgStats:
		m.canaryReport(c, msg.Stats)
	case msgCounters:
		t := m.counters(c, msg.Report)
		m.procs.send(c, &message{Type: msgReply, ID: msg.ID, Totals: &t})
	case msgStatus:
		m.handleStatus(c, msg.ID)
	default:
		if msg.ID != 0 {
			m.procs.send(c, &message{Type: msgReply, ID: msg.ID, Err: fmt.Sprintf("baton: unknown request %q", msg.Type)})
		}
	}
}

// handleReady takes a worker's ready: it may start serving, and its
// timeouts apply to the reloads that follow.
func (m *master) handleReady(c *child, msg *message) {
	c.mu.Lock()
	c.readyAt = time.Now()
	c.readyInfo = ReadyInfo{ReadyTimeout: msg.ReadyTimeout, DrainTimeout: msg.DrainTimeout, LameDuck: msg.LameDuck}
	c.mu.Unlock()
	m.mu.Lock()
	if msg.ReadyTimeout > 0 {
		m.readyTimeout = msg.ReadyTimeout
	}
	if msg.DrainTimeout > 0 {
		m.drainTimeout = msg.DrainTimeout
	}
	m.mu.Unlock()
	c.readyOnce.Do(func() {
		close(c.ready)
		if m.heartbeatTimeout > 0 {
			go m.heartbeat(c, m.heartbeatInterval, m.heartbeatTimeout)
		}
	})
	m.procs.send(c, &message{Type: msgReply, ID: msg.ID})
}

func (m *master) handleListen(c *child, msg *message) {
	rep := &message{Type: msgReply, ID: msg.ID}
	fd, bound, err := m.sockets.listen(c, msg.Key, msg.Network, msg.Addr)
	if err != nil {
		rep.Err = err.Error()
		c.conn.send(rep, -1)
		return
	}
	rep.Addr = bound
	c.conn.send(rep, fd)
	syscall.Close(fd)
}
