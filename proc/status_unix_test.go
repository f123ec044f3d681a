//go:build unix && !aix

package proc

import (
	"syscall"
	"testing"
	"testing/synctest"
)

// TestStatusAskedByAWorkerJustReady has a worker ask for the status at
// once after its ready, as a handler of a worker that already serves may:
// the answer must name that worker as the serving one, with the event of
// its start, not the state from before the master took the ready.
func TestStatusAskedByAWorkerJustReady(t *testing.T) {
	tests := []struct {
		name  string
		kind  string // the event of the start, "" for the first worker
		start func(h *harness) *child
	}{
		{name: "first worker", start: func(h *harness) *child { return h.next() }},
		{name: "reload", kind: "reload", start: func(h *harness) *child {
			h.serving()
			h.request(msgReload, "test", false)
			return h.next()
		}},
		{name: "respawn", kind: "respawn", start: func(h *harness) *child {
			old := h.serving()
			h.f.exit(old, syscall.WaitStatus(2<<8), "")
			return h.next()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, nil)
				c := tt.start(h)
				h.ready(c, ReadyInfo{})
				h.m.dispatch(c, &message{Type: msgStatus, ID: 7})
				synctest.Wait()
				var st *Status
				for _, m := range h.f.sent(c, msgReply) {
					if m.ID == 7 {
						st = m.Status
					}
				}
				if st == nil {
					t.Fatal("no status reply")
				}
				if st.WorkerPID != c.pid || st.Generation != c.gen {
					t.Errorf("status names worker %d generation %d, want the one asking, %d generation %d",
						st.WorkerPID, st.Generation, c.pid, c.gen)
				}
				if tt.kind == "" {
					return
				}
				if n := len(st.History); n == 0 || st.History[n-1].Kind != tt.kind || st.History[n-1].NewPID != c.pid || !st.History[n-1].OK {
					t.Errorf("status history %+v, want it to end with the %s to %d", st.History, tt.kind, c.pid)
				}
			})
		})
	}
}
