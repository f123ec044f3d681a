package proc

// This file holds the canary reload's vocabulary, shared by the master and
// the workers: its configuration, the figures a generation reports (counts
// and a latency histogram), the rule that compares two generations, and
// its outcome. The master's side is in canary_unix.go, the accept gate
// that steers the share of new connections in canary_gate_unix.go.

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// Defaults of a canary reload, for the zero fields of a CanaryConfig.
const (
	// DefaultCanaryWindow is how long the new and the old worker serve
	// side by side before the master compares them.
	DefaultCanaryWindow = 30 * time.Second
	// DefaultCanaryShare is the share of new connections the new worker
	// accepts during the window.
	DefaultCanaryShare = 0.2
	// DefaultCanaryMaxErrorRate is the share of 5xx answers the new
	// worker may give before it is rolled back.
	DefaultCanaryMaxErrorRate = 0.05
	// DefaultCanaryMinRequests is the number of requests the new worker
	// must answer in the window for the rules to judge it; with fewer,
	// it is promoted as inconclusive.
	DefaultCanaryMinRequests = 20
	// CanarySlot is the period of the accept gate: in each slot the new
	// worker accepts for Share of it and the old one for the rest.
	CanarySlot = 100 * time.Millisecond
)

// CanaryConfig configures a canary reload: the new worker serves beside
// the old one for Window, accepting Share of the new connections, and is
// rolled back if it answers with 5xx more often than MaxErrorRate (and more
// often than the old one), if its 99th percentile latency exceeds MaxP99
// (and the old one's), or if it dies. Zero fields take the defaults above;
// a zero MaxP99 turns the latency rule off.
type CanaryConfig struct {
	Window       time.Duration `json:"window,omitempty"`
	Share        float64       `json:"share,omitempty"`
	MaxErrorRate float64       `json:"max_error_rate,omitempty"`
	MaxP99       time.Duration `json:"max_p99,omitempty"`
	MinRequests  int           `json:"min_requests,omitempty"`
}

// withDefaults returns c with its zero fields set.
func (c CanaryConfig) withDefaults() CanaryConfig {
	if c.Window <= 0 {
		c.Window = DefaultCanaryWindow
	}
	if c.Share <= 0 || c.Share >= 1 {
		c.Share = DefaultCanaryShare
	}
	if c.MaxErrorRate <= 0 {
		c.MaxErrorRate = DefaultCanaryMaxErrorRate
	}
	if c.MinRequests <= 0 {
		c.MinRequests = DefaultCanaryMinRequests
	}
	return c
}

// or returns c with its zero fields taken from d.
func (c CanaryConfig) or(d CanaryConfig) CanaryConfig {
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.Share == 0 {
		c.Share = d.Share
	}
	if c.MaxErrorRate == 0 {
		c.MaxErrorRate = d.MaxErrorRate
	}
	if c.MaxP99 == 0 {
		c.MaxP99 = d.MaxP99
	}
	if c.MinRequests == 0 {
		c.MinRequests = d.MinRequests
	}
	return c
}

// Validate reports a setting no canary can run with: a negative window,
// a share outside (0, 1), an error rate outside [0, 1], a negative p99 or
// minimum.
func (c CanaryConfig) Validate() error {
	switch {
	case c.Window < 0:
		return fmt.Errorf("canary window %v is negative", c.Window)
	case c.Share < 0 || c.Share >= 1:
		return fmt.Errorf("canary share %v is not between 0 and 1 (exclusive)", c.Share)
	case c.MaxErrorRate < 0 || c.MaxErrorRate > 1:
		return fmt.Errorf("canary maxErrorRate %v is not between 0 and 1", c.MaxErrorRate)
	case c.MaxP99 < 0:
		return fmt.Errorf("canary maxP99 %v is negative", c.MaxP99)
	case c.MinRequests < 0:
		return fmt.Errorf("canary minRequests %d is negative", c.MinRequests)
	}
	return nil
}

// GenerationStats are the figures of one worker over a canary window.
type GenerationStats struct {
	PID        int           `json:"pid"`
	Generation int           `json:"generation"`
	Conns      int64         `json:"conns"`    // connections it accepted
	Requests   int64         `json:"requests"` // requests it answered
	Errors     int64         `json:"errors"`   // of which with a 5xx status (panics included)
	Panics     int64         `json:"panics"`   // handler panics
	P99        time.Duration `json:"p99"`      // 99th percentile latency (upper edge of its bucket)
	Died       string        `json:"died,omitempty"`
}

// ErrorRate returns Errors/Requests, or 0 without requests.
func (g GenerationStats) ErrorRate() float64 {
	if g.Requests == 0 {
		return 0
	}
	return float64(g.Errors) / float64(g.Requests)
}

// CanaryVerdict is the outcome of a canary reload and the figures that
// decided it.
type CanaryVerdict struct {
	Promoted bool            `json:"promoted"`
	Reason   string          `json:"reason"`   // e.g. "error rate 0.198 > 0.05 (old 0.000)"
	Window   time.Duration   `json:"window"`   // how long both served
	Share    float64         `json:"share"`    // the share of new connections asked for
	Achieved float64         `json:"achieved"` // the share the new worker accepted
	Old      GenerationStats `json:"old"`
	New      GenerationStats `json:"new"`
}

// String is the one-line account of v, as the log and the admin page show
// it.
func (v CanaryVerdict) String() string {
	out := "rolled back"
	if v.Promoted {
		out = "promoted"
	}
	return fmt.Sprintf("%s: %s; share %.2f (asked %.2f); new %d req, %.3f 5xx, p99 %v; old %d req, %.3f 5xx, p99 %v",
		out, v.Reason, v.Achieved, v.Share,
		v.New.Requests, v.New.ErrorRate(), v.New.P99, v.Old.Requests, v.Old.ErrorRate(), v.Old.P99)
}

// CanaryError is the error of a canary reload that was rolled back.
type CanaryError struct{ Verdict CanaryVerdict }

// Error returns "baton: canary rolled back: " and the verdict.
func (e *CanaryError) Error() string { return "baton: canary " + e.Verdict.String() }

// Unwrap returns ErrCanaryRolledBack.
func (e *CanaryError) Unwrap() error { return ErrCanaryRolledBack }

// judge applies the rules of cfg (with defaults) to the figures of the two
// generations: the new one is rolled back if it died, if its error rate
// exceeds both the threshold and the old one's, or if its p99 exceeds both
// MaxP99 and the old one's. Too few requests promote it as inconclusive.
func judge(cfg CanaryConfig, old, nu GenerationStats) (promoted bool, reason string) {
	switch {
	case nu.Died != "":
		return false, "new worker died: " + nu.Died
	case old.Died != "":
		return true, "old worker died: " + old.Died
	case nu.Requests < int64(cfg.MinRequests):
		return true, fmt.Sprintf("inconclusive: new worker answered %d requests, fewer than %d", nu.Requests, cfg.MinRequests)
	}
	if r, o := nu.ErrorRate(), old.ErrorRate(); r > cfg.MaxErrorRate && r > o {
		return false, fmt.Sprintf("error rate %.3f > %.3g (old %.3f)", r, cfg.MaxErrorRate, o)
	}
	if cfg.MaxP99 > 0 && nu.P99 > cfg.MaxP99 && nu.P99 > old.P99 {
		return false, fmt.Sprintf("p99 %v > %v (old %v)", nu.P99, cfg.MaxP99, old.P99)
	}
	return true, "within thresholds"
}

// The latency histogram: microseconds in buckets of 3 significant bits
// (at most 12.5% wide), from 1µs to about 4.8 hours.
const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxExp  = 34
	histBuckets = (histMaxExp - histSubBits + 1) * histSub
)

// histIndex returns the bucket of a latency of us microseconds.
func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - 1
	if e > histMaxExp {
		return histBuckets - 1
	}
	m := (us >> (e - histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + int(m)
}

// histUpper returns the largest latency of bucket i.
func histUpper(i int) time.Duration {
	if i < histSub {
		return time.Duration(i) * time.Microsecond
	}
	e := i/histSub + histSubBits - 1
	m := uint64(i % histSub)
	hi := (histSub+m+1)<<(e-histSubBits) - 1
	return time.Duration(hi) * time.Microsecond
}

// quantile returns the upper edge of the bucket holding quantile q of the
// histogram h.
func quantile(h []int64, q float64) time.Duration {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.999999)
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= rank {
			return histUpper(i)
		}
	}
	return histUpper(len(h) - 1)
}

// CanaryObserver counts a worker's connections, answers and latencies
// while the master compares it with another generation. The server calls
// Observe for every answered request and Panic for every handler panic;
// Options.OnCanary hands it out. Its methods are safe for concurrent use
// and allocate nothing.
type CanaryObserver struct {
	conns, reqs, errs, panics atomic.Int64
	hist                      [histBuckets]atomic.Int64
}

// Observe records a request answered with status after d.
func (o *CanaryObserver) Observe(status int, d time.Duration) {
	o.reqs.Add(1)
	if status >= 500 && status < 600 {
		o.errs.Add(1)
	}
	o.hist[histIndex(uint64(max(d, 0)/time.Microsecond))].Add(1)
}

// Panic records a handler panic (its 500 is counted by Observe).
func (o *CanaryObserver) Panic() { o.panics.Add(1) }

// canaryStats is what a worker reports of itself over the control
// channel during a window.
type canaryStats struct {
	Conns    int64   `json:"conns"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Panics   int64   `json:"panics"`
	Hist     []int64 `json:"hist,omitempty"` // trailing empty buckets cut
}

func (o *CanaryObserver) snapshot() canaryStats {
	s := canaryStats{Conns: o.conns.Load(), Requests: o.reqs.Load(), Errors: o.errs.Load(), Panics: o.panics.Load()}
	last := -1
	h := make([]int64, histBuckets)
	for i := range o.hist {
		if h[i] = o.hist[i].Load(); h[i] != 0 {
			last = i
		}
	}
	s.Hist = h[:last+1]
	return s
}

// generation turns a report into the figures of a generation.
func (s canaryStats) generation(pid, gen int) GenerationStats {
	return GenerationStats{PID: pid, Generation: gen, Conns: s.Conns, Requests: s.Requests,
		Errors: s.Errors, Panics: s.Panics, P99: quantile(s.Hist, 0.99)}
}
