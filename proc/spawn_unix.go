//go:build unix && !aix

package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// spawn starts a worker of generation gen from bin.
func (m *master) spawn(gen int, bin *binary) (*child, error) {
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	crashR, crashW, err := os.Pipe()
	if err != nil {
		ours.Close()
		theirs.Close()
		return nil, fmt.Errorf("baton: crash pipe: %w", err)
	}
	c := newChild(0, gen)
	c.build = bin.build
	env := append(slices.Clip(m.env), EnvWorker+"="+strconv.Itoa(gen))
	attr := &os.ProcAttr{
		Dir:   m.dir,
		Env:   env,
		Files: []*os.File{stdFile(os.Stdin, 0), stdFile(os.Stdout, 1), stdFile(os.Stderr, 2), theirs, crashW},
	}
	err = m.reaper.start(c, bin.path, m.args, attr)
	theirs.Close()
	crashW.Close()
	if err != nil {
		ours.Close()
		crashR.Close()
		return nil, err
	}
	go c.readCrash(crashR)
	c.conn, err = newConn(ours)
	if err != nil {
		m.reaper.signal(c, syscall.SIGKILL)
		return nil, err
	}
	m.mu.Lock()
	m.starting = c
	m.mu.Unlock()
	if m.dev != nil {
		// The first thing the worker reads, before any Listen reply: it
		// knows it is in development mode before it serves.
		m.sendDev(c)
	}
	go m.serve(c)
	m.log.Debug("baton: worker started", "pid", c.pid, "generation", gen)
	return c, nil
}

// stdFile returns f (standard stream fd), or nil when that descriptor is
// closed (a daemon started without standard streams): the worker then gets
// none either, instead of failing to start.
func stdFile(f *os.File, fd int) *os.File {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil
	}
	return f
}

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
		switch msg.Type {
		case msgHello:
		case msgListen:
			m.handleListen(c, msg)
		case msgReady:
			c.mu.Lock()
			c.readyAt = time.Now()
			c.readyInfo = ReadyInfo{ReadyTimeout: msg.ReadyTimeout, DrainTimeout: msg.DrainTimeout}
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
			c.conn.send(&message{Type: msgReply, ID: msg.ID}, -1)
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
		case msgReload, msgRestart, msgShutdown:
			id := msg.ID
			m.reqs <- request{kind: msg.Type, trigger: msg.Trigger, at: time.Now(), from: c, reply: func(err error) {
				rep := &message{Type: msgReply, ID: id}
				setReplyErr(rep, err)
				c.conn.send(rep, -1)
			}}
		case msgStatus:
			st := m.status()
			c.conn.send(&message{Type: msgReply, ID: msg.ID, Status: &st}, -1)
		default:
			if msg.ID != 0 {
				c.conn.send(&message{Type: msgReply, ID: msg.ID, Err: fmt.Sprintf("baton: unknown request %q", msg.Type)}, -1)
			}
		}
	}
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
