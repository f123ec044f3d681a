//go:build unix && !aix

package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
)

// Descriptors a worker inherits from the master.
const (
	controlFD = 3 // the control channel
	crashFD   = 4 // a pipe for debug.SetCrashOutput
)

// client is the worker's end of the control channel.
type client struct {
	w    *Worker
	conn *conn
	log  *slog.Logger

	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]chan reply
	gone   bool // the master closed the channel

}

// reply is a master's answer and its descriptor (or -1).
type reply struct {
	m  *message
	fd int
}

// initWorker connects a worker to its master.
func initWorker(opts Options, genStr string) (*Worker, error) {
	log := opts.logger()
	gen, err := strconv.Atoi(genStr)
	if err != nil || gen < 1 {
		return nil, fmt.Errorf("baton: %s=%q is not a generation number: %w", EnvWorker, genStr, ErrProtocol)
	}
	// Programs the application starts must not take themselves for workers.
	os.Unsetenv(EnvWorker)

	setCrashOutput(log)

	f := os.NewFile(controlFD, "baton-control")
	if f == nil {
		return nil, fmt.Errorf("baton: control channel: no descriptor %d: %w", controlFD, ErrNoMaster)
	}
	c, err := newConn(f) // closes f; c has a close-on-exec copy
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrNoMaster)
	}
	w := &Worker{gen: gen, log: log, draining: make(chan struct{}), onDev: opts.OnDevState}
	w.c = &client{w: w, conn: c, log: log, calls: make(map[uint64]chan reply)}
	if err := c.send(&message{Type: msgHello, PID: os.Getpid(), Gen: gen}, -1); err != nil {
		c.close()
		return nil, err
	}
	go w.c.readLoop()
	go w.c.signals()
	return w, nil
}

// setCrashOutput sends the runtime's crash reports (an unrecovered panic, a
// fatal error) to the pipe the master reads, besides stderr, so that the
// master can name the cause of a failed reload without copying stderr.
func setCrashOutput(log *slog.Logger) {
	var st syscall.Stat_t
	if err := syscall.Fstat(crashFD, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return
	}
	f := os.NewFile(crashFD, "baton-crash")
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		log.Warn("baton: crash output", "err", err)
	}
	f.Close() // SetCrashOutput keeps its own close-on-exec copy
}

// readLoop dispatches the master's messages until the channel closes.
func (c *client) readLoop() {
	for {
		m, fd, err := c.conn.recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.log.Error("baton: control channel", "err", err)
			}
			break
		}
		switch m.Type {
		case msgDrain:
			c.w.drain()
		case msgLameDuck:
			c.w.enterLameDuck()
		case msgPing:
			// NOTE: answered here, not on the serving path, so that a
			// worker busy in its handlers is not taken for a hung one.
			c.conn.send(&message{Type: msgPong}, -1)
		case msgDev:
			if m.Dev != nil {
				c.w.setDev(*m.Dev)
			}
		case msgReply:
			c.mu.Lock()
			ch := c.calls[m.ID]
			delete(c.calls, m.ID)
			c.mu.Unlock()
			if ch == nil {
				if fd >= 0 {
					syscall.Close(fd) // the caller gave up
				}
				continue
			}
			ch <- reply{m: m, fd: fd}
		default:
			if fd >= 0 {
				syscall.Close(fd)
			}
		}
	}
	// The master is gone (or re-executed itself): drain rather than hold
	// the port alone.
	c.mu.Lock()
	c.gone = true
	for id, ch := range c.calls {
		delete(c.calls, id)
		close(ch)
	}
	c.mu.Unlock()
	c.conn.close()
	c.w.drain()
}

// roundTrip sends m as a request and waits for its reply.
func (c *client) roundTrip(ctx context.Context, m *message) (reply, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return reply{}, ErrMasterGone
	}
	c.nextID++
	m.ID = c.nextID
	c.calls[m.ID] = ch
	c.mu.Unlock()
	if err := c.conn.send(m, -1); err != nil {
		c.forget(m.ID)
		return reply{}, fmt.Errorf("%w: %w", ErrMasterGone, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return reply{}, ErrMasterGone
		}
		return r, nil
	case <-ctx.Done():
		c.forget(m.ID)
		// A reply may have arrived meanwhile.
		select {
		case r, ok := <-ch:
			if ok && r.fd >= 0 {
				syscall.Close(r.fd)
			}
		default:
		}
		return reply{}, ctx.Err()
	}
}

func (c *client) forget(id uint64) {
	c.mu.Lock()
	delete(c.calls, id)
	c.mu.Unlock()
}

// call sends a request that carries only a trigger and returns the master's
// answer as an error.
func (c *client) call(ctx context.Context, typ, trigger string) error {
	r, err := c.roundTrip(ctx, &message{Type: typ, Trigger: trigger})
	if err != nil {
		return err
	}
	if r.fd >= 0 {
		syscall.Close(r.fd)
	}
	return replyErr(r.m)
}

func (c *client) listen(key, network, addr string) (net.Listener, error) {
	r, err := c.roundTrip(context.Background(), &message{Type: msgListen, Key: key, Network: network, Addr: addr})
	if err != nil {
		return nil, err
	}
	if err := replyErr(r.m); err != nil {
		if r.fd >= 0 {
			syscall.Close(r.fd)
		}
		return nil, err
	}
	if r.fd < 0 {
		return nil, fmt.Errorf("baton: listen %s %s: no descriptor in reply: %w", network, addr, ErrProtocol)
	}
	return fdListener(r.fd, key)
}

// fdListener turns a received descriptor into a net.Listener and closes fd.
func fdListener(fd int, name string) (net.Listener, error) {
	// NOTE: the socket must be non-blocking before os.NewFile sees it:
	// given a blocking descriptor, NewFile would make it non-blocking and
	// remember to make it blocking again in Fd (which net.FileListener
	// calls), switching the socket shared with the master and other
	// workers to blocking mode.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("baton: listener %s: %w", name, os.NewSyscallError("setnonblock", err))
	}
	f := os.NewFile(uintptr(fd), name)
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("baton: listener %s: %w", name, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		// The socket file belongs to the master.
		ul.SetUnlinkOnClose(false)
	}
	return ln, nil
}

func (c *client) ready(info ReadyInfo) error {
	r, err := c.roundTrip(context.Background(), &message{Type: msgReady, ReadyTimeout: info.ReadyTimeout, DrainTimeout: info.DrainTimeout, LameDuck: info.LameDuck})
	if err != nil {
		return err
	}
	return replyErr(r.m)
}

func (c *client) fail(err error) {
	if serr := c.conn.send(&message{Type: msgFail, Err: err.Error()}, -1); serr != nil {
		c.log.Error("baton: cannot report failure to master", "err", err, "send_err", serr)
	}
}

func (c *client) drained(n int) {
	c.conn.send(&message{Type: msgDrained, Count: n}, -1)
}

func (c *client) status(ctx context.Context) (Status, error) {
	r, err := c.roundTrip(ctx, &message{Type: msgStatus})
	if err != nil {
		return Status{}, err
	}
	if err := replyErr(r.m); err != nil {
		return Status{}, err
	}
	if r.m.Status == nil {
		return Status{}, fmt.Errorf("baton: status: empty reply: %w", ErrProtocol)
	}
	return *r.m.Status, nil
}

// signals relays the signals a worker receives (for instance from a kill
// aimed at the whole process group) to the master, which acts on them.
func (c *client) signals() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, rollbackSignal)
	for s := range ch {
		trigger := signalName(s) + " to worker"
		switch s {
		case rollbackSignal:
			// NOTE: not relayed. A rollback is one step, not a toggle:
			// a signal to the process group reaches the master itself,
			// and a second one from here would be refused or, after a
			// reload in between, roll back once more.
		case syscall.SIGUSR1:
			go func() {
				if err := c.call(context.Background(), msgReload, trigger); err != nil {
					c.log.Error("baton: reload", "trigger", trigger, "err", err)
				}
			}()
		case syscall.SIGUSR2:
			go func() {
				if err := c.call(context.Background(), msgRestart, trigger); err != nil {
					c.log.Error("baton: restart", "trigger", trigger, "err", err)
				}
			}()
		default:
			go func() {
				err := c.call(context.Background(), msgShutdown, trigger)
				if err != nil && !errors.Is(err, ErrShuttingDown) {
					// No master to drain us: drain by ourselves.
					c.w.drain()
				}
			}()
		}
	}
}

// signalName returns the conventional name of the signals this package
// handles.
func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case rollbackSignal:
		return "SIGTTIN"
	}
	return s.String()
}
