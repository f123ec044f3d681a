//go:build unix && !aix

package proc

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// statsOf is a worker's report: conns connections, reqs requests of
// which errs with a 5xx, all answered after lat.
func statsOf(conns, reqs, errs int64, lat time.Duration) *canaryStats {
	o := new(CanaryObserver)
	o.conns.Add(conns)
	for i := int64(0); i < reqs; i++ {
		status := 200
		if i < errs {
			status = 500
		}
		o.Observe(status, lat)
	}
	s := o.snapshot()
	return &s
}

// TestCanaryDecisions checks the master's canary reload over fakeProcs:
// the window, the verdict by each rule, the rollback (new worker drained,
// old one serving, untouched) and the promotion (old one drained), the
// answer, the history and the log.
func TestCanaryDecisions(t *testing.T) {
	cfg := CanaryConfig{Window: 30 * time.Second, Share: 0.25, MaxErrorRate: 0.05, MaxP99: 100 * time.Millisecond}
	tests := []struct {
		name    string
		section bool // the master's own canary setting, and a reload by signal
		// during runs in the window; old and nu are the two workers.
		during   func(h *harness, old, nu *child)
		promoted bool
		reason   string
		after    time.Duration // from the request to the answer
		achieved float64
		late     bool // during runs a second before the window ends
	}{
		{
			name: "a new worker answering 500 on a fifth of requests is rolled back",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(300, 300, 0, 2*time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(100, 100, 20, 2*time.Millisecond)})
			},
			reason:   "error rate 0.200 > 0.05 (old 0.000)",
			after:    30 * time.Second,
			late:     true,
			achieved: 0.25,
		},
		{
			name: "a new worker 200ms slower is rolled back by the latency rule",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(300, 300, 0, 2*time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(100, 100, 0, 202*time.Millisecond)})
			},
			reason:   "p99 ",
			after:    30 * time.Second,
			late:     true,
			achieved: 0.25,
		},
		{
			name: "a good new worker is promoted",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(300, 300, 3, 2*time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(100, 100, 1, 2*time.Millisecond)})
			},
			promoted: true,
			reason:   "within thresholds",
			after:    30 * time.Second,
			late:     true,
			achieved: 0.25,
		},
		{
			name:    "the configuration section makes a signal's reload a canary",
			section: true,
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(80, 80, 0, time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(20, 20, 10, time.Millisecond)})
			},
			reason:   "error rate 0.500",
			after:    30 * time.Second,
			late:     true,
			achieved: 0.2,
		},
		{
			name: "an error rate the old worker has too is no reason",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(300, 300, 60, time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(100, 100, 20, time.Millisecond)})
			},
			promoted: true,
			reason:   "within thresholds",
			after:    30 * time.Second,
			late:     true,
			achieved: 0.25,
		},
		{
			name: "too few requests promote as inconclusive",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(3, 3, 3, time.Millisecond)})
			},
			promoted: true,
			reason:   "inconclusive: new worker answered 3 requests",
			after:    30 * time.Second,
			late:     true,
			achieved: 1,
		},
		{
			name: "a new worker that stops reporting is rolled back",
			during: func(h *harness, old, nu *child) {
				h.m.dispatch(old, &message{Type: msgStats, Stats: statsOf(300, 300, 0, time.Millisecond)})
				h.m.dispatch(nu, &message{Type: msgStats, Stats: statsOf(1, 1, 0, time.Millisecond)})
			},
			reason: "new worker died: sent no figures for 30s (stopped or wedged)",
			after:  30 * time.Second,
		},
		{
			name: "a new worker that dies in the window is rolled back at once",
			during: func(h *harness, old, nu *child) {
				time.Sleep(5 * time.Second)
				h.f.exit(nu, syscall.WaitStatus(2<<8), "panic: boom")
			},
			reason: "new worker died: exited with status 2: panic: boom",
			after:  5 * time.Second,
		},
		{
			name: "an old worker that dies in the window promotes the new one",
			during: func(h *harness, old, nu *child) {
				time.Sleep(time.Second)
				h.exitCode(old, 3)
			},
			promoted: true,
			reason:   "old worker died: exited with status 3",
			after:    time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, func(m *master) {
					if tt.section {
						c := CanaryConfig{Window: 30 * time.Second}
						m.canaryCfg = &c
					}
				})
				w1 := h.serving()
				at := time.Now()
				var ch <-chan error
				if tt.section {
					ch = h.request(msgReload, "SIGUSR1", true)
				} else {
					ch = h.reloadCanary(w1, cfg)
				}
				w2 := h.next()
				h.ready(w2, ReadyInfo{})
				synctest.Wait()
				share := cfg.Share
				if tt.section {
					share = DefaultCanaryShare
				}
				if got := h.f.sent(w2, msgCanary); len(got) != 1 || !got[0].Canary.New || got[0].Canary.Share != share {
					t.Fatalf("new worker got canary messages %+v, want one with role new, share %v", got, share)
				}
				if got := h.f.sent(w1, msgCanary); len(got) != 1 || got[0].Canary.New || got[0].Canary.Share != share {
					t.Fatalf("old worker got canary messages %+v, want one with role old, share %v", got, share)
				}
				if st := h.m.status(); st.Canary == nil || st.Canary.New.PID != w2.pid || st.WorkerPID != w1.pid {
					t.Errorf("status in the window: canary %+v, worker %d; want the window of %d beside %d", st.Canary, st.WorkerPID, w2.pid, w1.pid)
				}
				if tt.late {
					// Figures come every 200ms up to the end.
					time.Sleep(cfg.Window - time.Second)
				}
				tt.during(h, w1, w2)
				err := h.answer(ch)
				if took := time.Since(at); took != tt.after {
					t.Errorf("answered after %v, want %v", took, tt.after)
				}
				var ce *CanaryError
				if tt.promoted {
					if err != nil {
						t.Fatalf("reload = %v, want nil (promoted)", err)
					}
				} else if !errors.As(err, &ce) || !errors.Is(err, ErrCanaryRolledBack) {
					t.Fatalf("reload = %v, want a CanaryError", err)
				}
				ev := h.lastEvent("reload")
				v := ev.Canary
				if v == nil || v.Promoted != tt.promoted || !strings.Contains(v.Reason, tt.reason) || ev.OK != tt.promoted {
					t.Fatalf("history event %+v with verdict %+v, want promoted %v, reason %q", ev, v, tt.promoted, tt.reason)
				}
				if tt.achieved != 0 && v.Achieved != tt.achieved {
					t.Errorf("achieved share %v, want %v", v.Achieved, tt.achieved)
				}
				survivor, loser := w1, w2
				word := `msg="baton: canary rolled back"`
				if tt.promoted {
					survivor, loser, word = w2, w1, `msg="baton: canary promoted"`
				}
				synctest.Wait()
				if got := h.f.sent(survivor, msgCanary); len(got) != 2 || got[1].Canary.Share != 0 {
					t.Errorf("survivor %d got canary messages %+v, want the end of the window last", survivor.pid, got)
				}
				if d := h.f.sent(survivor, msgDrain); len(d) > 0 {
					t.Errorf("survivor %d was told to drain", survivor.pid)
				}
				if d := h.f.sent(loser, msgDrain); len(d) != 1 && !h.f.worker(loser).exited {
					t.Errorf("loser %d got %d drains, want one", loser.pid, len(d))
				}
				h.waitCur(survivor)
				if !h.logged(word, "new_pid=") {
					t.Errorf("log lacks %s:\n%s", word, h.log)
				}
				st := h.m.status()
				if st.Canary != nil || st.CanaryPromoted+st.CanaryRolledBack != 1 || (st.CanaryPromoted == 1) != tt.promoted {
					t.Errorf("status after: canary %+v, promoted %d, rolled back %d", st.Canary, st.CanaryPromoted, st.CanaryRolledBack)
				}
			})
		})
	}
}

// reloadCanary sends a canary reload from worker c, as Worker.ReloadCanary
// does, and returns where its reply's error arrives.
func (h *harness) reloadCanary(c *child, cfg CanaryConfig) <-chan error {
	ch := make(chan error, 1)
	h.f.mu.Lock()
	h.id++
	id := h.id
	h.f.replies[id] = ch
	h.f.mu.Unlock()
	h.m.dispatch(c, &message{Type: msgReload, ID: id, Trigger: "api", CanaryConfig: &cfg})
	return ch
}

// TestCanaryNotForEveryReload checks the reloads that are never canaries
// though the master has a canary setting: the replacement of a hung
// worker, and a reload while no worker serves.
func TestCanaryNotForHungWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(m *master) {
			c := CanaryConfig{Window: time.Minute}
			m.canaryCfg = &c
			m.heartbeatTimeout, m.heartbeatInterval = 10*time.Second, time.Second
		})
		w1 := h.serving()
		h.f.mu.Lock()
		h.f.workers[w1].silent = true
		h.f.mu.Unlock()
		w2 := h.next() // the watchdog's replacement
		h.ready(w2, ReadyInfo{})
		h.waitCur(w2)
		if got := h.f.sent(w2, msgCanary); len(got) != 0 {
			t.Errorf("replacement of a hung worker got canary messages %+v, want none", got)
		}
	})
}

// TestCanaryShutdownInWindow checks that a shutdown during the window ends
// it at once: the new worker is rolled back and both drain.
func TestCanaryShutdownInWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, nil)
		w1 := h.serving()
		ch := h.reloadCanary(w1, CanaryConfig{Window: time.Minute})
		w2 := h.next()
		h.ready(w2, ReadyInfo{})
		time.Sleep(time.Second)
		h.request(msgShutdown, "SIGTERM", false)
		err := h.answer(ch)
		var ce *CanaryError
		if !errors.As(err, &ce) || ce.Verdict.Reason != "abandoned: shutting down" {
			t.Fatalf("reload = %v, want a rollback abandoned for the shutdown", err)
		}
		if code := h.exited(); code != 0 {
			t.Errorf("master exited %d, want 0", code)
		}
		for _, c := range []*child{w1, w2} {
			if len(h.f.sent(c, msgDrain)) != 1 {
				t.Errorf("worker %d got %d drains, want 1", c.pid, len(h.f.sent(c, msgDrain)))
			}
		}
	})
}

// TestCanaryRules checks judge and the latency histogram on figures.
func TestCanaryRules(t *testing.T) {
	cfg := CanaryConfig{MaxErrorRate: 0.05, MaxP99: 100 * time.Millisecond}.withDefaults()
	g := func(reqs, errs int64, p99 time.Duration) GenerationStats {
		return GenerationStats{Requests: reqs, Errors: errs, P99: p99}
	}
	tests := []struct {
		name     string
		old, nu  GenerationStats
		promoted bool
	}{
		{"equal", g(100, 0, time.Millisecond), g(100, 0, time.Millisecond), true},
		{"errors over threshold", g(100, 0, time.Millisecond), g(100, 6, time.Millisecond), false},
		{"errors at threshold", g(100, 0, time.Millisecond), g(100, 5, time.Millisecond), true},
		{"errors over threshold, old worse", g(100, 9, time.Millisecond), g(100, 6, time.Millisecond), true},
		{"slow over threshold", g(100, 0, time.Millisecond), g(100, 0, 150*time.Millisecond), false},
		{"slow, old slower", g(100, 0, 300*time.Millisecond), g(100, 0, 150*time.Millisecond), true},
		{"too few to judge", g(100, 0, time.Millisecond), g(19, 19, time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := judge(cfg, tt.old, tt.nu); got != tt.promoted {
				t.Errorf("judge = %v (%s), want %v", got, why, tt.promoted)
			}
		})
	}
	for _, us := range []uint64{0, 1, 7, 8, 9, 15, 16, 17, 1000, 202_000, 1 << 33} {
		i := histIndex(us)
		if up := histUpper(i); time.Duration(us)*time.Microsecond > up || (i > 0 && histUpper(i-1) >= time.Duration(us)*time.Microsecond) {
			t.Errorf("%dµs in bucket %d up to %v (previous up to %v)", us, i, up, histUpper(i-1))
		}
	}
	h := statsOf(0, 1000, 0, time.Millisecond).Hist
	h = append(h, make([]int64, histBuckets-len(h))...)
	h[histIndex(250_000)] += 20 // 2% at 250ms
	if q := quantile(h, 0.99); q < 250*time.Millisecond || q > 250*time.Millisecond*9/8 {
		t.Errorf("p99 with 2%% at 250ms = %v", q)
	}
}

// TestAcceptGate checks that the two roles' parts of a slot cover it,
// overlap only at the cuts, and give the new worker its share.
func TestAcceptGate(t *testing.T) {
	for _, share := range []float64{0.05, 0.2, 0.5, 0.8} {
		nu, old := newAcceptGate(canaryRole{New: true, Share: share}), newAcceptGate(canaryRole{Share: share})
		base := time.Unix(1_700_000_000, 0)
		var newOpen, both, none int
		const step = 100 * time.Microsecond
		for d := time.Duration(0); d < 3*CanarySlot; d += step {
			now := base.Add(d)
			wn, _ := nu.next(now)
			wo, _ := old.next(now)
			switch {
			case wn == 0 && wo == 0:
				both++
			case wn == 0:
				newOpen++
			case wo != 0:
				none++
			}
		}
		steps := int(3 * CanarySlot / step)
		if none != 0 {
			t.Errorf("share %v: no acceptor for %d of %d steps", share, none, steps)
		}
		if want := 3 * 2 * 2 * int(gateOverlap/step); both > want+6 {
			t.Errorf("share %v: both accept for %d steps, want about %d", share, both, want)
		}
		got := (float64(newOpen) + float64(both)/2) / float64(steps)
		if got < share-0.01 || got > share+0.01 {
			t.Errorf("share %v: new worker's part of the time %.3f", share, got)
		}
	}
}
