//go:build linux

package baton_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// TestRestartAcceptGap restarts examples/hello (SIGUSR2) five times (or
// BATON_RESTARTS, at most 200, for a longer run)
// under clients that open a new connection for every request, and measures
// the longest time without an answer across each restart: the time new
// connections wait in the backlog because nobody accepts. It requires
// that no request fails and logs the gaps (go test -v), beside the longest
// gap of the second before the restart, which is the load's own.
func TestRestartAcceptGap(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts under load take about ten seconds")
	}
	restarts := restartCount(5)
	bin := filepath.Join(t.TempDir(), "hello")
	install(t, build(t, "./examples/hello"), bin)
	port := freePort(t)
	p := startProgram(t, bin, port)
	cur := p.WaitServing(0, 30*time.Second)

	l := startLoadKinds(fmt.Sprintf("127.0.0.1:%d", port), "/pid", []string{"new-conn"}, 8, 3*time.Minute)
	type restart struct {
		at       time.Time
		old, new int
	}
	var history []restart
	for range restarts {
		// The load runs a second before each restart, for the baseline
		// (load shape, not a readiness wait).
		time.Sleep(time.Second)
		old := cur
		at := time.Now()
		p.Signal(syscall.SIGUSR2)
		cur = p.WaitServing(old, 30*time.Second)
		waitFor(t, fmt.Sprintf("old worker %d to exit", old), 30*time.Second, func() bool { return proctest.Reaped(old) })
		history = append(history, restart{at: at, old: old, new: cur})
	}
	time.Sleep(200 * time.Millisecond) // answers after the last hand-off
	ss := l.finish()["new-conn"]

	failed := map[string]int{}
	var ok []sample
	for _, s := range ss {
		if s.fail != "" {
			failed[s.fail]++
			continue
		}
		ok = append(ok, s)
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].at.Before(ok[j].at) })
	// maxGap is the longest time between two answers in [from, to).
	maxGap := func(from, to time.Time) (time.Duration, int) {
		var gap time.Duration
		n := 0
		var last time.Time
		for _, s := range ok {
			if s.at.Before(from) || !s.at.Before(to) {
				continue
			}
			if !last.IsZero() {
				gap = max(gap, s.at.Sub(last))
			}
			last = s.at
			n++
		}
		return gap, n
	}
	// The moments of the exec, from the master's log.
	var execs []time.Time
	for _, line := range p.Log.Matching("baton: restarting") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "time=") {
			if at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time=")); err == nil {
				execs = append(execs, at)
			}
		}
	}
	if len(execs) != restarts {
		t.Fatalf("%d exec times in the log, want %d", len(execs), restarts)
	}
	var report strings.Builder
	fmt.Fprintf(&report, "%d restarts of examples/hello under 8 new-connection clients, %d requests, %d failed\n", restarts, len(ss), len(ss)-len(ok))
	for i, r := range history {
		var firstNew time.Time
		for _, s := range ok {
			if s.pid == r.new {
				firstNew = s.at
				break
			}
		}
		if firstNew.IsZero() {
			t.Errorf("restart %d: no answer from the new worker %d", i+1, r.new)
			continue
		}
		gap, n := maxGap(r.at, firstNew.Add(100*time.Millisecond))
		base, _ := maxGap(r.at.Add(-time.Second), r.at)
		// After the exec: the first answer, and how many the old worker gave.
		var first time.Time
		oldAfter := 0
		for _, s := range ok {
			if s.at.Before(execs[i]) {
				continue
			}
			if first.IsZero() {
				first = s.at
			}
			if s.pid == r.old {
				oldAfter++
			}
		}
		fmt.Fprintf(&report, "restart %d: longest time without an answer %v (the second before, load alone: %v); exec to next answer %v; %d answers by the old worker after the exec; first answer by the new worker %v after the signal\n",
			i+1, gap.Round(10*time.Microsecond), base.Round(10*time.Microsecond), first.Sub(execs[i]).Round(10*time.Microsecond),
			oldAfter, firstNew.Sub(r.at).Round(time.Millisecond))
		if n < 2 {
			t.Errorf("restart %d: %d answers around the restart, too few to measure the gap", i+1, n)
		}
	}
	for _, s := range ss {
		if s.fail == "" {
			continue
		}
		for i, r := range history {
			if d := s.at.Sub(r.at); d > -time.Second && d < 2*time.Second {
				fmt.Fprintf(&report, "failed: %s, %v after the signal of restart %d (exec at %v)\n", s.fail,
					d.Round(100*time.Microsecond), i+1, execs[i].Sub(r.at).Round(100*time.Microsecond))
			}
		}
	}
	t.Log("\n" + report.String())
	if len(failed) > 0 {
		t.Errorf("requests failed across the restarts: %v", failed)
	}
}

// restartCount returns n, or BATON_RESTARTS when set, for longer runs.
func restartCount(n int) int {
	if v, err := strconv.Atoi(os.Getenv("BATON_RESTARTS")); err == nil && v > 0 && v <= 200 {
		return v
	}
	return n
}
