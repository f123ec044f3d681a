//go:build linux

package proc_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/proc"
)

// status returns the master's status through the worker.
func (a *app) status() proc.Status {
	a.T.Helper()
	var st proc.Status
	if err := json.Unmarshal([]byte(a.mustGet("/status")), &st); err != nil {
		a.T.Fatal(err)
	}
	return st
}

func countKind(st proc.Status, kind string) int {
	n := 0
	for _, ev := range st.History {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func TestReloadBySignal(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	if w1.gen != 1 {
		t.Errorf("first worker generation = %d, want 1", w1.gen)
	}
	stop := a.hammer()
	a.Signal(syscall.SIGUSR1)
	lines := a.Log.WaitFor(t, 10*time.Second, 1, "reload complete")
	if !strings.Contains(lines[0], "trigger=SIGUSR1") || !strings.Contains(lines[0], "handoff=") {
		t.Errorf("reload log line = %q, want trigger=SIGUSR1 and a handoff", lines[0])
	}
	w2 := a.waitWorker(w1.pid, 5*time.Second)
	ok, errs := stop()
	if w2.pid == w1.pid || w2.gen != 2 {
		t.Errorf("after reload: worker %d gen %d, want a new pid (old %d) with gen 2", w2.pid, w2.gen, w1.pid)
	}
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed during the reload, first: %v", len(errs), ok+len(errs), errs[0])
	}
	proctest.WaitGone(t, w1.pid, 5*time.Second)
	proctest.CheckNoZombies(t, a.PID)
	st := a.status()
	if st.MasterPID != a.PID {
		t.Errorf("status MasterPID = %d, want %d", st.MasterPID, a.PID)
	}
	if st.WorkerPID != w2.pid || st.Generation != 2 {
		t.Errorf("status worker = %d gen %d, want %d gen 2", st.WorkerPID, st.Generation, w2.pid)
	}
	if len(st.History) != 1 || st.History[0].Kind != "reload" || !st.History[0].OK ||
		st.History[0].OldPID != w1.pid || st.History[0].NewPID != w2.pid || st.History[0].HandOff <= 0 {
		t.Errorf("status history = %+v, want one successful reload from %d to %d", st.History, w1.pid, w2.pid)
	}
	if len(st.Listeners) != 1 || st.Listeners[0].Addr != fmt.Sprintf("127.0.0.1:%d", a.Port) {
		t.Errorf("status listeners = %+v", st.Listeners)
	}
}

func TestReloadByRequest(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	// The handler that asks is served by the old worker, which must get its
	// answer before it is told to drain.
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("GET /reload = %q, want ok", body)
	}
	// The old worker may accept a few more connections until it gets
	// the drain message.
	w2 := a.waitWorker(w1.pid, 5*time.Second)
	if w2.gen != 2 {
		t.Errorf("after reload: worker %d gen %d, want a new pid (old %d) with gen 2", w2.pid, w2.gen, w1.pid)
	}
	proctest.WaitGone(t, w1.pid, 5*time.Second)
	st := a.status()
	if n := len(st.History); n != 1 || st.History[0].Trigger != "http" {
		t.Errorf("history = %+v, want one reload triggered by http", st.History)
	}
}

func TestReloadFailures(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"BATON_READY_TIMEOUT=2s"}})
	w1 := a.waitServing(10 * time.Second)
	tests := []struct {
		mode string
		want []string
	}{
		{"exit", []string{"exited with status 3"}},
		{"panic", []string{"exited with status 2", "panic: boom"}},
		{"nostart", []string{"listen tcp 192.0.2.1:" + strconv.Itoa(a.Port), "bind: cannot assign requested address"}},
		{"hang", []string{"not ready after 2s"}},
	}
	for i, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			a.T = t
			a.swap(tt.mode)
			start := time.Now()
			code, body, err := a.Get("/reload")
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusInternalServerError || !strings.HasPrefix(body, "baton: reload: new worker ") {
				t.Errorf("GET /reload = %d %q, want 500 and a reload error", code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET /reload = %q, want it to contain %q", body, w)
				}
			}
			a.Log.WaitFor(t, 5*time.Second, i+1, "reload failed")
			if got := a.Log.Matching("reload failed", tt.want[0]); len(got) != 1 {
				t.Errorf("log lines with %q: %q, want 1", tt.want[0], got)
			}
			t.Logf("%s: failed reload reported after %s", tt.mode, time.Since(start).Round(time.Millisecond))
			if w := a.worker(); w.pid != w1.pid {
				t.Errorf("worker after failed reload = %d, want the old one %d", w.pid, w1.pid)
			}
			proctest.CheckNoZombies(t, a.PID)
			if c := proctest.Children(a.PID); len(c) != 1 {
				t.Errorf("children of the master = %v, want only the old worker", c)
			}
		})
	}
	a.T = t
	st := a.status()
	if n := countKind(st, "reload"); n != len(tests) {
		t.Errorf("history has %d reloads, want %d", n, len(tests))
	}
	for _, ev := range st.History {
		if ev.OK || ev.Err == "" || ev.NewPID == 0 || ev.OldPID != w1.pid {
			t.Errorf("history event %+v, want a failure with old %d and a new pid", ev, w1.pid)
		}
	}
	// A good binary reloads fine afterwards.
	a.reloadIntoV2(w1.pid)
}

func TestReloadFailureBySignal(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	a.swap("panic")
	a.Signal(syscall.SIGUSR1)
	line := a.Log.WaitFor(t, 10*time.Second, 1, "reload failed")[0]
	if !strings.Contains(line, "panic: boom") || !strings.Contains(line, "trigger=SIGUSR1") {
		t.Errorf("log line = %q, want the panic and the trigger", line)
	}
	if w := a.worker(); w.pid != w1.pid {
		t.Errorf("worker = %d, want the old one %d", w.pid, w1.pid)
	}
}

func TestCoalesce(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"PROCAPP_READY_DELAY=500ms"}})
	w1 := a.waitServing(10 * time.Second)
	a.Signal(syscall.SIGUSR1)
	// The first reload is under way once its worker waits to report
	// ready (the first worker said so too). Not GET /status: the new
	// worker may answer that, and the master answers a worker's status
	// only once the worker is current, at the end of the reload.
	a.Log.WaitFor(t, 10*time.Second, 2, "procapp: ready in")
	a.Signal(syscall.SIGUSR1)
	time.Sleep(20 * time.Millisecond) // separate deliveries, not a readiness check
	a.Signal(syscall.SIGUSR1)
	lines := a.Log.WaitFor(t, 10*time.Second, 2, "reload complete")
	if !strings.Contains(lines[1], "waiters=2") {
		t.Errorf("second reload = %q, want it to serve both later signals (waiters=2)", lines[1])
	}
	// No third reload may follow.
	deadline := time.Now().Add(5 * time.Second)
	var st proc.Status
	for st = a.status(); st.Reloading || len(proctest.Children(a.PID)) > 1; st = a.status() {
		if time.Now().After(deadline) {
			t.Fatal("reloads did not settle")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := countKind(st, "reload"); n != 2 {
		t.Errorf("%d reloads for 3 signals, want 2: %+v", n, st.History)
	}
	if st.Generation != 3 || st.WorkerPID == w1.pid {
		t.Errorf("worker %d generation %d, want generation 3", st.WorkerPID, st.Generation)
	}
}

func TestCoalesceRequests(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"PROCAPP_READY_DELAY=400ms"}})
	a.waitServing(10 * time.Second)
	// Three concurrent requests: one reload starts, the others join the
	// next one (or this one, if they arrive before it starts).
	results := make(chan string, 3)
	for range 3 {
		go func() {
			_, body, err := a.Get("/reload")
			if err != nil {
				body = err.Error()
			}
			results <- body
		}()
	}
	for range 3 {
		if r := <-results; r != "ok" {
			t.Errorf("GET /reload = %q, want ok", r)
		}
	}
	if n := countKind(a.status(), "reload"); n < 1 || n > 2 {
		t.Errorf("%d reloads for 3 concurrent requests, want 1 or 2", n)
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	inodes := proctest.ListenInodes(a.Port)
	if len(inodes) != 1 {
		t.Fatalf("listening sockets on port %d: %v, want 1", a.Port, inodes)
	}
	a.swap("v2")
	stop := a.hammer()
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(t, 10*time.Second, 1, "restart complete")
	w2 := a.waitWorker(w1.pid, 5*time.Second)
	ok, errs := stop()
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed during the restart, first: %v", len(errs), ok+len(errs), errs[0])
	}
	if w2.version != "v2" {
		t.Errorf("worker after restart runs %s, want v2", w2.version)
	}
	if got := a.Log.Matching("master started", "restarted=true"); len(got) != 1 {
		t.Errorf("master re-executions logged: %q, want 1", got)
	}
	st := a.status()
	if st.MasterPID != a.PID {
		t.Errorf("master pid after restart = %d, want %d", st.MasterPID, a.PID)
	}
	if got := proctest.ListenInodes(a.Port); len(got) != 1 || got[0] != inodes[0] {
		t.Errorf("listening socket after restart = %v, want the same %v", got, inodes)
	}
	if len(st.History) != 1 || st.History[0].Kind != "restart" || !st.History[0].OK || st.History[0].OldPID != w1.pid || st.History[0].NewPID != w2.pid {
		t.Errorf("history = %+v, want one successful restart from %d to %d", st.History, w1.pid, w2.pid)
	}
	if len(st.Listeners) != 1 || st.Listeners[0].Key != fmt.Sprintf("default/http/0/:%d", a.Port) {
		t.Errorf("listeners after restart = %+v", st.Listeners)
	}
	proctest.WaitGone(t, w1.pid, 5*time.Second)
	proctest.CheckNoZombies(t, a.PID)
	// A restart asked for by a worker; then a reload still works.
	if body := a.mustGet("/restart"); body != "ok" {
		t.Fatalf("GET /restart = %q, want ok", body)
	}
	a.Log.WaitFor(t, 10*time.Second, 2, "restart complete")
	w3 := a.waitWorker(w2.pid, 5*time.Second)
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("GET /reload after restarts = %q, want ok", body)
	}
	st = a.status()
	if n := len(st.History); n != 3 || st.History[2].OldPID != w3.pid {
		t.Errorf("history = %+v, want restart, restart, reload", st.History)
	}
	if st.Generation != 4 {
		t.Errorf("generation = %d, want 4 (counted across restarts)", st.Generation)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, body, err := a.Get("/sleep?ms=1500")
		res <- result{code, body, err}
	}()
	a.Log.WaitFor(t, 5*time.Second, 1, "sleep begin")
	a.Signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.code != http.StatusOK || r.body != fmt.Sprintf("slept %d", w1.pid) {
		t.Errorf("in-flight request = %d %q %v, want it to finish", r.code, r.body, r.err)
	}
	if code := a.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("master exit status = %d, want 0", code)
	}
	if !proctest.Gone(w1.pid) {
		t.Errorf("worker %d still running after the master exited", w1.pid)
	}
	if !proctest.PortClosed(a.Port) {
		t.Errorf("port %d still accepts after shutdown", a.Port)
	}
	a.Log.WaitFor(t, time.Second, 1, "shutdown complete")
}

func TestShutdownByWorkerSignal(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	// INT to the worker alone is relayed to the master.
	syscall.Kill(w1.pid, syscall.SIGINT)
	if code := a.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("master exit status = %d, want 0", code)
	}
	a.Log.WaitFor(t, time.Second, 1, "shutting down", "trigger=\"SIGINT to worker\"")
}

func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	start := time.Now()
	syscall.Kill(w1.pid, syscall.SIGKILL)
	w2 := a.waitWorker(w1.pid, 5*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("worker replaced after %s, want within a second", d)
	} else {
		t.Logf("worker replaced after %s", d.Round(time.Millisecond))
	}
	if w2.gen != 2 {
		t.Errorf("new worker generation = %d, want 2", w2.gen)
	}
	a.Log.WaitFor(t, time.Second, 1, "worker died", "killed by signal 9")
	// The new worker may answer a moment before the master has taken its
	// ready message and recorded the respawn: wait for the record.
	var st proc.Status
	deadline := time.Now().Add(5 * time.Second)
	for st = a.status(); len(st.History) == 0 && time.Now().Before(deadline); st = a.status() {
		time.Sleep(10 * time.Millisecond)
	}
	if len(st.History) != 1 || st.History[0].Kind != "respawn" || !st.History[0].OK {
		t.Errorf("history = %+v, want one respawn", st.History)
	}
	// A second crash right away is respawned after a short backoff.
	syscall.Kill(w2.pid, syscall.SIGKILL)
	a.waitWorker(w2.pid, 5*time.Second)
	a.Log.WaitFor(t, time.Second, 1, "respawning worker", "in=100ms")
	proctest.CheckNoZombies(t, a.PID)
}

func TestWorkerExitZeroEndsProgram(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	// A worker that ends with status 0 without being asked to drain ended
	// the program.
	a.mustGet("/exit")
	if code := a.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("master exit status = %d, want 0", code)
	}
	proctest.WaitGone(t, w1.pid, time.Second)
	a.Log.WaitFor(t, time.Second, 1, "worker exited with status 0")
	if !proctest.PortClosed(a.Port) {
		t.Errorf("port %d still accepts", a.Port)
	}
}

func TestMasterKilled(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	a.Signal(syscall.SIGKILL)
	a.WaitExit(5 * time.Second)
	// The worker sees the control channel close, drains and exits.
	proctest.WaitGone(t, w1.pid, 5*time.Second)
	if !proctest.PortClosed(a.Port) {
		t.Errorf("port %d still accepts after master and worker are gone", a.Port)
	}
}

// stableFDs counts the descriptors of pid, less those that point into
// /proc: the master reads /proc/self/smaps after each worker start (see
// trimMemory), and a count taken meanwhile would hold that file.
func stableFDs(pid int) int {
	n := 0
	for _, line := range strings.Split(proctest.ListFDs(pid), "\n") {
		if strings.Contains(line, " -> ") && !strings.Contains(line, " -> /proc/") {
			n++
		}
	}
	return n
}

func TestNoFDLeak(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	a.waitServing(10 * time.Second)
	settle := func() int {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(proctest.Children(a.PID)) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("old workers still alive: %v", proctest.Children(a.PID))
			}
			time.Sleep(10 * time.Millisecond)
		}
		return stableFDs(a.PID)
	}
	// One reload first, so that lazily opened descriptors are counted.
	a.mustGet("/reload")
	base := settle()
	baseList := proctest.ListFDs(a.PID)
	for i := range 20 {
		if body := a.mustGet("/reload"); body != "ok" {
			t.Fatalf("reload %d: %q", i, body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := settle(); n != base; n = settle() {
		if time.Now().After(deadline) {
			t.Fatalf("master has %d descriptors after 20 reloads, had %d\nbefore:\n%s\nafter:\n%s", n, base, baseList, proctest.ListFDs(a.PID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := countKind(a.status(), "reload"); n != 21 {
		t.Errorf("history has %d reloads, want 21", n)
	}
}

func TestListenerNonblocking(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	a.waitServing(10 * time.Second)
	check := func(when string) {
		t.Helper()
		inodes := proctest.ListenInodes(a.Port)
		if len(inodes) != 1 {
			t.Fatalf("%s: listening sockets on port %d: %v, want 1", when, a.Port, inodes)
		}
		w := a.status().WorkerPID
		for _, p := range []struct {
			name string
			pid  int
		}{{"master", a.PID}, {"worker", w}} {
			fds := proctest.SocketFDs(p.pid, inodes[0])
			if len(fds) == 0 {
				t.Errorf("%s: %s %d holds no descriptor of the listening socket", when, p.name, p.pid)
			}
			for _, fd := range fds {
				flags := proctest.FDFlags(t, p.pid, fd)
				if flags&syscall.O_NONBLOCK == 0 {
					t.Errorf("%s: %s fd %d flags %#o: O_NONBLOCK cleared", when, p.name, fd, flags)
				}
				if p.name == "master" && flags&syscall.O_CLOEXEC == 0 {
					t.Errorf("%s: master fd %d flags %#o: not close-on-exec", when, fd, flags)
				}
			}
		}
	}
	check("at start")
	for range 3 {
		a.mustGet("/reload")
	}
	check("after 3 reloads")
	w := a.worker()
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(t, 10*time.Second, 1, "restart complete")
	a.waitWorker(w.pid, 5*time.Second)
	check("after a restart")
	a.mustGet("/reload")
	check("after a restart and a reload")
}

func TestSdNotify(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("@baton-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		select {
		case m := <-msgs:
			if !strings.HasPrefix(m, want) {
				t.Errorf("notify message = %q, want %q...", m, want)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no notify message, want %q", want)
			return ""
		}
	}
	a := startApp(t, appConfig{env: []string{"NOTIFY_SOCKET=" + name}})
	if m := next("READY=1"); !strings.Contains(m, fmt.Sprintf("MAINPID=%d", a.PID)) {
		t.Errorf("ready message = %q, want MAINPID=%d", m, a.PID)
	}
	w1 := a.waitServing(5 * time.Second)
	if proctest.HasEnv(w1.pid, "NOTIFY_SOCKET") {
		t.Errorf("worker environment has NOTIFY_SOCKET")
	}
	a.Signal(syscall.SIGUSR1)
	m := next("RELOADING=1")
	if _, usec, ok := strings.Cut(m, "MONOTONIC_USEC="); !ok || usec == "" {
		t.Errorf("reloading message = %q, want MONOTONIC_USEC", m)
	}
	next("READY=1")
	a.Signal(syscall.SIGUSR2)
	next("RELOADING=1")
	next("READY=1")
	a.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if code := a.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
}

func TestSocketActivation(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { err = syscall.Fstat(int(fd), &st) })
	if err != nil {
		t.Fatal(err)
	}
	a := startApp(t, appConfig{
		port:       port,
		extraFiles: []*os.File{f},
		argv: func(bin string) []string {
			return []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0"`, bin}
		},
	})
	// The master holds the only copies now.
	f.Close()
	ln.Close()
	w1 := a.waitServing(10 * time.Second)
	a.Log.WaitFor(t, time.Second, 1, "adopted socket-activation socket")
	if got := a.Log.Matching("baton: listening"); len(got) != 0 {
		t.Errorf("master bound a socket of its own: %q", got)
	}
	if got := proctest.ListenInodes(port); len(got) != 1 || got[0] != st.Ino {
		t.Errorf("listening sockets on port %d = %v, want only the passed one %d", port, got, st.Ino)
	}
	if len(proctest.SocketFDs(w1.pid, st.Ino)) == 0 {
		t.Errorf("worker does not hold the passed socket")
	}
	if proctest.HasEnv(w1.pid, "LISTEN_FDS") || proctest.HasEnv(w1.pid, "LISTEN_PID") {
		t.Errorf("worker environment has LISTEN_ variables")
	}
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("GET /reload = %q", body)
	}
	w2 := a.waitWorker(w1.pid, 5*time.Second)
	if len(proctest.SocketFDs(w2.pid, st.Ino)) == 0 {
		t.Errorf("new worker does not hold the passed socket")
	}
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(t, 10*time.Second, 1, "restart complete")
	a.waitWorker(w2.pid, 5*time.Second)
	if got := proctest.ListenInodes(port); len(got) != 1 || got[0] != st.Ino {
		t.Errorf("after restart: listening sockets = %v, want %d", got, st.Ino)
	}
}

func TestPID1(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a pid namespace with unshare (needs privileges): %v: %s", err, out)
	}
	a := startApp(t, appConfig{argv: func(bin string) []string {
		return []string{"unshare", "--pid", "--fork", "--mount-proc", bin}
	}})
	w1 := a.waitServing(10 * time.Second)
	// The master is unshare's child, pid 1 in the new namespace.
	kids := proctest.Children(a.PID)
	if len(kids) != 1 {
		t.Fatalf("children of unshare: %v", kids)
	}
	master := kids[0].PID
	if st := a.status(); st.MasterPID != 1 {
		t.Errorf("master pid in its namespace = %d, want 1", st.MasterPID)
	}
	syscall.Kill(master, syscall.SIGUSR1)
	a.Log.WaitFor(t, 10*time.Second, 1, "reload complete")
	if w2 := a.waitWorker(w1.pid, 5*time.Second); w2.gen != 2 {
		t.Errorf("worker after reload = %+v", w2)
	}
	// An orphan re-parented to the master is reaped.
	body := a.mustGet("/orphan")
	if _, err := strconv.Atoi(body); err != nil {
		t.Fatalf("GET /orphan = %q", body)
	}
	sawOrphan := false
	for _, c := range proctest.Children(master) {
		sawOrphan = sawOrphan || c.Comm == "sleep"
	}
	if !sawOrphan {
		t.Errorf("the orphan is not a child of the master: %v", proctest.Children(master))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids := proctest.Children(master)
		if len(kids) == 1 && len(proctest.Zombies(master)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("children of the master after the orphan exited: %v, want only the worker", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(master, syscall.SIGTERM)
	if code := a.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
}

func TestDrainTimeoutKillsOldWorker(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"BATON_DRAIN_TIMEOUT=500ms"}})
	w1 := a.waitServing(10 * time.Second)
	res := make(chan error, 1)
	go func() {
		_, _, err := a.Get("/sleep?ms=30000")
		res <- err
	}()
	a.Log.WaitFor(t, 5*time.Second, 1, "sleep begin")
	start := time.Now()
	a.Signal(syscall.SIGUSR1)
	a.Log.WaitFor(t, 5*time.Second, 1, "reload complete")
	// Drain timeout plus DefaultExitGrace, then SIGKILL.
	proctest.WaitGone(t, w1.pid, 500*time.Millisecond+proc.DefaultExitGrace+2*time.Second)
	if d := time.Since(start); d < 500*time.Millisecond+proc.DefaultExitGrace-100*time.Millisecond {
		t.Errorf("old worker gone after %s, before its drain timeout and grace", d)
	}
	a.Log.WaitFor(t, time.Second, 1, "did not exit in time")
	if err := <-res; err == nil {
		t.Errorf("request of the killed worker succeeded")
	}
	proctest.CheckNoZombies(t, a.PID)
}

// TestRestartRefused restarts into binaries that would leave nothing
// serving after the exec: one that cannot be executed, one that exits
// before the framework takes over. The master refuses both after probing
// them, and the old worker goes on serving; then a good binary restarts.
func TestRestartRefused(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	tests := []struct {
		name  string
		swap  func()
		cause string
	}{
		{"not executable", func() {
			// A copy of its own: the build is shared by the parallel tests.
			a.swap("")
			if err := os.Chmod(a.bin, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "permission denied"},
		{"exits before the framework", func() { a.swap("exit") }, "exited with status 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.T = t
			tt.swap()
			a.Signal(syscall.SIGUSR2)
			a.Log.WaitFor(t, 10*time.Second, 1, "restart refused", tt.cause)
			if w := a.worker(); w.pid != w1.pid {
				t.Errorf("worker after a refused restart = %d, want the old one %d still serving", w.pid, w1.pid)
			}
			st := a.status()
			last := st.History[len(st.History)-1]
			if st.MasterPID != a.PID || last.Kind != "restart" || last.OK || !strings.Contains(last.Err, tt.cause) {
				t.Errorf("status = pid %d, last event %+v; want pid %d and a refused restart", st.MasterPID, last, a.PID)
			}
			// Asked for by the worker, the refusal is its answer.
			code, body, err := a.Get("/restart")
			if err != nil || code != http.StatusInternalServerError || !strings.Contains(body, "restart refused") || !strings.Contains(body, tt.cause) {
				t.Errorf("GET /restart = %d %q, %v; want 500 and the refusal", code, body, err)
			}
			proctest.CheckNoZombies(t, a.PID)
		})
	}
	a.T = t
	a.restartIntoV2(w1.pid)
}

// TestRestartExecFails checks the failure the start probe cannot catch: a
// binary that passes it and then cannot be executed. The worker, never
// told to drain, goes on serving; the master keeps its pid and sockets and
// records the failure; a later restart into a good binary works.
func TestRestartExecFails(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	a.swap("unexec")
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(t, 10*time.Second, 1, "restart failed", "exec", "permission denied")
	if w := a.worker(); w.pid != w1.pid {
		t.Errorf("worker after a failed exec = %d, want the old one %d still serving", w.pid, w1.pid)
	}
	st := a.status()
	last := st.History[len(st.History)-1]
	if st.MasterPID != a.PID || last.Kind != "restart" || last.OK || !strings.Contains(last.Err, "permission denied") || last.OldPID != w1.pid {
		t.Errorf("status = pid %d, last event %+v; want pid %d and a failed exec from worker %d", st.MasterPID, last, a.PID, w1.pid)
	}
	proctest.CheckNoZombies(t, a.PID)

	a.restartIntoV2(w1.pid)
}

func TestGracefulOff(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"BATON_GRACEFUL=0"}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _, err := a.Get("/pid"); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not serving")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w := a.worker(); w.pid != a.PID || w.gen != 0 {
		t.Errorf("/pid = %+v, want the started process %d itself with generation 0", w, a.PID)
	}
	if c := proctest.Children(a.PID); len(c) != 0 {
		t.Errorf("children %v, want none", c)
	}
}

// TestReloadFollowsSymlink checks that a program started through a symlink
// (a "current" release link) reloads into the release the link names now.
func TestReloadFollowsSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := dir + "/current"
	a := startApp(t, appConfig{argv: func(bin string) []string {
		if err := os.Symlink(bin, link); err != nil {
			t.Fatal(err)
		}
		return []string{link}
	}})
	w1 := a.waitServing(10 * time.Second)
	if st := a.status(); st.Executable != link {
		t.Errorf("executable = %q, want the symlink %q", st.Executable, link)
	}
	if err := os.Symlink(binary(t, "v2"), link+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".new", link); err != nil {
		t.Fatal(err)
	}
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("GET /reload = %q", body)
	}
	if w2 := a.waitWorker(w1.pid, 5*time.Second); w2.version != "v2" {
		t.Errorf("worker after the link switch runs %s, want v2", w2.version)
	}
}
