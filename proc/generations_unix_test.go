//go:build unix && !aix

package proc

import (
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestMaxDraining: with MaxDraining 1 a reload does not wait for old
// workers that never finish, and the oldest is killed once two drain.
func TestMaxDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(m *master) { m.gens.maxDraining = 1 })
		w1 := h.serving()
		var olds []*child
		cur := w1
		for range 3 {
			h.f.worker(cur).stayOnDrain = true
			ch := h.request(msgReload, "SIGUSR1", true)
			next := h.next()
			h.ready(next, ReadyInfo{})
			if err := h.answer(ch); err != nil {
				t.Fatalf("reload = %v, want nil", err)
			}
			h.waitCur(next)
			olds = append(olds, cur)
			cur = next
		}
		synctest.Wait()
		// w1 and w2 never finish their drain: each was killed when a
		// second old worker joined; the last old one drains on.
		for i, c := range olds {
			killed := false
			for _, s := range h.f.signals(c) {
				killed = killed || s.sig == syscall.SIGKILL
			}
			if want := i < len(olds)-1; killed != want {
				t.Errorf("old worker %d killed: %v, want %v", i+1, killed, want)
			}
		}
		if !h.logged("too many old workers draining", "max_draining=1") {
			t.Errorf("log lacks the kill by the limit:\n%s", h.log)
		}
	})
}

// TestLameDuck: a shutdown tells the worker "lameduck" at once and sends
// the drain only after the worker's lame duck; a second signal ends it.
func TestLameDuck(t *testing.T) {
	for _, tt := range []struct {
		name   string
		relay  bool // the worker relays the stop first, then the signal reaches the master
		second bool
		drain  time.Duration // from the shutdown to the drain, on the bubble's clock
	}{
		{"served out", false, false, 5 * time.Second},
		{"second signal", false, true, time.Second},
		{"relayed, then the same signal", true, true, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				w := h.next()
				h.ready(w, ReadyInfo{LameDuck: 5 * time.Second})
				h.waitCur(w)
				h.f.worker(w).stayOnDrain = true
				start := time.Now()
				if tt.relay {
					h.requestFrom(w, msgShutdown, "SIGTERM to worker")
				} else {
					h.request(msgShutdown, "SIGTERM", false)
				}
				synctest.Wait()
				if n := len(h.f.sent(w, msgLameDuck)); n != 1 {
					t.Fatalf("worker got %d lameduck messages, want 1", n)
				}
				if n := len(h.f.sent(w, msgDrain)); n != 0 {
					t.Fatalf("worker told to drain during its lame duck")
				}
				if tt.second {
					time.Sleep(time.Second)
					h.request(msgShutdown, "SIGTERM", false)
					synctest.Wait()
				}
				if tt.drain > time.Second {
					time.Sleep(tt.drain - time.Since(start) - time.Millisecond)
					synctest.Wait()
					if n := len(h.f.sent(w, msgDrain)); n != 0 {
						t.Fatalf("drain sent before the lame duck ended")
					}
					time.Sleep(time.Millisecond)
					synctest.Wait()
				}
				if n := len(h.f.sent(w, msgDrain)); n != 1 {
					t.Fatalf("%d drains %v after the shutdown, want 1", n, time.Since(start))
				}
				if got := time.Since(start); got != tt.drain {
					t.Errorf("drain %v after the shutdown, want %v", got, tt.drain)
				}
				h.exitCode(w, 0)
				if code := h.exited(); code != 0 {
					t.Errorf("exit %d", code)
				}
			})
		})
	}
}

// TestShutdownAfterQueuedRollback: a rollback asked for during a reload
// waits its turn; a shutdown that comes after it replaces it, and the
// master exits.
func TestShutdownAfterQueuedRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, nil)
		h.serving()
		reload := h.request(msgReload, "SIGUSR1", true)
		w2 := h.next() // starting: the reload waits for it
		rollback := h.request(msgRollback, "SIGTTIN", true)
		h.request(msgShutdown, "SIGTERM", false)
		synctest.Wait()
		if err := h.answer(rollback); err == nil {
			t.Errorf("queued rollback = nil, want it refused by the shutdown")
		}
		h.ready(w2, ReadyInfo{})
		h.answer(reload)
		if code := h.exited(); code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})
}
