//go:build linux

package baton_test

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// TestMetricsAcrossReloads loads testdata/metrics, reloads it six times
// meanwhile and scrapes it all along: the request counter of the loaded
// route never goes down, and once the old workers are gone it equals the
// number of requests the clients were answered, exactly.
func TestMetricsAcrossReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("reloads under load take about ten seconds")
	}
	const reloads = 6
	bin := build(t, "./testdata/metrics")
	port := freePort(t)
	p := startProgram(t, bin, port)
	cur := p.WaitServing(0, 30*time.Second)

	scrape := func() (float64, string) {
		t.Helper()
		code, body, err := p.Get("/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET /metrics: %d %v\n%s", code, err, body)
		}
		v, _ := proctest.Metric(body, "baton_http_requests_total", "route=/hit", "status=200")
		return v, body
	}
	last := 0.0
	monotone := func(when string) {
		t.Helper()
		v, body := scrape()
		if v < last {
			t.Errorf("%s: baton_http_requests_total{route=/hit} went down from %v to %v\n%s", when, last, v, body)
		}
		last = v
	}

	l := startLoadKinds(fmt.Sprintf("127.0.0.1:%d", port), "/hit", []string{"keep-alive", "new-conn"}, 3, time.Minute)
	olds := []int{}
	for i := 1; i <= reloads; i++ {
		monotone(fmt.Sprintf("before reload %d", i))
		old := cur
		p.Signal(syscall.SIGUSR1)
		cur = p.WaitServing(old, 30*time.Second)
		olds = append(olds, old)
		monotone(fmt.Sprintf("right after reload %d", i))
	}
	samples := l.finish()
	sent, failed := 0, 0
	for _, ss := range samples {
		for _, s := range ss {
			if s.fail != "" {
				failed++
				continue
			}
			sent++
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d requests failed during the reloads", failed, sent+failed)
	}
	for _, old := range olds {
		waitFor(t, fmt.Sprintf("old worker %d to be reaped", old), 30*time.Second, func() bool { return proctest.Reaped(old) })
	}
	monotone("after the load")
	got, body := scrape()
	if got != float64(sent) {
		t.Errorf("baton_http_requests_total{route=/hit} = %v after %d reloads, the clients were answered %d times", got, reloads, sent)
	}
	gen, _ := proctest.Metric(body, "baton_worker_generation")
	ok, _ := proctest.Metric(body, "baton_reloads_total", "kind=reload", "trigger=SIGUSR1", "outcome=success")
	handoffs, _ := proctest.Metric(body, "baton_reload_handoff_seconds_count")
	master, _ := proctest.Metric(body, "baton_master_resident_memory_bytes")
	if gen != reloads+1 || ok != reloads || handoffs != reloads || master <= 0 {
		t.Errorf("generation %v, successful reloads %v, hand-offs %v (want %d, %d, %d); master memory %v\n%s",
			gen, ok, handoffs, reloads+1, reloads, reloads, master, body)
	}
	t.Logf("%d requests over %d reloads, counted %v", sent, reloads, got)
}
