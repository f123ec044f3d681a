//go:build unix && !aix

package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
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
	fd, bound, err := m.listen(c, msg.Key, msg.Network, msg.Addr)
	if err != nil {
		rep.Err = err.Error()
		c.conn.send(rep, -1)
		return
	}
	rep.Addr = bound
	c.conn.send(rep, fd)
	syscall.Close(fd)
}

// listen finds or creates the socket for a worker's Listen and returns a
// duplicate of it for the reply (so that it stays valid even if the socket
// is closed meanwhile).
func (m *master) listen(c *child, key, network, addr string) (int, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return -1, "", ErrShuttingDown
	}
	s := m.findSocket(key, network, addr)
	if s == nil {
		var err error
		if s, err = bindSocket(network, addr); err != nil {
			return -1, "", err
		}
		m.sockets = append(m.sockets, s)
		m.log.Info("baton: listening", "key", key, "addr", s.addr.String())
	}
	s.addKey(key)
	c.mu.Lock()
	c.sockets[s] = true
	c.mu.Unlock()
	fd, err := dupCloexec(s.fd)
	if err != nil {
		return -1, "", fmt.Errorf("baton: listen %s %s: %w", network, addr, err)
	}
	return fd, s.addr.String(), nil
}

// findSocket returns the held socket for a Listen request: the one held for
// key, else a socket-activation socket named key, else one bound to addr.
func (m *master) findSocket(key, network, addr string) *socket {
	for _, s := range m.sockets {
		// A key whose address changed (a new configuration) gets a new
		// socket; the old one stays while a worker uses it.
		if s.hasKey(key) && (matchAddr(network, addr, s.addr) || portZero(network, addr) && sameFamily(network, s.network)) {
			return s
		}
	}
	for _, s := range m.sockets {
		if s.activated && s.name != "" && s.name == key && sameFamily(network, s.network) {
			return s
		}
	}
	for _, activated := range []bool{true, false} {
		for _, s := range m.sockets {
			if s.activated == activated && matchAddr(network, addr, s.addr) {
				return s
			}
		}
	}
	return nil
}

func portZero(network, addr string) bool {
	if network == "unix" {
		return false
	}
	_, port, err := splitPort(addr)
	return err == nil && (port == "" || port == "0")
}

func splitPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

func sameFamily(a, b string) bool {
	return (a == "unix") == (b == "unix")
}

// prune closes the sockets no current or starting worker asked for, so that
// an address dropped from the configuration is released. Socket-activation
// sockets are kept: the service manager owns them.
func (m *master) prune() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil {
		return
	}
	used := make(map[*socket]bool)
	for _, c := range []*child{m.cur, m.starting} {
		if c == nil {
			continue
		}
		c.mu.Lock()
		for s := range c.sockets {
			used[s] = true
		}
		c.mu.Unlock()
	}
	m.sockets = slices.DeleteFunc(m.sockets, func(s *socket) bool {
		if s.activated || used[s] {
			return false
		}
		m.log.Info("baton: closing unused socket", "keys", strings.Join(s.keys, ","), "addr", s.addr.String())
		s.close()
		return true
	})
}

func (m *master) closeSockets() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closing = true
	for _, s := range m.sockets {
		s.close()
	}
	m.sockets = nil
}
