package proc

import "context"

// Counters that survive reloads: each worker counts for itself (requests,
// bytes, durations: values that only grow), reports its counts to the
// master, and the master answers with the sum over every worker of the
// program, the ones gone included. See the package documentation,
// "Counters".

// Report is what a worker tells the master of its counters. The zero value
// reports nothing.
type Report struct {
	// Counters maps the name of each counter to its value in this worker.
	// A value must never go down from one report to the next; the master
	// keeps the largest it was told of each.
	Counters map[string]float64 `json:"counters,omitempty"`
	// Conns is the number of connections this worker has open.
	Conns int `json:"conns,omitempty"`
	// Final says that this worker has stopped counting: it has drained
	// and is about to exit.
	Final bool `json:"final,omitempty"`
}

// Totals is the master's answer to a Report.
type Totals struct {
	// Counters maps the name of each counter to its sum over every
	// worker of the program, this one included: the workers that exited
	// with the values of their last report.
	Counters map[string]float64 `json:"counters,omitempty"`
	// Stats are the master's own figures.
	Stats Stats `json:"stats"`
}

// Stats are the figures of the master that metrics export. Every count
// starts at the master's start and is kept across a restart.
type Stats struct {
	// Generation is the serving worker's generation.
	Generation int `json:"gen,omitempty"`
	// Events counts the reloads, restarts and respawns by kind, trigger
	// and outcome.
	Events []EventCount `json:"events,omitempty"`
	// HandOff is the distribution of the time from a reload's trigger to
	// its new worker being ready, over the reloads that succeeded.
	HandOff Histogram `json:"handoff"`
	// Crashes counts the workers that died without being asked to.
	Crashes int `json:"crashes,omitempty"`
	// DrainingWorkers is the number of old workers still draining, and
	// DrainingConns the connections they reported open last.
	DrainingWorkers int `json:"draining_workers,omitempty"`
	DrainingConns   int `json:"draining_conns,omitempty"`
	// MasterRSS is the master's resident memory in bytes, or 0 where it
	// cannot be read.
	MasterRSS int64 `json:"master_rss,omitempty"`
	// CanaryPromoted and CanaryRolledBack count the canary reloads of
	// this master by verdict.
	CanaryPromoted   int `json:"canary_promoted,omitempty"`
	CanaryRolledBack int `json:"canary_rolled_back,omitempty"`
}

// EventCount is the number of events of one kind ("reload", "restart",
// "respawn"), trigger and outcome.
type EventCount struct {
	Kind    string `json:"kind"`
	Trigger string `json:"trigger"`
	OK      bool   `json:"ok,omitempty"`
	N       int    `json:"n"`
}

// Histogram is a distribution of durations in seconds: Counts[i] is the
// number of values at most Bounds[i] (cumulative, as Prometheus has it).
type Histogram struct {
	Bounds []float64 `json:"bounds,omitempty"`
	Counts []uint64  `json:"counts,omitempty"`
	Count  uint64    `json:"count,omitempty"`
	Sum    float64   `json:"sum,omitempty"`
}

// HandOffBounds are the upper bounds, in seconds, of Stats.HandOff.
var HandOffBounds = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Counters sends r to the master and returns the program's totals. A
// process without master (a nil *Worker) gets ErrNoMaster.
func (w *Worker) Counters(ctx context.Context, r Report) (Totals, error) {
	if w == nil {
		return Totals{}, ErrNoMaster
	}
	return w.c.counters(ctx, r)
}
