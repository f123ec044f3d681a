//go:build linux

package proc_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/proc"
)

// findEvent returns the first event of the history with the trigger.
func findEvent(st proc.Status, trigger string) (proc.Event, bool) {
	for _, ev := range st.History {
		if ev.Trigger == trigger {
			return ev, true
		}
	}
	return proc.Event{}, false
}

// TestWatchdogReplacesStoppedWorker stops the serving worker (kill -STOP)
// and expects the master to notice the unanswered heartbeat, start a new
// worker and kill the stopped one.
func TestWatchdogReplacesStoppedWorker(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{proc.EnvHeartbeatTimeout + "=1s"}})
	w1 := a.waitServing(10 * time.Second)
	if err := syscall.Kill(w1.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	w2 := a.waitWorker(w1.pid, 20*time.Second)
	if w2.gen != 2 {
		t.Errorf("replacement worker %d has generation %d, want 2", w2.pid, w2.gen)
	}
	proctest.WaitGone(t, w1.pid, 10*time.Second)
	proctest.CheckNoZombies(t, a.PID)
	a.Log.WaitFor(t, 5*time.Second, 1, "worker not answering", fmt.Sprintf("pid=%d", w1.pid))
	st := a.status()
	if st.MasterPID != a.PID {
		t.Errorf("master pid = %d, want %d", st.MasterPID, a.PID)
	}
	if st.WorkerPID != w2.pid {
		t.Errorf("status worker = %d, want %d", st.WorkerPID, w2.pid)
	}
	ev, ok := findEvent(st, "watchdog")
	if !ok || !ev.OK || ev.OldPID != w1.pid || ev.NewPID != w2.pid {
		t.Errorf("history = %+v, want a successful watchdog replacement of %d by %d", st.History, w1.pid, w2.pid)
	}
	if c := proctest.Children(a.PID); len(c) != 1 || c[0].PID != w2.pid {
		t.Errorf("children of the master = %v, want only %d", c, w2.pid)
	}
}

// TestWatchdogSparesSlowWorker keeps the worker in a handler for longer
// than the heartbeat timeout: a worker busy serving still answers the
// heartbeat, and is not replaced.
func TestWatchdogSparesSlowWorker(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{proc.EnvHeartbeatTimeout + "=1s"}})
	w1 := a.waitServing(10 * time.Second)
	// 2.5 s: more than the timeout plus a heartbeat interval.
	body := a.mustGet("/sleep?ms=2500")
	if want := fmt.Sprintf("slept %d", w1.pid); body != want {
		t.Errorf("GET /sleep = %q, want %q", body, want)
	}
	if w := a.worker(); w.pid != w1.pid {
		t.Errorf("worker after a slow request = %d, want %d", w.pid, w1.pid)
	}
	if ev, ok := findEvent(a.status(), "watchdog"); ok {
		t.Errorf("history has a watchdog event %+v for a worker that was only slow", ev)
	}
	if l := a.Log.Matching("worker not answering"); len(l) > 0 {
		t.Errorf("log: %q", l)
	}
}

// notifySocket listens on a fresh abstract datagram socket and returns its
// name and the messages it receives.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	name := fmt.Sprintf("@baton-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 1024)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			select {
			case msgs <- string(buf[:n]):
			default: // the test stopped reading
			}
		}
	}()
	return name, msgs
}

// TestSystemdWatchdog checks the WATCHDOG=1 notifications the master sends
// when systemd asks for them (WATCHDOG_USEC), and that it sends none when
// WATCHDOG_PID names another process.
func TestSystemdWatchdog(t *testing.T) {
	t.Parallel()
	t.Run("enabled", func(t *testing.T) {
		t.Parallel()
		name, msgs := notifySocket(t)
		// 100 ms: a notification every 50 ms.
		a := startApp(t, appConfig{env: []string{"NOTIFY_SOCKET=" + name, "WATCHDOG_USEC=100000"}})
		a.waitServing(10 * time.Second)
		if proctest.HasEnv(a.worker().pid, "WATCHDOG_USEC") {
			t.Errorf("worker environment has WATCHDOG_USEC")
		}
		deadline := time.After(10 * time.Second)
		var got []string
		for n := 0; n < 5; {
			select {
			case m := <-msgs:
				got = append(got, m)
				if m == "WATCHDOG=1" {
					n++
				}
			case <-deadline:
				t.Fatalf("%d WATCHDOG=1 notifications in 10s, want 5; messages: %q", n, got)
			}
		}
	})
	t.Run("other pid", func(t *testing.T) {
		t.Parallel()
		name, msgs := notifySocket(t)
		// WATCHDOG_PID=1 is not the master: systemd asks another process.
		a := startApp(t, appConfig{env: []string{"NOTIFY_SOCKET=" + name, "WATCHDOG_USEC=20000", "WATCHDOG_PID=1"}})
		w1 := a.waitServing(10 * time.Second)
		// A reload lasts much longer than the 10 ms interval: its
		// RELOADING=1 and READY=1 bound the wait.
		a.Signal(syscall.SIGUSR1)
		a.waitWorker(w1.pid, 10*time.Second)
		deadline := time.After(10 * time.Second)
		var got []string
		for ready := 0; ready < 2; {
			select {
			case m := <-msgs:
				got = append(got, m)
				if strings.HasPrefix(m, "READY=1") {
					ready++
				}
			case <-deadline:
				t.Fatalf("no second READY=1 in 10s; messages: %q", got)
			}
		}
		for _, m := range got {
			if strings.Contains(m, "WATCHDOG") {
				t.Errorf("notification %q for a watchdog meant for another pid", m)
			}
		}
	})
}
