//go:build linux

package baton_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/proc"
)

// TestWatchBinary deploys new builds of examples/hello by copying them to
// the program's path, once in two halves with a pause longer than the
// quiet period in between, once by rename, and sees exactly one reload for
// each, the new answer, and no failed request under light load.
func TestWatchBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and deploys real binaries")
	}
	v1 := build(t, "./examples/hello", "greeting=deploy one")
	v2 := build(t, "./examples/hello", "greeting=deploy two")
	dir := t.TempDir()
	exe := filepath.Join(dir, "hello")
	install(t, v1, exe)
	cfg := filepath.Join(dir, "config.yaml")
	writeConfig(t, cfg, "graceful:\n  watchBinary: true\n")
	p := startProgram(t, exe, freePort(t), "BATON_CONFIG="+cfg)
	w1 := p.WaitServing(0, 30*time.Second)
	p.waitLog("baton: watching the binary", 10*time.Second)
	reloads := func() int { return strings.Count(p.Log.String(), `msg="baton: reload complete" trigger=watch`) }

	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.Port), "/pid", 1, 2*time.Minute)

	// A copy that pauses half-way: the running file cannot be opened for
	// writing (ETXTBSY), so it is replaced, as cp --remove-destination
	// and install(1) do, and written in two steps.
	data, err := os.ReadFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(exe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	if _, err := f.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	// The pause of a slow copy, longer than the quiet period: the half
	// file is stable, and must still not be started.
	p.waitLog("baton: new binary not complete yet", 10*time.Second)
	if n := reloads(); n != 0 {
		t.Fatalf("%d reloads into a half-written binary", n)
	}
	if _, err := f.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := p.WaitServing(w1, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "deploy two" {
		t.Errorf("GET / after the copy = %q, want %q", body, "deploy two")
	}

	// A rename into place.
	install(t, v1, exe)
	p.WaitServing(w2, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "deploy one" {
		t.Errorf("GET / after the rename = %q, want %q", body, "deploy one")
	}
	// Settle: anything still to come from these two deploys (a second
	// reload for one of them) would follow within a quiet period.
	deadline := time.Now().Add(3 * proc.DefaultBinaryQuiet)
	for time.Now().Before(deadline) && reloads() == 2 {
		time.Sleep(50 * time.Millisecond)
	}
	if n := reloads(); n != 2 {
		t.Errorf("%d reloads for two deploys, want exactly 2:\n%s", n, p.Log.String())
	}

	byKind := l.finish()
	total, failed := 0, map[string]int{}
	for _, ss := range byKind {
		for _, s := range ss {
			total++
			if s.fail != "" {
				failed[s.fail]++
			}
		}
	}
	if total == 0 || len(failed) > 0 {
		t.Errorf("%d requests under load, failures: %v", total, failed)
	}
}
