//go:build unix && !aix

package proc

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// The tests in this file check the master's decisions (reload, rollback,
// respawn, drain, shutdown, watchdog) over fakeProcs, without processes,
// on the clock of a synctest bubble. The real-process tests of the same
// paths are in integration_linux_test.go and watchdog_linux_test.go.

// TestReloadCoalescing checks that reload requests arriving while a reload
// is under way, or waits for the previous old worker, make one more reload
// whose result all of them get.
func TestReloadCoalescing(t *testing.T) {
	tests := []struct {
		name string
		// during runs while the first reload is under way; it returns
		// the requests that must join the second reload.
		during func(h *harness, w1, w2 *child) []<-chan error
		starts int // workers started, the first included
	}{
		{
			name: "requests during the start join one more reload",
			during: func(h *harness, w1, w2 *child) []<-chan error {
				rs := []<-chan error{
					h.request(msgReload, "SIGUSR1", true),
					h.requestFrom(w1, msgReload, "api"),
					h.request(msgReload, "watch", true),
				}
				synctest.Wait() // the master has them
				h.ready(w2, ReadyInfo{})
				return rs
			},
			starts: 3,
		},
		{
			name: "requests while the old worker drains join the next reload",
			during: func(h *harness, w1, w2 *child) []<-chan error {
				h.f.worker(w1).stayOnDrain = true
				h.ready(w2, ReadyInfo{})
				synctest.Wait() // w1 drains, and does not exit
				rs := []<-chan error{
					h.request(msgReload, "SIGUSR1", true),
					h.requestFrom(w2, msgReload, "api"),
				}
				synctest.Wait()
				h.noStart() // not beside a second old worker
				rs = append(rs, h.request(msgReload, "watch", true))
				h.exitCode(w1, 0)
				return rs
			},
			starts: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w1 := h.serving()
				first := h.request(msgReload, "SIGUSR1", true)
				w2 := h.next()
				joined := tt.during(h, w1, w2)
				if err := h.answer(first); err != nil {
					t.Fatalf("first reload = %v, want nil", err)
				}
				w3 := h.next()
				if w3.gen != 3 {
					t.Errorf("second reload's worker has generation %d, want 3", w3.gen)
				}
				h.noStart()
				h.ready(w3, ReadyInfo{})
				for i, ch := range joined {
					if err := h.answer(ch); err != nil {
						t.Errorf("coalesced request %d = %v, want nil", i, err)
					}
				}
				h.waitCur(w3)
				h.noStart()
				var reloads int
				for _, ev := range h.history() {
					if ev.Kind == "reload" {
						reloads++
					}
				}
				if want := tt.starts - 1; reloads != want {
					t.Errorf("history has %d reloads, want %d: %+v", reloads, want, h.history())
				}
				if ev := h.lastEvent("reload"); !ev.OK || ev.OldPID != w2.pid || ev.NewPID != w3.pid {
					t.Errorf("last reload = %+v, want %d replaced by %d", ev, w2.pid, w3.pid)
				}
			})
		})
	}
}

// TestReloadRollback checks that a new worker that exits, crashes, fails
// or is not ready in time is killed, the reload fails with the cause, and
// the old worker goes on serving, untouched.
func TestReloadRollback(t *testing.T) {
	tests := []struct {
		name     string
		startErr error // the start itself fails
		act      func(h *harness, c *child)
		kind     error
		cause    string
		killed   bool          // the new worker gets SIGKILL while it lives
		after    time.Duration // from the request to the answer
	}{
		{
			name:  "exits before ready",
			act:   func(h *harness, c *child) { h.exitCode(c, 2) },
			kind:  ErrWorkerExited,
			cause: "exited with status 2",
		},
		{
			name:  "crashes before ready",
			act:   func(h *harness, c *child) { h.f.exit(c, syscall.WaitStatus(2<<8), "panic: boom") },
			kind:  ErrWorkerExited,
			cause: "exited with status 2: panic: boom",
		},
		{
			name:  "killed by a signal",
			act:   func(h *harness, c *child) { h.f.exit(c, syscall.WaitStatus(syscall.SIGSEGV), "") },
			kind:  ErrWorkerExited,
			cause: fmt.Sprintf("killed by signal %d (%s)", int(syscall.SIGSEGV), syscall.SIGSEGV),
		},
		{
			name: "reports a failure and exits",
			act: func(h *harness, c *child) {
				h.m.dispatch(c, &message{Type: msgFail, Err: "listen tcp :80: bind: permission denied"})
				h.exitCode(c, 1)
			},
			kind:  ErrWorkerFailed,
			cause: "listen tcp :80: bind: permission denied",
		},
		{
			name: "reports a failure and stays",
			act: func(h *harness, c *child) {
				h.m.dispatch(c, &message{Type: msgFail, Err: "no database"})
			},
			kind:   ErrWorkerFailed,
			cause:  "no database",
			killed: true,
			after:  time.Second,
		},
		{
			name:   "not ready in time",
			act:    func(h *harness, c *child) {},
			kind:   ErrReloadTimeout,
			cause:  "not ready after " + DefaultReadyTimeout.String(),
			killed: true,
			after:  DefaultReadyTimeout,
		},
		{
			name:     "cannot start",
			startErr: errors.New("fork/exec /srv/app: permission denied"),
			kind:     ErrWorkerStart,
			cause:    "fork/exec /srv/app: permission denied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w1 := h.serving()
				h.f.mu.Lock()
				h.f.startErr = tt.startErr
				h.f.mu.Unlock()
				at := time.Now()
				ch := h.requestFrom(w1, msgReload, "api")
				var w2 *child
				if tt.startErr == nil {
					w2 = h.next()
					tt.act(h, w2)
				}
				err := h.answer(ch)
				if took := time.Since(at); took != tt.after {
					t.Errorf("answered after %v, want %v", took, tt.after)
				}
				var re *ReloadError
				if !errors.As(err, &re) || !errors.Is(err, tt.kind) || re.Cause != tt.cause {
					t.Fatalf("reload = %v, want a ReloadError %v with cause %q", err, tt.kind, tt.cause)
				}
				if w2 != nil {
					if re.PID != w2.pid {
						t.Errorf("ReloadError.PID = %d, want %d", re.PID, w2.pid)
					}
					killed := false
					for _, s := range h.f.signals(w2) {
						killed = killed || s.sig == syscall.SIGKILL
					}
					if killed != tt.killed {
						t.Errorf("new worker killed: %v, want %v (signals %v)", killed, tt.killed, h.f.signals(w2))
					}
				}
				h.waitCur(w1)
				if s, d := h.f.signals(w1), h.f.sent(w1, msgDrain); len(s) > 0 || len(d) > 0 {
					t.Errorf("old worker got signals %v and %d drains, want none", s, len(d))
				}
				ev := h.lastEvent("reload")
				if ev.OK || ev.OldPID != w1.pid || ev.NewPID != re.PID || ev.Err != err.Error() {
					t.Errorf("history event %+v, want a failed reload of %d with %q", ev, w1.pid, err)
				}
				if !h.logged(`msg="baton: reload failed"`, "trigger=api") {
					t.Errorf("log lacks the failure:\n%s", h.log)
				}
				// The old worker still serves: the next reload replaces it.
				next := h.request(msgReload, "SIGUSR1", true)
				h.ready(h.next(), ReadyInfo{})
				if err := h.answer(next); err != nil {
					t.Errorf("reload after the failed one = %v, want nil", err)
				}
			})
		})
	}
}

// fate is what happens to a worker in TestRespawnBackoff: it dies before
// it is ready, or it is ready and serves for a while and then dies.
type fate struct {
	ready bool
	serve time.Duration
}

// TestRespawnBackoff checks the delays before the workers that replace a
// dead one start, and that the backoff resets once a worker has been ready
// for healthyAfter.
func TestRespawnBackoff(t *testing.T) {
	die := fate{}
	ms := time.Millisecond
	tests := []struct {
		name   string
		fates  []fate          // of the replacements, in order
		delays []time.Duration // from the previous death to each start
	}{
		{
			name:   "replacements keep dying",
			fates:  []fate{die, die, die, die, die, die, die, die, die},
			delays: []time.Duration{0, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second},
		},
		{
			name:   "ready for healthyAfter resets",
			fates:  []fate{die, die, {ready: true, serve: healthyAfter}, die, die},
			delays: []time.Duration{0, 100 * ms, 200 * ms, 0, 100 * ms},
		},
		{
			name:   "ready for less does not reset",
			fates:  []fate{die, die, {ready: true, serve: healthyAfter - time.Second}, die},
			delays: []time.Duration{0, 100 * ms, 200 * ms, 400 * ms},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w := h.serving()
				h.f.exit(w, syscall.WaitStatus(syscall.SIGKILL), "")
				died := time.Now()
				var got []time.Duration
				for _, f := range tt.fates {
					c := h.next()
					got = append(got, time.Since(died))
					if f.ready {
						h.ready(c, ReadyInfo{})
						h.waitCur(c)
						time.Sleep(f.serve) // serving, on the bubble's clock
					}
					h.exitCode(c, 2)
					died = time.Now()
				}
				synctest.Wait()
				if fmt.Sprint(got) != fmt.Sprint(tt.delays) {
					t.Errorf("respawn delays = %v, want %v", got, tt.delays)
				}
				ev := h.lastEvent("respawn")
				if ev.OK || ev.Err == "" {
					t.Errorf("last respawn event = %+v, want a failed one", ev)
				}
				if !h.logged(`msg="baton: respawning worker"`, "in=100ms") {
					t.Errorf("log lacks the backoff:\n%s", h.log)
				}
			})
		})
	}
}

// TestWorkerEndings checks what the end of a worker that was not asked to
// drain does: a crash is followed by a respawn, an exit with status 0
// ends the program, and a first worker that cannot start ends it with its
// status.
func TestWorkerEndings(t *testing.T) {
	tests := []struct {
		name  string
		first bool // the first worker ends before it is ready
		ws    syscall.WaitStatus
		exit  bool // the master ends
		code  int
	}{
		{name: "serving worker crashes", ws: 2 << 8},
		{name: "serving worker exits 0", ws: 0, exit: true, code: 0},
		{name: "first worker exits 3", first: true, ws: 3 << 8, exit: true, code: 3},
		{name: "first worker exits 0", first: true, ws: 0, exit: true, code: 0},
		{name: "first worker is killed", first: true, ws: syscall.WaitStatus(syscall.SIGKILL), exit: true, code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w := h.next()
				if !tt.first {
					h.ready(w, ReadyInfo{})
					h.waitCur(w)
				}
				h.f.exit(w, tt.ws, "")
				if !tt.exit {
					c := h.next()
					h.ready(c, ReadyInfo{})
					h.waitCur(c)
					if ev := h.lastEvent("respawn"); !ev.OK || ev.OldPID != w.pid || ev.NewPID != c.pid {
						t.Errorf("respawn event %+v, want %d replaced by %d", ev, w.pid, c.pid)
					}
					return
				}
				if code := h.exited(); code != tt.code {
					t.Errorf("master exit status = %d, want %d", code, tt.code)
				}
				h.noStart()
			})
		})
	}
}

// TestDrainKillDeadline checks when an old worker that does not exit
// after its drain is killed: its own drain timeout, else the master's
// (which a later worker's ready may set), plus DefaultExitGrace.
func TestDrainKillDeadline(t *testing.T) {
	tests := []struct {
		name     string
		old, new ReadyInfo
		exitsIn  time.Duration // the old worker exits this long after the drain; 0: never
		killAt   time.Duration // from the drain; 0: not killed
	}{
		{name: "master's default", killAt: DefaultDrainTimeout + DefaultExitGrace},
		{name: "old worker's own", old: ReadyInfo{DrainTimeout: 3 * time.Second}, new: ReadyInfo{DrainTimeout: 7 * time.Second},
			killAt: 3*time.Second + DefaultExitGrace},
		{name: "set by the new worker", new: ReadyInfo{DrainTimeout: 7 * time.Second}, killAt: 7*time.Second + DefaultExitGrace},
		{name: "exits in time", exitsIn: DefaultDrainTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w1 := h.next()
				h.ready(w1, tt.old)
				h.waitCur(w1)
				h.f.worker(w1).stayOnDrain = true
				ch := h.request(msgReload, "SIGUSR1", true)
				w2 := h.next()
				h.ready(w2, tt.new)
				if err := h.answer(ch); err != nil {
					t.Fatalf("reload = %v, want nil", err)
				}
				synctest.Wait()
				if n := len(h.f.sent(w1, msgDrain)); n != 1 {
					t.Fatalf("old worker got %d drains, want 1", n)
				}
				drained := time.Now()
				if tt.exitsIn > 0 {
					time.Sleep(tt.exitsIn) // draining, on the bubble's clock
					h.exitCode(w1, 0)
				}
				// Past any deadline.
				time.Sleep(time.Minute)
				var kills []time.Duration
				for _, s := range h.f.signals(w1) {
					if s.sig == syscall.SIGKILL {
						kills = append(kills, s.at.Sub(drained))
					}
				}
				switch {
				case tt.killAt == 0 && len(kills) > 0:
					t.Errorf("old worker killed %v after the drain, want not", kills)
				case tt.killAt > 0 && (len(kills) != 1 || kills[0] != tt.killAt):
					t.Errorf("old worker killed %v after the drain, want once at %v", kills, tt.killAt)
				}
				if got := h.logged("did not exit in time"); got != (tt.killAt > 0) {
					t.Errorf("log has the kill: %v, want %v:\n%s", got, tt.killAt > 0, h.log)
				}
				h.waitCur(w2)
			})
		})
	}
}

// TestShutdownDuringReload checks a shutdown that arrives while a reload
// starts its worker or waits for the previous old worker: the reload is
// abandoned and refused, the workers drain, the master exits 0; a second
// signal kills the workers at once.
func TestShutdownDuringReload(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, w1 *child)
	}{
		{
			name: "while the new worker starts",
			run: func(t *testing.T, h *harness, w1 *child) {
				reload := h.requestFrom(w1, msgReload, "api")
				w2 := h.next()
				stop := h.request(msgShutdown, "SIGTERM", true)
				err := h.answer(reload)
				var re *ReloadError
				if !errors.As(err, &re) || !errors.Is(err, ErrShuttingDown) || re.Cause != "abandoned: shutting down" {
					t.Errorf("reload = %v, want abandoned: shutting down", err)
				}
				if s := h.f.signals(w2); len(s) != 1 || s[0].sig != syscall.SIGKILL {
					t.Errorf("starting worker got %v, want SIGKILL", s)
				}
				if err := h.answer(stop); err != nil {
					t.Errorf("shutdown = %v, want nil", err)
				}
			},
		},
		{
			name: "while the old worker drains",
			run: func(t *testing.T, h *harness, w1 *child) {
				h.f.worker(w1).stayOnDrain = true
				first := h.request(msgReload, "SIGUSR1", true)
				w2 := h.next()
				h.ready(w2, ReadyInfo{})
				if err := h.answer(first); err != nil {
					t.Fatalf("reload = %v, want nil", err)
				}
				second := h.requestFrom(w2, msgReload, "api")
				synctest.Wait()
				stop := h.request(msgShutdown, "SIGTERM", true)
				if err := h.answer(second); !errors.Is(err, ErrShuttingDown) {
					t.Errorf("reload waiting for the old worker = %v, want %v", err, ErrShuttingDown)
				}
				if err := h.answer(stop); err != nil {
					t.Errorf("shutdown = %v, want nil", err)
				}
				h.exited()
				// w1 ignores its drain: its kill deadline ends it.
				if s := h.f.signals(w1); len(s) != 1 || s[0].sig != syscall.SIGKILL {
					t.Errorf("old worker got %v, want SIGKILL at its deadline", s)
				}
			},
		},
		{
			name: "second signal kills",
			run: func(t *testing.T, h *harness, w1 *child) {
				h.f.worker(w1).stayOnDrain = true
				h.request(msgShutdown, "SIGTERM", false)
				synctest.Wait()
				if n := len(h.f.sent(w1, msgDrain)); n != 1 {
					t.Fatalf("worker got %d drains, want 1", n)
				}
				at := time.Now()
				refused := h.requestFrom(w1, msgReload, "api")
				if err := h.answer(refused); !errors.Is(err, ErrShuttingDown) {
					t.Errorf("reload during the shutdown = %v, want %v", err, ErrShuttingDown)
				}
				h.request(msgShutdown, "SIGINT", false)
				synctest.Wait()
				if s := h.f.signals(w1); len(s) != 1 || s[0].sig != syscall.SIGKILL || !s[0].at.Equal(at) {
					t.Errorf("worker got %v, want SIGKILL at the second signal", s)
				}
				if !h.logged("second shutdown signal, killing workers", "signal=SIGINT") {
					t.Errorf("log lacks the second signal:\n%s", h.log)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w1 := h.serving()
				tt.run(t, h, w1)
				if code := h.exited(); code != 0 {
					t.Errorf("master exit status = %d, want 0", code)
				}
				h.noStart()
				if ev := h.lastEvent("shutdown"); !ev.OK {
					t.Errorf("shutdown event %+v, want OK", ev)
				}
				if _, _, err := h.m.sockets.listen(w1, "k", "tcp", "127.0.0.1:0"); !errors.Is(err, ErrShuttingDown) {
					t.Errorf("Listen after the shutdown = %v, want %v", err, ErrShuttingDown)
				}
			})
		})
	}
}

// TestWatchdogReplacement checks the heartbeat's decisions: a worker that
// leaves a ping unanswered for the timeout is replaced and then killed,
// not drained; if its replacement fails it stays and the master tries
// again after another timeout; a worker that answers stays.
func TestWatchdogReplacement(t *testing.T) {
	const timeout, interval = 10 * time.Second, time.Second
	tests := []struct {
		name     string
		silent   bool
		failures int // replacements that exit before they are ready
		at       []time.Duration
	}{
		{name: "silent worker replaced", silent: true, at: []time.Duration{11 * time.Second}},
		{name: "replacement fails, tried again", silent: true, failures: 1, at: []time.Duration{11 * time.Second, 22 * time.Second}},
		{name: "answering worker stays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, func(m *master) { m.heartbeatTimeout, m.heartbeatInterval = timeout, interval })
				w1 := h.next()
				h.f.worker(w1).silent = tt.silent
				h.ready(w1, ReadyInfo{})
				h.waitCur(w1)
				readyAt := time.Now()
				if !tt.silent {
					time.Sleep(6 * timeout) // answering pings, on the bubble's clock
					h.noStart()
					if n := len(h.f.sent(w1, msgPing)); n < 50 {
						t.Errorf("%d pings in %v, want one every %v", n, 6*timeout, interval)
					}
					if s := h.f.signals(w1); len(s) > 0 {
						t.Errorf("answering worker got %v", s)
					}
					return
				}
				var c *child
				for i, at := range tt.at {
					c = h.next()
					if got := time.Since(readyAt); got != at {
						t.Errorf("replacement %d started %v after the ready, want %v", i+1, got, at)
					}
					if i < tt.failures {
						h.exitCode(c, 2)
						h.waitCur(w1)
					}
				}
				h.ready(c, ReadyInfo{})
				h.waitCur(c)
				if s := h.f.signals(w1); len(s) != 1 || s[0].sig != syscall.SIGKILL {
					t.Errorf("silent worker got %v, want SIGKILL", s)
				}
				if n := len(h.f.sent(w1, msgDrain)); n != 0 {
					t.Errorf("silent worker got %d drains, want none", n)
				}
				ev := h.lastEvent("reload")
				if ev.Trigger != "watchdog" || !ev.OK || ev.OldPID != w1.pid || ev.NewPID != c.pid {
					t.Errorf("history event %+v, want a watchdog replacement of %d by %d", ev, w1.pid, c.pid)
				}
				if !h.logged("worker not answering, replacing it", fmt.Sprintf("pid=%d", w1.pid)) {
					t.Errorf("log lacks the watchdog:\n%s", h.log)
				}
			})
		})
	}
}
