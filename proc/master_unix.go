//go:build unix && !aix

package proc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// envState carries the master's state across the exec of a restart: start
// time, generation counter, history, socket details, draining workers.
const envState = "BATON_STATE"

// Backoff of respawns after unexpected worker deaths.
const (
	respawnBackoffStep = 100 * time.Millisecond
	respawnBackoffMax  = 5 * time.Second
	// healthyAfter is how long a worker must have been ready for its
	// death to reset the backoff.
	healthyAfter = 10 * time.Second
)

// request is a reload, restart or shutdown asked for by a signal or a worker.
type request struct {
	kind    string // msgReload, msgRestart or msgShutdown
	trigger string
	at      time.Time
	reply   func(error) // nil when nobody waits (signals)
	from    *child      // the worker asking, or nil
}

func (r request) answer(err error) {
	if r.reply != nil {
		r.reply(err)
	}
}

func answerAll(rs []request, err error) {
	for _, r := range rs {
		r.answer(err)
	}
}

// master owns the listening sockets and supervises the workers. Its run
// goroutine performs every reload, restart, respawn and shutdown, one at a
// time; the goroutines reading the workers' control channels answer
// listen and status requests from the state guarded by mu.
type master struct {
	log     *slog.Logger
	pid     int
	exe     string
	args    []string
	dir     string
	execEnv []string // environment for the exec of a restart
	env     []string // environment for workers, without EnvWorker
	notify  *notifier
	reaper  *reaper
	sigchld chan os.Signal
	reqs    chan request

	mu           sync.Mutex
	started      time.Time
	readyTimeout time.Duration
	drainTimeout time.Duration
	sockets      []*socket
	cur          *child   // the serving worker, or nil while none is
	starting     *child   // a worker being started
	draining     []*child // old workers told to drain
	reloading    bool
	closing      bool
	nextGen      int
	history      []Event

	// Owned by the run goroutine.
	pending      []request // reloads asked for during a reload
	stash        *request  // a restart or shutdown asked for during a wait
	restartEvent *Event    // the restart that executed this master
	restarted    bool
	crashes      int
	respawnTimer *time.Timer
	respawnEvent Event
}

// masterState is the value of envState.
type masterState struct {
	Version  int           `json:"v"`
	Started  time.Time     `json:"started"`
	NextGen  int           `json:"next_gen"`
	History  []Event       `json:"history,omitempty"`
	Restart  *Event        `json:"restart,omitempty"`
	Sockets  []stateSocket `json:"sockets,omitempty"`
	Draining []stateChild  `json:"draining,omitempty"`
}

type stateSocket struct {
	FD        int    `json:"fd"`
	Network   string `json:"network,omitempty"`
	Name      string `json:"name,omitempty"`
	Activated bool   `json:"activated,omitempty"`
	Unlink    string `json:"unlink,omitempty"`
}

type stateChild struct {
	PID      int       `json:"pid"`
	Gen      int       `json:"gen"`
	Deadline time.Time `json:"deadline"`
}

// internalEnv lists the variables this package sets for its own use; they
// are removed from the environment the application sees.
var internalEnv = []string{EnvWorker, envFDs, envState, envListenPID, envListenFDs, envListenFDNames}

// workerOnlyDrop lists variables meant for the master alone.
var workerOnlyDrop = []string{"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC"}

func newMaster(opts Options) (*master, error) {
	log := opts.logger()
	m := &master{
		log:     log,
		pid:     os.Getpid(),
		args:    os.Args,
		reqs:    make(chan request, 64),
		started: time.Now(),
	}
	var err error
	if m.exe, err = executable(); err != nil {
		return nil, fmt.Errorf("baton: master: executable: %w", err)
	}
	if m.dir, err = os.Getwd(); err != nil {
		return nil, fmt.Errorf("baton: master: working directory: %w", err)
	}
	m.readyTimeout = timeout(opts.ReadyTimeout, EnvReadyTimeout, DefaultReadyTimeout, log)
	m.drainTimeout = timeout(opts.DrainTimeout, EnvDrainTimeout, DefaultDrainTimeout, log)

	// Subscribe to SIGCHLD before any child exists, so none is missed.
	m.reaper = newReaper(log)
	m.sigchld = m.reaper.notify()

	stateStr, fdsStr := os.Getenv(envState), os.Getenv(envFDs)
	names := parseListenEnv(os.Getenv(envListenPID), os.Getenv(envListenFDs), os.Getenv(envListenFDNames), m.pid)
	for _, k := range internalEnv {
		os.Unsetenv(k)
	}
	if stateStr != "" || fdsStr != "" {
		m.restore(stateStr, fdsStr)
	}
	for i, name := range names {
		s, err := adoptSocket(listenFDsStart + i)
		if err != nil {
			log.Warn("baton: ignoring socket-activation descriptor", "fd", listenFDsStart+i, "err", err)
			continue
		}
		s.name, s.activated = name, true
		m.sockets = append(m.sockets, s)
		log.Info("baton: adopted socket-activation socket", "fd", s.fd, "name", name, "addr", s.addr.String())
	}

	m.execEnv = os.Environ()
	m.env = slices.DeleteFunc(slices.Clone(m.execEnv), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(workerOnlyDrop, k)
	})
	m.notify = newNotifier(log)
	return m, nil
}

// executable returns the path workers and restarts are started from,
// resolved once at master start. It prefers the path the program was
// started by (os.Args[0]) when that names the same file as os.Executable, so
// that a symlink ("current" release link) is followed again at each reload.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if a0 := os.Args[0]; strings.Contains(a0, "/") {
		if abs, err := filepath.Abs(a0); err == nil && abs != exe {
			fi1, err1 := os.Stat(abs)
			fi2, err2 := os.Stat(exe)
			if err1 == nil && err2 == nil && os.SameFile(fi1, fi2) {
				return abs, nil
			}
		}
	}
	return exe, nil
}

// restore takes over the sockets and state of the master this process was
// before a restart.
func (m *master) restore(stateStr, fdsStr string) {
	m.restarted = true
	entries, err := parseFDs(fdsStr)
	if err != nil {
		m.log.Error("baton: inherited sockets", "err", err)
	}
	byFD := make(map[int]*socket)
	for _, e := range entries {
		s := byFD[e.FD]
		if s == nil {
			s, err = adoptSocket(e.FD)
			if err != nil {
				m.log.Error("baton: inherited socket", "fd", e.FD, "err", err)
				continue
			}
			byFD[e.FD] = s
			m.sockets = append(m.sockets, s)
		}
		if e.Key != "" {
			s.addKey(e.Key)
		}
	}
	var st masterState
	if stateStr != "" {
		if err := json.Unmarshal([]byte(stateStr), &st); err != nil {
			m.log.Error("baton: inherited state", "err", err)
			return
		}
	}
	for _, ss := range st.Sockets {
		if s := byFD[ss.FD]; s != nil {
			s.name, s.activated, s.unlink = ss.Name, ss.Activated, ss.Unlink
			if ss.Network != "" {
				s.network = ss.Network
			}
		}
	}
	if !st.Started.IsZero() {
		m.started = st.Started
	}
	m.nextGen = st.NextGen
	m.history = st.History
	m.restartEvent = st.Restart
	for _, d := range st.Draining {
		c := newChild(d.PID, d.Gen)
		close(c.crashDone)
		c.drainSent = true
		if !m.reaper.adopt(c) {
			continue
		}
		m.draining = append(m.draining, c)
		go m.killAfter(c, time.Until(d.Deadline))
	}
}

// run supervises workers until the program ends and returns the exit status.
func (m *master) run() int {
	go m.reaper.run(m.sigchld)
	go m.signals()
	m.log.Info("baton: master started", "pid", m.pid, "executable", m.exe, "restarted", m.restarted)

	if code, exit := m.startFirst(); exit {
		return code
	}
	for {
		if len(m.pending) > 0 && !m.shutdownPending() {
			// Reloads asked for while the first worker or a respawned
			// one was starting.
			waiters := m.pending
			m.pending = nil
			m.reloadAll(waiters)
			continue
		}
		if m.stash != nil {
			r := *m.stash
			m.stash = nil
			if code, exit := m.handle(r); exit {
				return code
			}
			continue
		}
		var curDone, oldDone <-chan struct{}
		var respawn <-chan time.Time
		m.mu.Lock()
		if m.cur != nil {
			curDone = m.cur.done
		}
		if len(m.draining) > 0 {
			oldDone = m.draining[0].done
		}
		m.mu.Unlock()
		if m.respawnTimer != nil {
			respawn = m.respawnTimer.C
		}
		select {
		case r := <-m.reqs:
			if code, exit := m.handle(r); exit {
				return code
			}
		case <-curDone:
			if code, exit := m.curExited(); exit {
				return code
			}
		case <-oldDone:
			m.reapDraining()
		case <-respawn:
			m.respawnTimer = nil
			m.respawn()
		}
	}
}

// handle performs a request. It reports exit when the master must exit with
// code.
func (m *master) handle(r request) (code int, exit bool) {
	switch r.kind {
	case msgReload:
		m.reloadAll([]request{r})
	case msgRestart:
		m.restart(r)
	case msgShutdown:
		return m.shutdown(r, 0), true
	}
	return 0, false
}

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

// queue keeps a request that arrived while the run goroutine was waiting.
func (m *master) queue(r request) {
	switch {
	case r.kind == msgReload:
		if m.shutdownPending() {
			r.answer(ErrShuttingDown)
			return
		}
		m.pending = append(m.pending, r)
	case m.stash == nil:
		m.stash = &r
	case r.kind == msgShutdown && m.stash.kind == msgRestart:
		m.stash.answer(ErrShuttingDown)
		m.stash = &r
	case r.kind == m.stash.kind:
		r.answer(nil) // the same action is already pending
	default:
		r.answer(ErrShuttingDown) // a restart after a pending shutdown
	}
	if m.shutdownPending() {
		answerAll(m.pending, ErrShuttingDown)
		m.pending = nil
	}
}

func (m *master) shutdownPending() bool {
	return m.stash != nil && m.stash.kind == msgShutdown
}

// signals turns the master's signals into requests.
func (m *master) signals() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	for s := range ch {
		kind := msgShutdown
		switch s {
		case syscall.SIGUSR1:
			kind = msgReload
		case syscall.SIGUSR2:
			kind = msgRestart
		}
		m.reqs <- request{kind: kind, trigger: signalName(s), at: time.Now()}
	}
}

// spawn starts a worker of generation gen.
func (m *master) spawn(gen int) (*child, error) {
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
	env := append(slices.Clip(m.env), EnvWorker+"="+strconv.Itoa(gen))
	attr := &os.ProcAttr{
		Dir:   m.dir,
		Env:   env,
		Files: []*os.File{stdFile(os.Stdin, 0), stdFile(os.Stdout, 1), stdFile(os.Stderr, 2), theirs, crashW},
	}
	err = m.reaper.start(c, m.exe, m.args, attr)
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
			c.readyOnce.Do(func() { close(c.ready) })
			c.conn.send(&message{Type: msgReply, ID: msg.ID}, -1)
		case msgFail:
			c.mu.Lock()
			if c.failMsg == "" {
				c.failMsg = msg.Err
			}
			c.mu.Unlock()
			c.failOnce.Do(func() { close(c.failed) })
		case msgStopped:
			c.stoppedOnce.Do(func() { close(c.stopped) })
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

// startWorker starts a worker and waits until it is ready. On failure it
// kills and reaps it and returns the cause; c is then the dead child, or nil
// if it never started.
func (m *master) startWorker() (c *child, rerr *ReloadError) {
	m.mu.Lock()
	m.nextGen++
	gen := m.nextGen
	readyTimeout := m.readyTimeout
	m.mu.Unlock()

	c, err := m.spawn(gen)
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
			c.mu.Lock()
			cause = c.failMsg
			c.mu.Unlock()
			kind = ErrWorkerFailed
			break wait
		case <-c.done:
			kind = ErrWorkerExited
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
	c, rerr := m.startWorker()
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
		m.closeSockets()
		return code, true
	}
	m.mu.Lock()
	m.cur = c
	m.mu.Unlock()
	m.log.Info("baton: worker ready", "pid", c.pid, "generation", c.gen, "startup", time.Since(c.started).Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.prune()
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
	at, trigger := waiters[0].at, waiters[0].trigger
	// Never two old workers: wait for the previous one to finish.
	if !m.waitDraining(waiters) {
		answerAll(waiters, ErrShuttingDown)
		return
	}
	m.setReloading(true)
	defer m.setReloading(false)
	m.notify.reloading()
	defer m.notify.ready(m.pid)

	m.mu.Lock()
	old := m.cur
	m.mu.Unlock()
	ev := Event{Time: at, Kind: "reload", Trigger: trigger}
	if old != nil {
		ev.OldPID = old.pid
	}
	c, rerr := m.startWorker()
	if rerr != nil {
		ev.NewPID, ev.Err = rerr.PID, rerr.Error()
		m.record(ev)
		m.log.Error("baton: reload failed", "trigger", trigger, "old_pid", ev.OldPID, "err", rerr)
		m.prune()
		answerAll(waiters, rerr)
		return
	}
	m.mu.Lock()
	m.cur = c
	if old != nil && !old.isDone() {
		m.draining = append(m.draining, old)
	}
	m.mu.Unlock()
	m.cancelRespawn()
	ev.OK, ev.NewPID, ev.Generation, ev.HandOff = true, c.pid, c.gen, time.Since(at)
	m.record(ev)
	m.log.Info("baton: reload complete", "trigger", trigger, "old_pid", ev.OldPID, "new_pid", c.pid,
		"generation", c.gen, "handoff", ev.HandOff.Round(time.Millisecond), "waiters", len(waiters))
	// NOTE: answer before draining: a waiter may be the old worker itself,
	// inside a handler that its drain would wait for.
	answerAll(waiters, nil)
	if old != nil {
		m.drain(old)
	}
	m.prune()
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
	c, rerr := m.startWorker()
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
	m.mu.Lock()
	m.cur = c
	m.mu.Unlock()
	ev.OK, ev.NewPID, ev.Generation, ev.HandOff = true, c.pid, c.gen, time.Since(ev.Time)
	m.record(ev)
	m.log.Info("baton: worker respawned", "old_pid", ev.OldPID, "new_pid", c.pid, "generation", c.gen,
		"handoff", ev.HandOff.Round(time.Millisecond))
	m.notify.ready(m.pid)
	m.finishRestart(nil)
	m.prune()
}

// restart drains the current worker and re-executes the master from the
// binary on disk, keeping its pid and its sockets.
func (m *master) restart(r request) {
	r.answer(nil)
	ev := Event{Time: r.at, Kind: "restart", Trigger: r.trigger}
	m.notify.reloading()
	m.mu.Lock()
	c := m.cur
	m.mu.Unlock()
	if c != nil {
		ev.OldPID = c.pid
		m.drain(c)
		// Wait (bounded) until it has closed its listeners, so that it
		// accepts nothing it could not serve to the end.
		t := time.NewTimer(DefaultExitGrace)
	wait:
		for {
			select {
			case <-c.stopped:
				break wait
			case <-c.done:
				break wait
			case <-t.C:
				m.log.Warn("baton: worker did not stop accepting in time", "pid", c.pid)
				break wait
			case r2 := <-m.reqs:
				m.queue(r2)
			}
		}
		t.Stop()
	}
	err := m.exec(&ev)
	// Still here: the exec failed. Go on with a new worker.
	m.log.Error("baton: restart failed", "err", err)
	ev.Err = err.Error()
	m.record(ev)
	m.mu.Lock()
	if c != nil && m.cur == c {
		m.cur = nil
		if !c.isDone() {
			m.draining = append(m.draining, c)
		}
	}
	m.mu.Unlock()
	m.crashes = 0
	m.scheduleRespawn(Event{Time: time.Now(), Kind: "respawn", Trigger: "restart failed", OldPID: ev.OldPID})
}

// exec re-executes the master, passing its sockets and state. It returns
// only on failure.
func (m *master) exec(ev *Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := masterState{Version: 1, Started: m.started, NextGen: m.nextGen, History: m.history, Restart: ev}
	var fds []inheritedFD
	for _, s := range m.sockets {
		if len(s.keys) == 0 {
			fds = append(fds, inheritedFD{FD: s.fd})
		}
		for _, k := range s.keys {
			fds = append(fds, inheritedFD{FD: s.fd, Key: k})
		}
		st.Sockets = append(st.Sockets, stateSocket{FD: s.fd, Network: s.network, Name: s.name, Activated: s.activated, Unlink: s.unlink})
	}
	deadline := time.Now().Add(m.drainTimeout + DefaultExitGrace)
	for _, c := range append(slices.Clone(m.draining), m.cur) {
		if c != nil && !c.isDone() {
			st.Draining = append(st.Draining, stateChild{PID: c.pid, Gen: c.gen, Deadline: deadline})
		}
	}
	b, err := json.Marshal(&st)
	if err != nil {
		return fmt.Errorf("baton: restart: encode state: %w", err)
	}
	env := append(slices.Clip(m.execEnv), envFDs+"="+formatFDs(fds), envState+"="+string(b))

	// NOTE: the sockets must survive the exec, and nothing else may inherit
	// them: ForkLock keeps processes from being started meanwhile.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	for _, s := range m.sockets {
		if err := setCloexec(s.fd, false); err != nil {
			m.cloexecAll()
			return fmt.Errorf("baton: restart: %w", err)
		}
	}
	m.log.Info("baton: restarting", "executable", m.exe, "sockets", len(m.sockets))
	err = syscall.Exec(m.exe, m.args, env)
	m.cloexecAll()
	return fmt.Errorf("baton: restart: exec %s: %w", m.exe, err)
}

func (m *master) cloexecAll() {
	for _, s := range m.sockets {
		setCloexec(s.fd, true)
	}
}

// shutdown drains every worker, closes the sockets and returns code.
func (m *master) shutdown(r request, code int) int {
	r.answer(nil)
	m.mu.Lock()
	m.closing = true
	kids := slices.Clone(m.draining)
	cur := m.cur
	if cur != nil {
		kids = append(kids, cur)
	}
	m.mu.Unlock()
	m.notify.stopping()
	m.log.Info("baton: shutting down", "trigger", r.trigger)
	ev := Event{Time: r.at, Kind: "shutdown", Trigger: r.trigger}
	if cur != nil {
		ev.OldPID = cur.pid
	}
	m.cancelRespawn()
	answerAll(m.pending, ErrShuttingDown)
	m.pending = nil
	if m.stash != nil {
		m.stash.answer(ErrShuttingDown)
		m.stash = nil
	}
	for _, c := range kids {
		m.drain(c)
	}
	// The drains kill workers that overstay; this bound is a safety net.
	m.mu.Lock()
	bound := m.drainTimeout + DefaultExitGrace + 2*time.Second
	m.mu.Unlock()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	killAll := func() {
		for _, c := range kids {
			m.reaper.signal(c, syscall.SIGKILL)
		}
	}
	for _, c := range kids {
	wait:
		for {
			select {
			case <-c.done:
				break wait
			case r2 := <-m.reqs:
				if r2.kind == msgShutdown && r2.reply == nil {
					m.log.Warn("baton: second shutdown signal, killing workers", "signal", r2.trigger)
					killAll()
				}
				r2.answer(ErrShuttingDown)
			case <-deadline.C:
				killAll()
				waitTimeout(c.done, time.Second)
				break wait
			}
		}
	}
	m.closeSockets()
	ev.OK = true
	m.record(ev)
	m.log.Info("baton: shutdown complete", "exit", code)
	return code
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

func (m *master) setReloading(b bool) {
	m.mu.Lock()
	m.reloading = b
	m.mu.Unlock()
}

// record appends ev to the history, keeping the last maxHistory events.
func (m *master) record(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history = append(m.history, ev)
	if n := len(m.history) - maxHistory; n > 0 {
		m.history = slices.Delete(m.history, 0, n)
	}
}

// status returns a snapshot of the master's state.
func (m *master) status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{
		MasterPID:  m.pid,
		Started:    m.started,
		Executable: m.exe,
		Reloading:  m.reloading,
		History:    slices.Clone(m.history),
	}
	if m.cur != nil {
		st.WorkerPID, st.Generation = m.cur.pid, m.cur.gen
	}
	if fi, err := os.Stat(m.exe); err == nil {
		st.ExecutableModTime = fi.ModTime()
	}
	for _, s := range m.sockets {
		if len(s.keys) == 0 {
			st.Listeners = append(st.Listeners, ListenerInfo{Key: s.name, Network: s.network, Addr: s.addr.String()})
		}
		for _, k := range s.keys {
			st.Listeners = append(st.Listeners, ListenerInfo{Key: k, Network: s.network, Addr: s.addr.String()})
		}
	}
	return st
}
