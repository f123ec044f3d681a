//go:build unix && !aix

// This file holds the worker that goes on serving across a restart: the
// master's ends of its control channel and crash pipe are carried over the
// exec, so that the worker keeps accepting while the new master starts its
// successor, and is told to drain only once that one is ready.

package proc

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// stateServing is the serving worker in the state of a restart, with the
// descriptors of the master's ends of its control channel and crash pipe.
type stateServing struct {
	PID   int `json:"pid"`
	Gen   int `json:"gen"`
	Ctl   int `json:"ctl"`
	Crash int `json:"crash"`
}

// carryServing describes the serving worker for the restart, if its
// channel and pipe can be carried, and returns their descriptors, which
// the exec must leave open. m.mu is held.
func (m *master) carryServing() (*stateServing, []int) {
	c := m.cur
	if c == nil || c.isDone() || c.conn == nil || c.crash == nil {
		return nil, nil
	}
	ctl, err := rawFD(c.conn.uc)
	if err != nil {
		m.log.Warn("baton: restart: the worker drains at the exec", "pid", c.pid, "err", err)
		return nil, nil
	}
	crash, err := rawFD(c.crash)
	if err != nil {
		m.log.Warn("baton: restart: the worker drains at the exec", "pid", c.pid, "err", err)
		return nil, nil
	}
	return &stateServing{PID: c.pid, Gen: c.gen, Ctl: ctl, Crash: crash}, []int{ctl, crash}
}

// rawFD returns the descriptor of f without changing its mode ((*os.File).Fd
// would make it blocking). It stays valid while f is open.
func rawFD(f syscall.Conn) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// adoptServing takes over the worker that served before the restart, as
// the current worker, using every inherited socket. It reports false if
// that worker is gone. Its channel is read once the master runs.
func (m *master) adoptServing(s *stateServing) bool {
	for _, fd := range []int{s.Ctl, s.Crash} {
		if err := setCloexec(fd, true); err != nil {
			m.log.Error("baton: inherited worker channel", "fd", fd, "err", err)
		}
	}
	c := newChild(s.PID, s.Gen)
	close(c.ready)
	c.readyAt = time.Now()
	crash := os.NewFile(uintptr(s.Crash), "baton-crash")
	conn, err := newConn(os.NewFile(uintptr(s.Ctl), "baton-control"))
	if err != nil || !m.reaper.adopt(c) {
		if err == nil {
			err = fmt.Errorf("not a child of this process")
			conn.close()
		}
		crash.Close()
		m.log.Warn("baton: worker from before the restart not adopted", "pid", s.PID, "err", err)
		return false
	}
	c.conn, c.crash = conn, crash
	m.sockets.handOff(func(socks []*socket) error {
		for _, s := range socks {
			c.sockets[s] = true
		}
		return nil
	})
	m.setCurLocked(c) // m.mu is not needed yet: the master does not run
	return true
}

// replaceServing starts the first worker of a restarted master beside the
// worker that served before the restart, which drains once the new one is
// ready. If the new one fails, the old one goes on serving.
func (m *master) replaceServing() (code int, exit bool) {
	m.mu.Lock()
	old := m.cur
	m.mu.Unlock()
	go old.readCrash(old.crash)
	go m.serve(old)
	if m.heartbeatTimeout > 0 {
		go m.heartbeat(old, m.heartbeatInterval, m.heartbeatTimeout)
	}
	c, rerr := m.startWorker(nil)
	m.warnOnly = false
	if rerr != nil {
		if errors.Is(rerr, ErrShuttingDown) {
			return 0, false // the run loop performs the stashed shutdown
		}
		m.log.Error("baton: worker failed after restart, the old worker goes on serving", "pid", old.pid, "err", rerr)
		m.finishRestart(rerr)
		return 0, false
	}
	m.mu.Lock()
	m.setCurLocked(c)
	if !old.isDone() {
		m.draining = append(m.draining, old)
	}
	m.mu.Unlock()
	m.log.Info("baton: worker ready", "pid", c.pid, "generation", c.gen, "startup", time.Since(c.started).Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.drain(old)
	m.prune()
	m.trimMemory()
	return 0, false
}

// cloexecFDs marks fds close-on-exec again after a failed exec.
func cloexecFDs(fds []int) {
	for _, fd := range fds {
		setCloexec(fd, true)
	}
}
