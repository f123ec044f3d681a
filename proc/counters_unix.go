//go:build unix && !aix

// This file holds the master's side of the counters that survive reloads:
// the last report of each worker, the sums of the workers gone, and the
// master's own counts of events, hand-offs and crashes. It is plain
// numbers in maps: the master links no metrics library.

package proc

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// Bounds of what the master keeps, so that a worker reporting without
// measure cannot make it grow without limit.
const (
	// maxCounters is the number of counter names the master keeps; a
	// report's names beyond it are dropped.
	maxCounters = 20000
	// maxEventKeys is the number of (kind, trigger, outcome) triples
	// counted apart; the others count under the trigger "other".
	maxEventKeys = 64
	// maxTrigger is the longest trigger kept as it is.
	maxTrigger = 40
	// maxCarryState is the largest encoding of the counters carried in
	// the state of a restart: the environment of an exec holds strings of
	// up to 128 KiB.
	maxCarryState = 96 << 10
)

// carry is the master's counter state. Its lock is taken after m.mu, never
// before.
type carry struct {
	mu       sync.Mutex
	finished map[string]float64 // the workers gone: the sum of their last reports
	live     map[*child]*Report // the last report of each worker not yet folded
	events   map[EventCount]int // N is zero in the keys
	handoff  Histogram
	crashes  int
}

// counters takes the report of worker c and returns the program's totals.
func (m *master) counters(c *child, r *Report) Totals {
	m.mu.Lock()
	gen := 0
	if m.cur != nil {
		gen = m.cur.gen
	}
	draining := make(map[*child]bool, len(m.draining))
	for _, d := range m.draining {
		draining[d] = true
	}
	promoted, rolledBack := m.canary.promoted, m.canary.rolledBk
	m.mu.Unlock()

	k := &m.carry
	k.mu.Lock()
	defer k.mu.Unlock()
	if r != nil {
		k.report(c, r)
	}
	// The workers gone fold into finished: the sum stays the same.
	for w := range k.live {
		if w.isDone() {
			k.fold(w)
		}
	}
	t := Totals{Counters: make(map[string]float64, len(k.finished))}
	for name, v := range k.finished {
		t.Counters[name] = v
	}
	st := &t.Stats
	for w, rep := range k.live {
		for name, v := range rep.Counters {
			t.Counters[name] += v
		}
		if draining[w] {
			st.DrainingConns += rep.Conns
		}
	}
	st.Generation = gen
	st.DrainingWorkers = len(draining)
	st.Crashes = k.crashes
	for key, n := range k.events {
		key.N = n
		st.Events = append(st.Events, key)
	}
	st.HandOff = k.handoff
	st.HandOff.Counts = append([]uint64(nil), k.handoff.Counts...)
	st.MasterRSS = selfRSS()
	st.CanaryPromoted, st.CanaryRolledBack = promoted, rolledBack
	return t
}

// report keeps the values of r for worker c: for each name the largest
// reported, so that the totals never go down, whatever order concurrent
// reports arrive in.
func (k *carry) report(c *child, r *Report) {
	if k.live == nil {
		k.live = make(map[*child]*Report)
	}
	last := k.live[c]
	if last == nil {
		last = &Report{Counters: make(map[string]float64, len(r.Counters))}
		k.live[c] = last
	}
	if k.finished == nil {
		k.finished = make(map[string]float64, len(r.Counters))
	}
	for name, v := range r.Counters {
		old, ok := last.Counters[name]
		if !ok {
			// NOTE: finished holds every name ever reported (at 0
			// until a worker that had it is gone), so that it alone
			// bounds the names and a fold never adds one.
			if _, known := k.finished[name]; !known {
				if len(k.finished) >= maxCounters {
					continue
				}
				k.finished[name] = 0
			}
		}
		last.Counters[name] = max(v, old)
	}
	last.Conns = r.Conns
	if r.Final {
		k.fold(c)
	}
}

// fold adds the last report of worker c to finished and forgets c.
func (k *carry) fold(c *child) {
	last := k.live[c]
	delete(k.live, c)
	if last == nil {
		return
	}
	for name, v := range last.Counters {
		k.finished[name] += v // the name is there: see report
	}
}

// event counts ev, an entry of the history.
func (k *carry) event(ev Event) {
	switch ev.Kind {
	case "reload", "restart", "respawn":
	default:
		return
	}
	trigger := ev.Trigger
	if ev.Kind == "respawn" {
		trigger = "crash" // the trigger names the cause, a text of its own each time
	}
	if len(trigger) > maxTrigger {
		trigger = trigger[:maxTrigger]
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.events == nil {
		k.events = make(map[EventCount]int)
	}
	key := EventCount{Kind: ev.Kind, Trigger: trigger, OK: ev.OK}
	if _, ok := k.events[key]; !ok && len(k.events) >= maxEventKeys {
		key.Trigger = "other"
	}
	k.events[key]++
	if ev.OK && ev.HandOff > 0 {
		k.handOff(ev.HandOff)
	}
}

func (k *carry) handOff(d time.Duration) {
	h := &k.handoff
	if h.Bounds == nil {
		h.Bounds = HandOffBounds
		h.Counts = make([]uint64, len(HandOffBounds))
	}
	s := d.Seconds()
	for i, b := range h.Bounds {
		if s <= b {
			h.Counts[i]++
		}
	}
	h.Count++
	h.Sum += s
}

func (k *carry) crash() {
	k.mu.Lock()
	k.crashes++
	k.mu.Unlock()
}

// carryState is the part of the state of a restart that keeps the counts.
type carryState struct {
	Counters map[string]float64 `json:"counters,omitempty"`
	Events   []EventCount       `json:"events,omitempty"`
	HandOff  Histogram          `json:"handoff"`
	Crashes  int                `json:"crashes,omitempty"`
}

// save returns the counts for the state of a restart, the live workers'
// last reports added in: after the exec they have no channel to report on.
// It changes nothing, since the exec may fail. Counters too many to pass
// through the environment are left out, and logged by the caller.
func (k *carry) save() (cs *carryState, dropped bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cs = &carryState{Counters: make(map[string]float64, len(k.finished)), HandOff: k.handoff, Crashes: k.crashes}
	size := 0
	for name, v := range k.finished {
		cs.Counters[name] = v
		size += len(name) + 28
	}
	for _, r := range k.live {
		for name, v := range r.Counters {
			cs.Counters[name] += v
		}
	}
	for key, n := range k.events {
		key.N = n
		cs.Events = append(cs.Events, key)
	}
	if size > maxCarryState {
		cs.Counters, dropped = nil, true
	}
	return cs, dropped
}

// restore takes the counts of the master this process was.
func (k *carry) restore(cs *carryState) {
	if cs == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.finished = cs.Counters
	k.handoff = cs.HandOff
	if len(k.handoff.Bounds) != len(k.handoff.Counts) {
		k.handoff = Histogram{}
	}
	k.crashes = cs.Crashes
	for _, e := range cs.Events {
		if k.events == nil {
			k.events = make(map[EventCount]int)
		}
		n := e.N
		e.N = 0
		k.events[e] += n
	}
}

// selfRSS returns the resident memory of this process in bytes, or 0.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
