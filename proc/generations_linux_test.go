//go:build linux

package proc_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/proc"
)

// waitPrevious waits until the master reports a kept previous generation
// and returns its path.
func (a *app) waitPrevious(d time.Duration) string {
	a.T.Helper()
	deadline := time.Now().Add(d)
	for {
		if p := a.status().Previous; p != "" {
			return p
		}
		if time.Now().After(deadline) {
			a.T.Fatalf("no previous generation kept within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRollbackAfterDeploy: with BATON_ROLLBACK=1, the master keeps a copy
// of what the previous generation ran, and SIGTTIN brings it back under
// load, after the deploy's file was removed from disk; one step only; a
// reload then takes the file on disk again; the copies go at exit.
func TestRollbackAfterDeploy(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{"BATON_ROLLBACK=1"}})
	w1 := a.waitServing(10 * time.Second)
	if code, body, err := a.Get("/rollback"); err != nil || code != http.StatusInternalServerError || !strings.Contains(body, proc.ErrNoRollback.Error()) {
		t.Fatalf("rollback before any reload = %d %q %v, want 500 with %q", code, body, err, proc.ErrNoRollback)
	}
	a.swap("v2")
	a.Signal(syscall.SIGUSR1)
	if w := a.waitWorker(w1.pid, 10*time.Second); w.version != "v2" {
		t.Fatalf("after the reload: %+v, want v2", w)
	}
	w2 := a.worker()
	prev := a.waitPrevious(5 * time.Second)
	for _, p := range []string{prev, filepath.Dir(prev)} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o700 || int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: mode %v uid %d, want 0700 and uid %d", p, fi.Mode(), st.Uid, os.Geteuid())
		}
	}

	// The deploy's file is gone: the rollback runs the master's copy.
	if err := os.Remove(a.bin); err != nil {
		t.Fatal(err)
	}
	stop := a.hammer()
	a.Signal(syscall.SIGTTIN)
	w3 := a.waitWorker(w2.pid, 10*time.Second)
	ok, errs := stop()
	if w3.version != "v1" || w3.gen != 3 {
		t.Errorf("after the rollback: %+v, want v1 in generation 3", w3)
	}
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed during the rollback, first: %v", len(errs), ok+len(errs), errs[0])
	}
	st := a.status()
	last := st.History[len(st.History)-1]
	if last.Kind != "rollback" || !last.OK || last.Trigger != "SIGTTIN" || last.OldPID != w2.pid || last.NewPID != w3.pid {
		t.Errorf("last event = %+v, want a successful rollback by SIGTTIN from %d to %d", last, w2.pid, w3.pid)
	}
	if st.Previous != "" || st.Executable != prev {
		t.Errorf("status after the rollback: previous %q, executable %q; want none and %q", st.Previous, st.Executable, prev)
	}
	proctest.WaitGone(t, w2.pid, 10*time.Second)

	// One step: a second rollback is refused, and v1 serves on.
	if code, body, err := a.Get("/rollback"); err != nil || code != http.StatusInternalServerError || !strings.Contains(body, proc.ErrNoRollback.Error()) {
		t.Errorf("second rollback = %d %q %v, want 500 with %q", code, body, err, proc.ErrNoRollback)
	}
	if w := a.worker(); w.pid != w3.pid {
		t.Errorf("after the refused rollback %+v serves, want %d", w, w3.pid)
	}
	// A reload starts the file on disk again.
	a.reloadIntoV2(w3.pid)

	dir := filepath.Dir(prev)
	a.Signal(syscall.SIGTERM)
	if code := a.WaitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the kept executables' directory %s is still there after exit (%v)", dir, err)
	}
}

// aliveChildren counts the master's children that have not exited.
func aliveChildren(pid int) int {
	n := 0
	for _, c := range proctest.Children(pid) {
		if c.State != 'Z' {
			n++
		}
	}
	return n
}

// TestReloadStormBounded: 50 SIGUSR1 while long and stuck requests are in
// flight, with BATON_MAX_DRAINING=2 and a drain timeout of 1s. The master
// never has more than 2 old workers beside the serving and the starting
// one, holds as many descriptors afterwards as before, every long
// request completes or is cut, and every stuck one is cut no later than
// the drain timeout plus proc.DefaultExitGrace after its worker is told
// to drain.
func TestReloadStormBounded(t *testing.T) {
	t.Parallel()
	const maxDraining = 2
	const drainTimeout = time.Second
	a := startApp(t, appConfig{env: []string{"BATON_MAX_DRAINING=2", "BATON_DRAIN_TIMEOUT=1s"}})
	a.waitServing(10 * time.Second)
	settle := func(d time.Duration) int {
		t.Helper()
		deadline := time.Now().Add(d)
		for len(proctest.Children(a.PID)) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("old workers still there after %v: %v", d, proctest.Children(a.PID))
			}
			time.Sleep(10 * time.Millisecond)
		}
		return stableFDs(a.PID)
	}
	a.mustGet("/reload") // lazily opened descriptors are counted
	base := settle(10 * time.Second)
	baseList := proctest.ListFDs(a.PID)

	type result struct {
		path       string
		start, end time.Time
		code       int
		err        error
	}
	var (
		mu      sync.Mutex
		results []result
		ended   = map[string]bool{}
		wg      sync.WaitGroup
	)
	launch := func(path string) {
		wg.Go(func() {
			r := result{path: path, start: time.Now()}
			r.code, _, r.err = a.Get(path) // the client gives up after 20s
			r.end = time.Now()
			mu.Lock()
			results = append(results, r)
			ended[path] = true
			mu.Unlock()
		})
	}
	maxAlive := 0
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			maxAlive = max(maxAlive, aliveChildren(a.PID))
			select {
			case <-sampling:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	stuck := 0
	for i := range 50 {
		if i < 40 && i%4 == 0 {
			launch("/sleep?ms=300")
		}
		if i < 40 && i%10 == 0 {
			launch(fmt.Sprintf("/stuck?id=%d", stuck))
			stuck++
		}
		a.Signal(syscall.SIGUSR1)
		time.Sleep(20 * time.Millisecond) // the pace of the storm
	}
	// Every stuck request is in a handler (or was cut before it got
	// there); then one more reload drains the generation that may hold
	// the last of them.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		settled := 0
		for i := range stuck {
			id := fmt.Sprintf("id=%d", i)
			mu.Lock()
			done := ended["/stuck?"+id]
			mu.Unlock()
			if done || len(a.Log.Matching("stuck begin", id+"\n")) > 0 {
				settled++
			}
		}
		if settled == stuck {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stuck requests neither in a handler nor ended after 20s", stuck-settled, stuck)
		}
	}
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("reload after the storm: %q", body)
	}
	lastDrain := time.Now()
	wg.Wait()
	close(sampling)
	<-sampled
	after := settle(drainTimeout + proc.DefaultExitGrace + 10*time.Second)
	for n := after; n != base; n = settle(time.Second) {
		if time.Since(lastDrain) > 30*time.Second {
			t.Fatalf("master has %d descriptors after the storm, had %d\nbefore:\n%s\nafter:\n%s", n, base, baseList, proctest.ListFDs(a.PID))
		}
		after = n
		time.Sleep(20 * time.Millisecond)
	}

	bound := maxDraining + 2 // old ones, the serving one, the starting one
	if maxAlive > bound {
		t.Errorf("up to %d workers at once, want at most %d", maxAlive, bound)
	}
	completed, cut := 0, 0
	var stuckTook []time.Duration
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.path, "/stuck") && r.err == nil:
			t.Errorf("stuck request answered %d", r.code)
		case strings.HasPrefix(r.path, "/stuck"):
			// Its worker was told to drain at the last reload at the
			// latest, and is killed drainTimeout+DefaultExitGrace later.
			if late := r.end.Sub(lastDrain); late > drainTimeout+proc.DefaultExitGrace+3*time.Second {
				t.Errorf("stuck request cut %v after the last reload, want at most %v (+3s)", late, drainTimeout+proc.DefaultExitGrace)
			}
			stuckTook = append(stuckTook, r.end.Sub(r.start).Round(10*time.Millisecond))
		case r.err == nil && r.code == http.StatusOK:
			completed++
		case r.err == nil:
			t.Errorf("long request answered %d", r.code)
		default:
			cut++
		}
	}
	if len(stuckTook) != stuck {
		t.Errorf("%d stuck requests ended, want %d", len(stuckTook), stuck)
	}
	// The hard stop: a stuck request in a worker that drains alone, with
	// no reload after it, is cut when the master kills its worker, the
	// drain timeout plus DefaultExitGrace after the drain began.
	hard := make(chan time.Time, 1)
	go func() {
		a.Get("/stuck?id=hard")
		hard <- time.Now()
	}()
	a.Log.WaitFor(t, 10*time.Second, 1, "stuck begin", "id=hard")
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("reload for the hard stop: %q", body)
	}
	drained := time.Now()
	var hardCut time.Duration
	select {
	case end := <-hard:
		hardCut = end.Sub(drained)
	case <-time.After(drainTimeout + proc.DefaultExitGrace + 10*time.Second):
		t.Fatalf("stuck request not cut %v after its worker was told to drain", drainTimeout+proc.DefaultExitGrace+10*time.Second)
	}
	if hardCut < drainTimeout || hardCut > drainTimeout+proc.DefaultExitGrace+3*time.Second {
		t.Errorf("stuck request cut %v after the drain began, want between %v and %v (+3s)", hardCut, drainTimeout, drainTimeout+proc.DefaultExitGrace)
	}

	st := a.status()
	reloads := countKind(st, "reload")
	killed := len(a.Log.Matching("too many old workers draining"))
	if killed == 0 {
		t.Errorf("the limit never stopped an old worker in %d reloads", reloads)
	}
	t.Logf("50 SIGUSR1: %d reloads, at most %d workers at once (bound %d), %d old workers killed by the limit; "+
		"master fds %d before, %d after; long requests: %d completed, %d cut; stuck ones cut after %v; "+
		"a stuck one in a worker draining alone cut %v after the drain began",
		reloads, maxAlive, bound, killed, base, after, completed, cut, stuckTook, hardCut.Round(10*time.Millisecond))
}
