//go:build unix && !aix

// This file holds the master: its state, its construction from the
// environment, and its run goroutine's loop, which hands each event (a
// request, the end of a worker, the respawn timer) to the decisions in
// reload_unix.go and child_unix.go, and its status and history.

package proc

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
	procs   procs // starts and signals workers: reaperProcs, or a fake in tests
	sigchld chan os.Signal
	reqs    chan request

	watchBin  bool
	canaryCfg *CanaryConfig // makes every reload a canary (Options.Canary)

	// The heartbeat of ready workers; zero when off.
	heartbeatTimeout, heartbeatInterval time.Duration
	// strictModes refuses to start workers from an executable others
	// may write (EnvStrictModes); warnOnly until the first worker runs.
	strictModes, warnOnly bool

	sockets *socketTable // the listening sockets, with a lock of their own
	carry   carry        // the counters that survive reloads, with a lock of their own

	mu           sync.Mutex
	started      time.Time
	readyTimeout time.Duration
	drainTimeout time.Duration
	bin          *binary       // what workers are started from
	dev          Builder       // development mode's, or nil
	devDir       string        // the builder's directory; removed at exit
	devState     DevState      // without Build, which is per worker
	cur          *child        // the serving worker, or nil while none is; set with setCurLocked
	curSet       chan struct{} // closed when cur is set; see status_unix.go
	starting     *child        // a worker being started
	draining     []*child      // old workers told to drain
	reloading    bool
	nextGen      int
	history      []Event
	canary       canaryState

	gens generations // rollback, lame duck, bounded overlap (overlap_unix.go)

	// Owned by the run goroutine.
	pending      []request // reloads asked for during a reload
	stash        *request  // a restart or shutdown asked for during a wait
	restartEvent *Event    // the restart that executed this master
	restarted    bool
	crashes      int
	respawnTimer *time.Timer
	respawnEvent Event
}

// internalEnv lists the variables this package sets for its own use; they
// are removed from the environment the application sees.
var internalEnv = []string{EnvWorker, envFDs, envState, envListenPID, envListenFDs, envListenFDNames}

// workerOnlyDrop lists variables meant for the master alone.
var workerOnlyDrop = []string{"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", EnvFDStore}

func newMaster(opts Options) (*master, error) {
	limitMemory()
	log := opts.logger()
	m := &master{
		log:     log,
		pid:     os.Getpid(),
		args:    os.Args,
		reqs:    make(chan request, 64),
		started: time.Now(),
		sockets: newSocketTable(log),
	}
	m.procs = reaperProcs{m}
	var err error
	if m.exe, err = executable(); err != nil {
		return nil, fmt.Errorf("baton: master: executable: %w", err)
	}
	if m.dir, err = os.Getwd(); err != nil {
		return nil, fmt.Errorf("baton: master: working directory: %w", err)
	}
	m.readyTimeout = timeout(opts.ReadyTimeout, EnvReadyTimeout, DefaultReadyTimeout, log)
	m.drainTimeout = timeout(opts.DrainTimeout, EnvDrainTimeout, DefaultDrainTimeout, log)
	m.heartbeatTimeout, m.heartbeatInterval = heartbeat(opts.HeartbeatTimeout, log)
	m.strictModes = !offWord(os.Getenv(EnvStrictModes))

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
		if key, ok := parseStoreName(name); ok {
			// A socket a master before this one put in the store.
			s.name, s.stored = name, true
			s.addKey(key)
			m.sockets.add(s)
			log.Info("baton: adopted socket from the service manager's store", "fd", s.fd, "key", key, "addr", s.addr.String())
			continue
		}
		s.name, s.activated = name, true
		m.sockets.add(s)
		log.Info("baton: adopted socket-activation socket", "fd", s.fd, "name", name, "addr", s.addr.String())
	}

	if m.bin == nil {
		m.bin = &binary{path: m.exe}
	}
	// The user ran this binary: only warn about it. After a restart the
	// restart has checked it.
	m.warnOnly = !m.restarted
	m.watchBin = opts.WatchBinary
	m.canaryCfg = opts.Canary
	m.configureGenerations(opts)
	if DevOn(opts.Dev) {
		if err := m.prepareBuilder(opts); err != nil {
			log.Error("baton: development mode off", "err", err)
		}
	}
	m.execEnv = os.Environ()
	m.env = slices.DeleteFunc(slices.Clone(m.execEnv), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(workerOnlyDrop, k)
	})
	m.notify = newNotifier(log)
	m.sockets.fdstore = newFDStore(m.notify)
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

// run supervises workers until the program ends and returns the exit status.
func (m *master) run() int {
	go m.reaper.run(m.sigchld)
	go m.signals()
	m.log.Info("baton: master started", "pid", m.pid, "executable", m.exe, "restarted", m.restarted)
	if m.watchBin {
		go m.watchBinary(DefaultBinaryQuiet)
	}
	if m.dev != nil {
		go m.dev.Run()
	}
	if d, ok := watchdogInterval(m.pid); ok && m.notify != nil {
		go m.systemdWatchdog(d)
	}
	return m.supervise()
}

// supervise starts the first worker and then performs every reload,
// restart, respawn and shutdown, one at a time, until the program ends. It
// returns the exit status.
func (m *master) supervise() int {
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

// signals turns the master's signals into requests.
func (m *master) signals() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, rollbackSignal)
	for s := range ch {
		kind := msgShutdown
		switch s {
		case rollbackSignal:
			kind = msgRollback
		case syscall.SIGUSR1:
			kind = msgReload
		case syscall.SIGUSR2:
			kind = msgRestart
		}
		m.reqs <- request{kind: kind, trigger: signalName(s), at: time.Now()}
	}
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
	m.recordLocked(ev)
}

func (m *master) recordLocked(ev Event) {
	m.carry.event(ev)
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
		Executable: m.bin.path,
		Reloading:  m.reloading,
		History:    slices.Clone(m.history),
		Previous:   m.gens.kept.prev,
	}
	if m.cur != nil {
		st.WorkerPID, st.Generation = m.cur.pid, m.cur.gen
	}
	if fi, err := os.Stat(m.bin.path); err == nil {
		st.ExecutableModTime = fi.ModTime()
	}
	st.Listeners = m.sockets.listeners()
	m.canaryStatus(&st)
	return st
}

// prune closes the sockets no current or starting worker asked for.
func (m *master) prune() {
	m.mu.Lock()
	cur, starting := m.cur, m.starting
	m.mu.Unlock()
	if cur == nil {
		return
	}
	m.sockets.prune(cur, starting)
}
