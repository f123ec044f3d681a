//go:build unix && !aix

package proc

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// busyExecutable copies /bin/true into a temporary directory and opens the
// copy for writing, which makes exec fail with ETXTBSY until it is closed.
func busyExecutable(t *testing.T) (string, *os.File) {
	t.Helper()
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skipf("no /bin/true to run: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "true")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(exe, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return exe, f
}

// waitChild waits for the child the reaper started (the test runs no
// reaper loop, which would wait for the test's other children too).
func waitChild(t *testing.T, c *child) {
	t.Helper()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.pid, &ws, 0, nil); err != nil {
		t.Fatalf("wait4(%d): %v", c.pid, err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("child %d ended with status %v, want exit 0", c.pid, ws)
	}
}

func TestStartWaitsForBusyExecutable(t *testing.T) {
	exe, f := busyExecutable(t)
	r := newReaper(slog.New(slog.DiscardHandler))
	c := newChild(0, 1)
	done := make(chan error, 1)
	go func() { done <- r.start(c, exe, []string{exe}, &os.ProcAttr{}) }()
	// The writer closes the file a moment later, well within busyWait.
	time.Sleep(100 * time.Millisecond)
	f.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("start of an executable closed after 100 ms: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("start still waiting 10 s after the executable was closed")
	}
	waitChild(t, c)
}

func TestStartGivesUpOnBusyExecutable(t *testing.T) {
	exe, _ := busyExecutable(t)
	r := newReaper(slog.New(slog.DiscardHandler))
	start := time.Now()
	err := r.start(newChild(0, 1), exe, []string{exe}, &os.ProcAttr{})
	if !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("start of an executable held open for writing = %v, want ETXTBSY", err)
	}
	if took := time.Since(start); took < busyWait {
		t.Errorf("gave up after %v, before busyWait (%v)", took, busyWait)
	}
}
