package proc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/baton-go/baton/proc"
)

// TestInitStandalone checks that a test binary serves by itself: Init
// returns no Worker and no error, and the same result on every call.
func TestInitStandalone(t *testing.T) {
	for range 2 {
		w, err := proc.Init(proc.Options{})
		if w != nil || err != nil {
			t.Fatalf("Init() = %v, %v; want nil, nil", w, err)
		}
	}
}

func TestNilWorker(t *testing.T) {
	var w *proc.Worker
	if _, err := w.Listen("k", "tcp", ":0"); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Listen = %v, want ErrNoMaster", err)
	}
	if err := w.Ready(proc.ReadyInfo{}); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Ready = %v, want ErrNoMaster", err)
	}
	if err := w.Reload(context.Background(), "test"); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Reload = %v, want ErrNoMaster", err)
	}
	if err := w.Restart("test"); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Restart = %v, want ErrNoMaster", err)
	}
	if err := w.Shutdown("test"); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Shutdown = %v, want ErrNoMaster", err)
	}
	if _, err := w.Status(context.Background()); !errors.Is(err, proc.ErrNoMaster) {
		t.Errorf("Status = %v, want ErrNoMaster", err)
	}
	if w.Draining() != nil || w.Generation() != 0 {
		t.Errorf("Draining, Generation = %v, %d; want nil, 0", w.Draining(), w.Generation())
	}
	w.Fail(errors.New("x"))
}

func TestReloadError(t *testing.T) {
	err := error(&proc.ReloadError{PID: 1234, Cause: "exited with status 3", Err: proc.ErrWorkerExited})
	if got, want := err.Error(), "baton: reload: new worker 1234: exited with status 3"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, proc.ErrWorkerExited) || errors.Is(err, proc.ErrReloadTimeout) {
		t.Errorf("errors.Is on %v does not match its cause only", err)
	}
}

// Example shows the worker side as baton drives it. The process that runs
// this becomes the master inside proc.Init and never gets past it; its
// workers run the rest.
func Example() {
	w, err := proc.Init(proc.Options{})
	if err != nil || w == nil {
		return // no master: serve by yourself
	}
	ln, err := w.Listen("default/http/0/:8199", "tcp", ":8199")
	if err != nil {
		w.Fail(err)
		return
	}
	// ... serve on ln ...
	if err := w.Ready(proc.ReadyInfo{}); err != nil {
		return
	}
	<-w.Draining()
	ln.Close()
	// ... finish in-flight requests, then exit 0 ...
}
