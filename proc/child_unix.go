//go:build unix && !aix

// This file holds the worker lifecycle as the master drives it: a worker
// process (child), its start (spawn) and the wait for its ready, the first
// worker, the respawn with backoff after a worker died, the drain of an
// old worker with its kill deadline, and the kill of a hung one.

package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a worker process as the master sees it.
type child struct {
	pid     int
	gen     int
	build   int      // the development build it runs, 0 for the program's binary
	conn    *conn    // nil for a draining worker inherited across a restart
	crash   *os.File // the read end of its crash pipe; see handover_unix.go
	started time.Time

	done   chan struct{}      // closed once the process is reaped
	status syscall.WaitStatus // valid after done

	ready     chan struct{} // closed at msgReady
	failed    chan struct{} // closed at msgFail
	crashDone chan struct{} // closed when the crash pipe reaches EOF
	ctlDone   chan struct{} // closed when the control channel is read to its end
	drainedCh chan struct{} // closed at msgDrained
	pong      chan struct{} // receives at msgPong (buffered: one pending)

	readyOnce, failOnce, drainedOnce sync.Once

	devMu sync.Mutex // held while a development state is sent

	// Guarded by mu.
	mu        sync.Mutex
	readyAt   time.Time
	readyInfo ReadyInfo
	failMsg   string
	crashLine string
	drainSent bool
	drained   int // requests answered while draining, as the worker reported
	// current is set once c has been the serving worker; guarded by
	// master.mu, not mu (setCurLocked).
	current bool
	sockets map[*socket]bool // the sockets this worker asked for
}

func newChild(pid, gen int) *child {
	return &child{
		pid:       pid,
		gen:       gen,
		started:   time.Now(),
		done:      make(chan struct{}),
		ready:     make(chan struct{}),
		failed:    make(chan struct{}),
		crashDone: make(chan struct{}),
		ctlDone:   make(chan struct{}),
		drainedCh: make(chan struct{}),
		pong:      make(chan struct{}, 1),
		sockets:   make(map[*socket]bool),
	}
}

func (c *child) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// exitCause describes how a reaped child ended, adding the first line of a
// crash report (e.g. "panic: boom") when there is one.
func (c *child) exitCause() string {
	ws := c.status
	var s string
	switch {
	case ws.Exited():
		s = fmt.Sprintf("exited with status %d", ws.ExitStatus())
	case ws.Signaled():
		s = fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	default:
		s = fmt.Sprintf("ended with wait status %#x", uint32(ws))
	}
	c.mu.Lock()
	line := c.crashLine
	c.mu.Unlock()
	if line != "" {
		s += ": " + line
	}
	return s
}

// exitCode is the status the master exits with when c was the very first
// worker and could not start.
func (c *child) exitCode() int {
	if c.status.Exited() && c.status.ExitStatus() > 0 {
		return c.status.ExitStatus()
	}
	return 1
}

// readCrash keeps the first line of what the worker's runtime writes to its
// crash output (debug.SetCrashOutput), e.g. "panic: boom". The pipe carries
// nothing while the worker is healthy, so this costs the master nothing per
// request.
func (c *child) readCrash(r *os.File) {
	defer close(c.crashDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadString('\n')
		if l := strings.TrimSpace(line); l != "" {
			c.mu.Lock()
			if c.crashLine == "" {
				if len(l) > 200 {
					l = l[:200] + "..."
				}
				c.crashLine = l
			}
			c.mu.Unlock()
			io.Copy(io.Discard, br)
			return
		}
		if err != nil {
			return
		}
	}
}

// procs is what the master's decisions do to worker processes: start
// one, signal one, send one a message. A worker's events are the channels
// of its child (ready, failed, done, ctlDone, crashDone), which the
// reaper and the control channel close. The master's own procs is
// reaperProcs; the unit tests of the decisions use a fake, so that they
// run without processes.
type procs interface {
	// start starts a worker of generation gen from bin. It does not wait
	// for it to be ready.
	start(gen int, bin *binary) (*child, error)
	// signal sends sig to c unless it has been reaped.
	signal(c *child, sig syscall.Signal)
	// send writes msg, without a descriptor, on c's control channel. A
	// worker without one (inherited across a restart) gets nothing.
	send(c *child, msg *message) error
}

// reaperProcs starts workers as processes through the master's reaper and
// talks to them over their control channels.
type reaperProcs struct{ m *master }

var _ procs = reaperProcs{}

func (p reaperProcs) start(gen int, bin *binary) (*child, error) { return p.m.spawn(gen, bin) }

func (p reaperProcs) signal(c *child, sig syscall.Signal) { p.m.reaper.signal(c, sig) }

func (p reaperProcs) send(c *child, msg *message) error {
	if c.conn == nil {
		return nil
	}
	return c.conn.send(msg, -1)
}

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
	c.crash = crashR
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
	c, err := m.procs.start(gen, bin)
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
	return c, m.abandon(c, kind, cause)
}

// abandon kills and reaps c, a worker that did not become ready for kind
// of reason, and returns why it failed.
func (m *master) abandon(c *child, kind error, cause string) *ReloadError {
	if kind == ErrWorkerFailed {
		c.mu.Lock()
		cause = c.failMsg
		c.mu.Unlock()
		// It is exiting by itself; give it a moment.
		waitTimeout(c.done, time.Second)
	}
	m.procs.signal(c, syscall.SIGKILL)
	if !waitTimeout(c.done, 5*time.Second) {
		m.log.Error("baton: killed worker not reaped", "pid", c.pid)
	}
	if kind == ErrWorkerExited {
		waitTimeout(c.crashDone, time.Second)
		cause = c.exitCause()
	}
	return &ReloadError{PID: c.pid, Cause: cause, Err: kind}
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
	if m.cur != nil {
		return m.replaceServing() // a worker that served before a restart
	}
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
	m.setCurLocked(c)
	m.mu.Unlock()
	m.log.Info("baton: worker ready", "pid", c.pid, "generation", c.gen, "startup", time.Since(c.started).Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.keep(c, nil, false)
	m.prune()
	m.trimMemory()
	return 0, false
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
	m.carry.crash()
	if !readyAt.IsZero() && time.Since(readyAt) >= healthyAfter {
		m.crashes = 0
	}
	m.scheduleRespawn(Event{Time: time.Now(), Kind: "respawn", Trigger: "worker " + cause, OldPID: c.pid})
	return 0, false
}

// Backoff of respawns after unexpected worker deaths.
const (
	respawnBackoffStep = 100 * time.Millisecond
	respawnBackoffMax  = 5 * time.Second
	// healthyAfter is how long a worker must have been ready for its
	// death to reset the backoff.
	healthyAfter = 10 * time.Second
)

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
	m.setCurLocked(c)
	m.recordLocked(ev)
	m.mu.Unlock()
	m.log.Info("baton: worker respawned", "old_pid", ev.OldPID, "new_pid", c.pid, "generation", c.gen,
		"handoff", ev.HandOff.Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.keep(c, nil, false)
	m.prune()
	m.trimMemory()
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
	if err := m.procs.send(c, &message{Type: msgDrain}); err != nil {
		m.log.Debug("baton: drain", "pid", c.pid, "err", err)
	}
	go m.killAfter(c, d+DefaultExitGrace)
}

// killAfter kills c with SIGKILL if it has not exited after d.
func (m *master) killAfter(c *child, d time.Duration) {
	if waitTimeout(c.done, max(d, 0)) {
		return
	}
	m.log.Warn("baton: old worker did not exit in time, killing it", "pid", c.pid, "after", d)
	m.procs.signal(c, syscall.SIGKILL)
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
	m.procs.signal(c, syscall.SIGKILL)
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
