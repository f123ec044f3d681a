//go:build linux

package baton_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// TestMasterMemoryBounded reloads examples/hello 100 times into the same
// binary and checks the master's resident memory: under 10 MB throughout,
// and its private (anonymous) part no more than 1 MB larger after the
// last reload than after the fifth. Pages of the binary come and go with
// what the master runs, so they count for the bound, not the growth.
func TestMasterMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("100 reloads take about half a minute")
	}
	const (
		reloads = 100
		maxRSS  = 10 << 10 // KiB
		maxGrow = 1 << 10  // KiB
	)
	bin := build(t, "./examples/hello")
	p := startProgram(t, bin, freePort(t))
	cur := p.WaitServing(0, 30*time.Second)
	deadline := time.Now().Add(3 * time.Minute)
	var firstRSS, firstAnon, peakRSS, lastRSS, lastAnon int
	for i := 1; i <= reloads; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d reloads in 3 minutes", i-1)
		}
		old := cur
		p.Signal(syscall.SIGUSR1)
		cur = p.WaitServing(old, 30*time.Second)
		waitFor(t, fmt.Sprintf("old worker %d to be reaped", old), 30*time.Second, func() bool { return proctest.Reaped(old) })
		rss, anon := proctest.RSS(p.PID)
		peakRSS = max(peakRSS, rss)
		if i == 5 {
			firstRSS, firstAnon = rss, anon
		}
		lastRSS, lastAnon = rss, anon
	}
	t.Logf("master after 5 reloads: %d KiB (%d KiB anonymous); after %d: %d KiB (%d KiB anonymous); peak %d KiB",
		firstRSS, firstAnon, reloads, lastRSS, lastAnon, peakRSS)
	if peakRSS > maxRSS {
		t.Errorf("master resident memory reached %d KiB, want at most %d KiB", peakRSS, maxRSS)
	}
	if grow := lastAnon - firstAnon; grow > maxGrow {
		t.Errorf("master anonymous memory grew by %d KiB over %d reloads, want at most %d KiB", grow, reloads-5, maxGrow)
	}
}
