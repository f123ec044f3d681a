//go:build linux

package proc_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// The tests that run testdata/procapp under a real master run on
// internal/proctest; what is here is what this suite adds: procapp's
// builds, its /pid answer and the swap of its binary.

// builds holds the builds of testdata/procapp.
var builds proctest.Builds

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Remove()
	os.Exit(code)
}

// binary returns the path of the procapp build of mode: "" serves
// normally, "v2" serves normally and reports version v2, "exit", "panic",
// "nostart", "hang" and "unexec" fail in the named way.
func binary(t testing.TB, mode string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping integration test in short mode")
	}
	switch mode {
	case "":
		return builds.Build(t, "./testdata/procapp")
	case "v2":
		return builds.Build(t, "./testdata/procapp", "version=v2")
	}
	return builds.Build(t, "./testdata/procapp", "mode="+mode)
}

// app is a started procapp master.
type app struct {
	*proctest.Program
	bin string // the binary the master runs, a copy of its own
}

type appConfig struct {
	env        []string
	argv       func(bin string) []string // the command line; default: just bin
	extraFiles []*os.File
	port       int // if zero, a free one
	// prepare, if set, is called with the path of the binary before the
	// master starts from it.
	prepare func(bin string)
}

// startApp starts a copy of the normal procapp build as a master in its own
// process group, and kills every process of it when the test ends.
func startApp(t *testing.T, cfg appConfig) *app {
	t.Helper()
	dir := t.TempDir()
	a := &app{bin: filepath.Join(dir, "procapp")}
	port := cfg.port
	if port == 0 {
		port = proctest.FreePort(t)
	}
	proctest.Install(t, binary(t, ""), a.bin)
	if cfg.prepare != nil {
		cfg.prepare(a.bin)
	}
	argv := []string{a.bin}
	if cfg.argv != nil {
		argv = cfg.argv(a.bin)
	}
	a.Program = proctest.Start(t, proctest.Config{
		Argv:       argv,
		Dir:        dir,
		Env:        append([]string{"PROCAPP_PORT=" + strconv.Itoa(port)}, cfg.env...),
		ExtraFiles: cfg.extraFiles,
		Port:       port,
	})
	return a
}

// swap replaces the app's binary on disk by the build of mode, the way a
// deployment does: by renaming a new file over the old path.
func (a *app) swap(mode string) {
	a.T.Helper()
	proctest.Install(a.T, binary(a.T, mode), a.bin)
}

func (a *app) mustGet(path string) string {
	a.T.Helper()
	code, body, err := a.Get(path)
	if err != nil {
		a.T.Fatalf("GET %s: %v", path, err)
	}
	if code != http.StatusOK {
		a.T.Fatalf("GET %s: status %d, body %q", path, code, body)
	}
	return body
}

// workerInfo is the answer of /pid.
type workerInfo struct {
	pid, gen int
	version  string
}

// parseWorker parses the answer of /pid.
func (a *app) parseWorker(body string) workerInfo {
	a.T.Helper()
	var w workerInfo
	if _, err := fmt.Sscanf(body, "%d %d %s", &w.pid, &w.gen, &w.version); err != nil {
		a.T.Fatalf("GET /pid = %q: %v", body, err)
	}
	return w
}

func (a *app) worker() workerInfo {
	a.T.Helper()
	return a.parseWorker(a.mustGet("/pid"))
}

// waitServing waits until a worker serves and has logged that it is
// ready.
func (a *app) waitServing(d time.Duration) workerInfo {
	a.T.Helper()
	deadline := time.Now().Add(d)
	a.WaitWorker(0, d)
	a.Log.WaitFor(a.T, time.Until(deadline), 1, "worker ready")
	return a.worker()
}

// waitWorker waits until a worker other than old answers /pid.
func (a *app) waitWorker(old int, d time.Duration) workerInfo {
	a.T.Helper()
	_, body := a.WaitWorker(old, d)
	return a.parseWorker(body)
}

// restartIntoV2 restarts the app into the v2 build, as its first
// restart, and checks that a new worker, not old, serves v2.
// reloadIntoV2 swaps in v2, reloads through the worker and checks that a
// new worker runs it: what a reload that was refused or failed ends with.
func (a *app) reloadIntoV2(old int) {
	a.T.Helper()
	a.swap("v2")
	if body := a.mustGet("/reload"); body != "ok" {
		a.T.Fatalf("GET /reload = %q, want ok", body)
	}
	if w := a.waitWorker(old, 5*time.Second); w.version != "v2" {
		a.T.Errorf("worker after the reload = %+v, want a new v2 worker", w)
	}
}

func (a *app) restartIntoV2(old int) {
	a.T.Helper()
	a.swap("v2")
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(a.T, 10*time.Second, 1, "restart complete")
	if w := a.waitWorker(old, 10*time.Second); w.version != "v2" {
		a.T.Errorf("worker after the restart runs %s, want v2", w.version)
	}
}

// hammer sends requests on fresh connections until stop is called, and
// returns the number of successes and the failures.
func (a *app) hammer() (stop func() (int, []error)) {
	done := make(chan struct{})
	var (
		mu   sync.Mutex
		ok   int
		errs []error
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				code, body, err := a.Get("/pid")
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case code != http.StatusOK:
					errs = append(errs, fmt.Errorf("status %d: %s", code, body))
				default:
					ok++
				}
				mu.Unlock()
			}
		})
	}
	return func() (int, []error) {
		close(done)
		wg.Wait()
		return ok, errs
	}
}
