//go:build linux

package proc_test

import (
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/proc"
)

// TestReloadRefusesUnsafeExecutable makes the binary on disk writable by
// others, then owned by another user, and expects each reload to be
// refused while the old worker goes on serving.
func TestReloadRefusesUnsafeExecutable(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	tests := []struct {
		name    string
		root    bool // needs to run as root
		prepare func(bin string) error
		want    string
	}{
		{"mode 0777", false, func(bin string) error { return os.Chmod(bin, 0o777) }, "writable by group or others (mode 0777)"},
		{"mode 0775", false, func(bin string) error { return os.Chmod(bin, 0o775) }, "writable by group or others (mode 0775)"},
		{"owner 65534", true, func(bin string) error { return os.Chown(bin, 65534, 65534) }, "owned by uid 65534"},
	}
	refused := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.T = t
			if tt.root && os.Geteuid() != 0 {
				t.Skip("skipping: changing the owner of a file needs root, and this test runs as uid", os.Geteuid())
			}
			a.swap("v2")
			if err := tt.prepare(a.bin); err != nil {
				t.Fatal(err)
			}
			refused++
			code, body, err := a.Get("/reload")
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusInternalServerError || !strings.Contains(body, "unsafe executable") || !strings.Contains(body, tt.want) {
				t.Errorf("GET /reload = %d %q, want 500 and an unsafe executable, %s", code, body, tt.want)
			}
			a.Log.WaitFor(t, 5*time.Second, refused, "reload failed", "unsafe executable")
			if l := a.Log.Matching("reload failed", tt.want); len(l) != 1 {
				t.Errorf("log lines of the refusal: %q, want 1", l)
			}
			if w := a.worker(); w.pid != w1.pid || w.version != "v1" {
				t.Errorf("worker after the refused reload = %+v, want the old v1 worker %d", w, w1.pid)
			}
			if c := proctest.Children(a.PID); len(c) != 1 {
				t.Errorf("children of the master = %v, want only the old worker", c)
			}
			st := a.status()
			ev := st.History[len(st.History)-1]
			if ev.Kind != "reload" || ev.OK || !strings.Contains(ev.Err, tt.want) || ev.NewPID != 0 || ev.OldPID != w1.pid {
				t.Errorf("last event = %+v, want a refused reload of %d with %q", ev, w1.pid, tt.want)
			}
		})
	}
	a.T = t
	// A safe binary reloads fine afterwards.
	a.reloadIntoV2(w1.pid)
}

// TestRestartRefusesUnsafeExecutable checks that a restart, which would
// execute the binary as the master, refuses it too, before its probe runs.
func TestRestartRefusesUnsafeExecutable(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	a.swap("v2")
	if err := os.Chmod(a.bin, 0o777); err != nil {
		t.Fatal(err)
	}
	code, body, err := a.Get("/restart")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusInternalServerError || !strings.Contains(body, "baton: restart refused") || !strings.Contains(body, "mode 0777") {
		t.Errorf("GET /restart = %d %q, want 500 and the refusal", code, body)
	}
	a.Log.WaitFor(t, 5*time.Second, 1, "restart refused", "unsafe executable")
	if w := a.worker(); w.pid != w1.pid || w.version != "v1" {
		t.Errorf("worker after the refused restart = %+v, want the old v1 worker %d", w, w1.pid)
	}
	st := a.status()
	if n := countKind(st, "restart"); n != 1 || st.History[0].OK || !strings.Contains(st.History[0].Err, "unsafe executable") {
		t.Errorf("history = %+v, want one refused restart", st.History)
	}
}

// TestStrictModesOff checks the opt-out: with BATON_STRICT_MODES=0 the
// master starts a worker from a binary anyone may write.
func TestStrictModesOff(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{env: []string{proc.EnvStrictModes + "=0"}})
	w1 := a.waitServing(10 * time.Second)
	a.swap("v2")
	if err := os.Chmod(a.bin, 0o777); err != nil {
		t.Fatal(err)
	}
	if body := a.mustGet("/reload"); body != "ok" {
		t.Fatalf("GET /reload = %q, want ok", body)
	}
	if w := a.waitWorker(w1.pid, 5*time.Second); w.version != "v2" {
		t.Errorf("worker after the reload = %+v, want v2", w)
	}
	if l := a.Log.Matching("unsafe executable"); len(l) > 0 {
		t.Errorf("log: %q, want no word of it with the check off", l)
	}
}

// TestFirstStartWarnsUnsafeExecutable starts the program from a binary
// writable by others: the user ran it, so it serves, with a warning; a
// reload into it is refused.
func TestFirstStartWarnsUnsafeExecutable(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{prepare: func(bin string) {
		if err := os.Chmod(bin, 0o777); err != nil {
			t.Fatal(err)
		}
	}})
	w1 := a.waitServing(10 * time.Second)
	a.Log.WaitFor(t, 5*time.Second, 1, "unsafe executable", "mode 0777")
	a.Signal(syscall.SIGUSR1)
	a.Log.WaitFor(t, 5*time.Second, 1, "reload failed", "mode 0777")
	if w := a.worker(); w.pid != w1.pid {
		t.Errorf("worker after the refused reload = %d, want %d", w.pid, w1.pid)
	}
}
