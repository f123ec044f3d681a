//go:build linux

package baton_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// The access log is written in batches: no line may be lost when a worker
// hands over at a reload, nor when the program stops.
func TestAccessLogKeptAtReloadAndStop(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	first := p.WaitServing(0, 20*time.Second)

	// lines counts the access log lines of GET / by pid.
	lines := func(pid int) int {
		n := 0
		for _, l := range strings.Split(p.Log.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, "path=/ ") && strings.Contains(l, fmt.Sprintf("pid=%d", pid)) {
				n++
			}
		}
		return n
	}
	serve := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if code, body, err := p.Get("/"); err != nil || code != 200 {
				t.Fatalf("GET / = %d %q, %v", code, body, err)
			}
		}
	}

	// /pid is answered by the new worker only once the old one has stopped
	// accepting, so every GET / before the reload is the old worker's.
	serve(25)
	p.Signal(syscall.SIGUSR1)
	second := p.WaitServing(first, 20*time.Second)
	waitFor(t, "the old worker's exit", 20*time.Second, func() bool { return proctest.Reaped(first) })
	if n := lines(first); n != 25 {
		t.Errorf("old worker %d: %d access log lines of GET /, want 25:\n%s", first, n, p.Log.String())
	}

	serve(30)
	p.Signal(syscall.SIGTERM)
	p.WaitExit(20 * time.Second)
	if n := lines(second); n != 30 {
		t.Errorf("worker %d: %d access log lines of GET / after SIGTERM, want 30:\n%s", second, n, p.Log.String())
	}
}
