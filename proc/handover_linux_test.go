package proc_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// TestRestartKeepsWorkerUntilReady restarts into a binary that passes the
// start probe and then panics in every worker. The worker from before the
// restart never stopped accepting: it goes on serving under the new
// master, which records the failed restart; a reload into a good binary
// then replaces it as usual.
func TestRestartKeepsWorkerUntilReady(t *testing.T) {
	t.Parallel()
	a := startApp(t, appConfig{})
	w1 := a.waitServing(10 * time.Second)
	a.swap("panic")
	stop := a.hammer()
	a.Signal(syscall.SIGUSR2)
	a.Log.WaitFor(t, 10*time.Second, 1, "worker failed after restart, the old worker goes on serving")
	if w := a.worker(); w.pid != w1.pid {
		t.Errorf("after the failed restart %+v serves, want the old worker %d", w, w1.pid)
	}
	ok, errs := stop()
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed across the failed restart, first: %v", len(errs), ok+len(errs), errs[0])
	}
	if got := a.Log.Matching("master started", "restarted=true"); len(got) != 1 {
		t.Errorf("master re-executions logged: %q, want 1", got)
	}
	st := a.status()
	if st.WorkerPID != w1.pid {
		t.Errorf("status worker = %d, want %d", st.WorkerPID, w1.pid)
	}
	if len(st.History) != 1 || st.History[0].Kind != "restart" || st.History[0].OK {
		t.Errorf("history = %+v, want one failed restart", st.History)
	}
	a.reloadIntoV2(w1.pid)
	proctest.WaitGone(t, w1.pid, 10*time.Second)
	proctest.CheckNoZombies(t, a.PID)
}
