//go:build unix && !aix

package proc

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// reaper collects every child of the master with wait4(-1), so that no
// zombie is left: not of workers, and not of orphans re-parented to the
// master when it is pid 1 of a pid namespace.
//
// NOTE: because it waits for any child, code running in the master must not
// wait for processes of its own (os/exec's Wait would fail with ECHILD).
type reaper struct {
	log *slog.Logger

	mu    sync.Mutex
	procs map[int]*child
}

func newReaper(log *slog.Logger) *reaper {
	return &reaper{log: log, procs: make(map[int]*child)}
}

// run reaps children at every SIGCHLD. It never returns.
func (r *reaper) run(sigc <-chan os.Signal) {
	r.reap()
	for range sigc {
		r.reap()
	}
}

// notify subscribes to SIGCHLD. Call it before starting any child.
func (r *reaper) notify() chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGCHLD)
	return c
}

func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		c := r.procs[pid]
		if c == nil {
			r.log.Debug("baton: reaped unknown child", "pid", pid, "status", uint32(ws))
			continue
		}
		delete(r.procs, pid)
		c.status = ws
		close(c.done)
	}
}

// busyWait bounds how long start waits for an executable that is open for
// writing (ETXTBSY) to be closed, as when the new binary of a reload is
// still being closed by what wrote it.
const busyWait = time.Second

// start starts a process and registers it before the reaper can see it
// exit. The *os.Process handle is released: the reaper owns the pid.
func (r *reaper) start(c *child, exe string, args []string, attr *os.ProcAttr) error {
	deadline := time.Now().Add(busyWait)
	for {
		err := r.startOnce(c, exe, args, attr)
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *reaper) startOnce(c *child, exe string, args []string, attr *os.ProcAttr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(exe, args, attr)
	if err != nil {
		return err
	}
	c.pid = p.Pid
	r.procs[c.pid] = c
	p.Release()
	return nil
}

// adopt registers a child started by this master before it re-executed
// itself. It reports false if pid is not an unreaped child.
func (r *reaper) adopt(c *child) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(c.pid, &ws, syscall.WNOHANG, nil)
	if err != nil || pid != 0 {
		return false // not our child, or already gone (and now reaped)
	}
	r.procs[c.pid] = c
	return true
}

// signal sends sig to c unless it has been reaped: a reaped pid may belong
// to another process by now.
func (r *reaper) signal(c *child, sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs[c.pid] == c {
		syscall.Kill(c.pid, sig)
	}
}

// signalGroup sends sig to the process group led by c (started with
// Setpgid) unless c has been reaped.
func (r *reaper) signalGroup(c *child, sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs[c.pid] == c {
		syscall.Kill(-c.pid, sig)
	}
}
