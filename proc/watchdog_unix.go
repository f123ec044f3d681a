//go:build unix && !aix

// This file holds the watchdogs: the heartbeat the master sends each
// ready worker, which replaces a silent one, and the notifications to
// systemd's watchdog.

package proc

import (
	"os"
	"strconv"
	"time"
)

// heartbeat pings ready worker c every interval, one ping at a time, and
// asks the run goroutine to replace it when a ping stays unanswered for
// timeout. The worker answers from the goroutine reading its control
// channel, so only a stopped or wedged process (kill -STOP, a deadlocked
// runtime, a process stuck in the kernel) stays silent, not a busy one.
// It ends when c exits or is told to drain.
func (m *master) heartbeat(c *child, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var sent time.Time // of the unanswered ping, or zero
	for {
		select {
		case <-c.done:
			return
		case <-c.ctlDone:
			return
		case <-c.pong:
			sent = time.Time{}
		case now := <-t.C:
			c.mu.Lock()
			drainSent := c.drainSent
			c.mu.Unlock()
			if drainSent {
				return
			}
			if sent.IsZero() {
				if err := m.procs.send(c, &message{Type: msgPing}); err != nil {
					return
				}
				sent = now
				continue
			}
			if silent := now.Sub(sent); silent >= timeout {
				m.log.Error("baton: worker not answering, replacing it", "pid", c.pid, "generation", c.gen,
					"silent", silent.Round(time.Millisecond))
				select {
				case m.reqs <- request{kind: msgReload, trigger: "watchdog", at: now, hung: c}:
				case <-c.done:
					return
				}
				// Should the replacement fail, ask again after another
				// timeout.
				sent = time.Time{}
			}
		}
	}
}

// watchdogInterval returns the interval of systemd's watchdog
// (WATCHDOG_USEC) if it is meant for this process (WATCHDOG_PID unset or
// pid), as sd_watchdog_enabled(3) decides.
func watchdogInterval(pid int) (time.Duration, bool) {
	return parseWatchdog(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), pid)
}

func parseWatchdog(usec, wpid string, pid int) (time.Duration, bool) {
	if usec == "" {
		return 0, false
	}
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil || p != pid {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 || n > uint64(1<<63-1)/1000 {
		return 0, false
	}
	return time.Duration(n) * time.Microsecond, true
}

// systemdWatchdog sends WATCHDOG=1 every half interval while the run
// goroutine answers: a request it must read, as it does in each of its
// waits, proves that the master's loop is not stuck. If it is, the
// notifications stop and systemd acts (WatchdogSec=, Restart=).
func (m *master) systemdWatchdog(interval time.Duration) {
	half := max(interval/2, time.Millisecond)
	t := time.NewTicker(half)
	defer t.Stop()
	for range t.C {
		alive := make(chan struct{}, 1)
		r := request{kind: msgPing, at: time.Now(), reply: func(error) { alive <- struct{}{} }}
		select {
		case m.reqs <- r:
		default:
			continue // the queue is full: the loop is behind
		}
		if waitTimeout(alive, half) {
			m.notify.send("WATCHDOG=1")
		}
	}
}
