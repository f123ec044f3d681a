//go:build unix && !aix

package proc

import (
	"testing"
	"time"
)

// TestCountersSurviveWorkers plays reloads through the master's counters:
// totals are the sum over workers, gone ones included, and never go down,
// whatever order reports arrive in.
func TestCountersSurviveWorkers(t *testing.T) {
	m := &master{}
	last := 0.0
	check := func(step string, tot Totals, want float64) {
		t.Helper()
		got := tot.Counters["req"]
		if got != want {
			t.Errorf("%s: req = %v, want %v", step, got, want)
		}
		if got < last {
			t.Errorf("%s: req went down from %v to %v", step, last, got)
		}
		last = got
	}
	w1, w2, w3 := newChild(1, 1), newChild(2, 2), newChild(3, 3)
	m.cur = w1
	check("first report", m.counters(w1, &Report{Counters: map[string]float64{"req": 10}}), 10)
	check("a late, older report", m.counters(w1, &Report{Counters: map[string]float64{"req": 7}}), 10)

	// Reload: w2 serves, w1 drains and still counts.
	m.cur, m.draining = w2, []*child{w1}
	check("new worker, overlap", m.counters(w2, &Report{Counters: map[string]float64{"req": 1}}), 11)
	tot := m.counters(w1, &Report{Counters: map[string]float64{"req": 12}, Conns: 3})
	check("old worker draining", tot, 13)
	if tot.Stats.DrainingWorkers != 1 || tot.Stats.DrainingConns != 3 || tot.Stats.Generation != 2 {
		t.Errorf("stats during the drain: %+v", tot.Stats)
	}
	check("old worker final", m.counters(w1, &Report{Counters: map[string]float64{"req": 15}, Final: true}), 16)
	m.draining = nil

	// A worker killed before its final report keeps its last one.
	check("w2 counts", m.counters(w2, &Report{Counters: map[string]float64{"req": 5, "other": 1}}), 20)
	close(w2.done)
	m.cur = w3
	tot = m.counters(w3, &Report{Counters: map[string]float64{"req": 2}})
	check("after w2 died", tot, 22)
	if tot.Counters["other"] != 1 {
		t.Errorf("a counter only a gone worker had: %v, want 1", tot.Counters["other"])
	}
	if len(m.carry.live) != 1 {
		t.Errorf("%d live reports kept, want 1 (w3)", len(m.carry.live))
	}

	// A restart carries the sums, live reports included, and changes
	// nothing if the exec fails.
	cs, dropped := m.carry.save()
	if dropped || cs.Counters["req"] != 22 {
		t.Fatalf("saved %v (dropped %v), want req 22", cs.Counters, dropped)
	}
	check("after a failed exec", m.counters(w3, &Report{Counters: map[string]float64{"req": 3}}), 23)
	m2 := &master{}
	m2.carry.restore(cs)
	w4 := newChild(4, 4)
	m2.cur = w4
	if got := m2.counters(w4, &Report{Counters: map[string]float64{"req": 1}}).Counters["req"]; got != 23 {
		t.Errorf("after a restart: req = %v, want 23", got)
	}
}

// TestCountersBounded checks that a worker cannot make the master keep
// more than maxCounters names.
func TestCountersBounded(t *testing.T) {
	m := &master{}
	w := newChild(1, 1)
	r := &Report{Counters: make(map[string]float64, maxCounters+10)}
	for i := range maxCounters + 10 {
		r.Counters[string(rune('a'+i%26))+time.Duration(i).String()] = 1
	}
	tot := m.counters(w, r)
	if len(tot.Counters) != maxCounters {
		t.Errorf("%d counters kept, want %d", len(tot.Counters), maxCounters)
	}
}

// TestCarryEvents counts reloads by kind, trigger and outcome, hand-offs
// and crashes.
func TestCarryEvents(t *testing.T) {
	m := &master{}
	m.record(Event{Kind: "reload", Trigger: "SIGUSR1", OK: true, HandOff: 80 * time.Millisecond})
	m.record(Event{Kind: "reload", Trigger: "SIGUSR1", OK: true, HandOff: 3 * time.Second})
	m.record(Event{Kind: "reload", Trigger: "SIGUSR1"})
	m.record(Event{Kind: "respawn", Trigger: "worker killed by signal 9", OK: true})
	m.record(Event{Kind: "shutdown", Trigger: "SIGTERM", OK: true})
	m.carry.crash()
	st := m.counters(newChild(1, 1), nil).Stats
	want := map[EventCount]int{
		{Kind: "reload", Trigger: "SIGUSR1", OK: true}: 2,
		{Kind: "reload", Trigger: "SIGUSR1"}:           1,
		{Kind: "respawn", Trigger: "crash", OK: true}:  1,
	}
	if len(st.Events) != len(want) {
		t.Errorf("events %+v, want %v", st.Events, want)
	}
	for _, e := range st.Events {
		n := e.N
		e.N = 0
		if want[e] != n {
			t.Errorf("%+v: %d, want %d", e, n, want[e])
		}
	}
	h := st.HandOff
	if h.Count != 2 || h.Counts[0] != 0 || h.Counts[1] != 1 || h.Counts[len(h.Counts)-1] != 2 {
		t.Errorf("hand-off histogram %+v", h)
	}
	if st.Crashes != 1 {
		t.Errorf("crashes %d, want 1", st.Crashes)
	}
}
