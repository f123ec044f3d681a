//go:build unix && !aix

package proc

import (
	"errors"
	"testing"
	"time"
)

func TestRespawnDelay(t *testing.T) {
	want := []string{"0s", "100ms", "200ms", "400ms", "800ms", "1.6s", "3.2s", "5s", "5s"}
	for n, w := range want {
		if got := respawnDelay(n).String(); got != w {
			t.Errorf("respawnDelay(%d) = %s, want %s", n, got, w)
		}
	}
	if got := respawnDelay(1000); got != respawnBackoffMax {
		t.Errorf("respawnDelay(1000) = %s, want %s", got, respawnBackoffMax)
	}
}

func TestHistoryKeepsLast50(t *testing.T) {
	m := &master{}
	for i := range 60 {
		m.record(Event{Kind: "reload", Generation: i})
	}
	st := m.history
	if len(st) != maxHistory || st[0].Generation != 10 || st[len(st)-1].Generation != 59 {
		t.Errorf("history has %d events, %d..%d; want 50, 10..59", len(st), st[0].Generation, st[len(st)-1].Generation)
	}
}

// TestQueue checks how requests that arrive during a reload are kept: reloads
// join the follow-up reload, a shutdown wins over a restart, and a shutdown
// refuses everything else.
func TestQueue(t *testing.T) {
	var answers []string
	req := func(kind, name string) request {
		return request{kind: kind, trigger: name, at: time.Now(), reply: func(err error) {
			s := name + ":ok"
			if errors.Is(err, ErrShuttingDown) {
				s = name + ":refused"
			} else if err != nil {
				s = name + ":" + err.Error()
			}
			answers = append(answers, s)
		}}
	}
	m := &master{}
	m.queue(req(msgReload, "r1"))
	m.queue(req(msgRestart, "restart1"))
	m.queue(req(msgReload, "r2"))
	m.queue(req(msgRestart, "restart2"))
	if len(m.pending) != 2 || m.stash == nil || m.stash.trigger != "restart1" {
		t.Fatalf("pending %d, stash %+v; want 2 reloads and restart1", len(m.pending), m.stash)
	}
	m.queue(req(msgShutdown, "stop"))
	m.queue(req(msgReload, "r3"))
	m.queue(req(msgRestart, "restart3"))
	if len(m.pending) != 0 || m.stash == nil || m.stash.trigger != "stop" {
		t.Errorf("pending %d, stash %+v; want none and the shutdown", len(m.pending), m.stash)
	}
	want := []string{"restart2:ok", "restart1:refused", "r1:refused", "r2:refused", "r3:refused", "restart3:refused"}
	if len(answers) != len(want) {
		t.Fatalf("answers %q, want %q", answers, want)
	}
	for i := range want {
		if answers[i] != want[i] {
			t.Errorf("answers %q, want %q", answers, want)
			break
		}
	}
}
