//go:build unix && !aix

// This file holds the worker's side of a canary reload: the accept gate
// that steers the share of new connections between the two generations
// on the same socket, and the reports of the worker's figures to the
// master.
//
// Both workers hold duplicates of the same listening socket, so the
// kernel has one accept queue for them, and whichever calls accept first
// gets the connection. The gate divides time instead: each CanarySlot
// (100ms) is cut at Share, the new worker accepts in the first part and
// the old one in the rest, each with a millisecond of overlap at the cuts
// so that the queue is never left without an acceptor. Both read the same
// system clock, so they agree on the cuts without talking to each other.
// A worker outside its part waits on a timer, not in accept; one inside
// it accepts with a deadline at the end of its part. The share achieved
// is measured, not assumed: each worker counts the connections it
// accepted and the master divides.

package proc

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// canaryPart is a worker's part in canary windows.
type canaryPart struct {
	gate atomic.Pointer[acceptGate]
	obs  atomic.Pointer[CanaryObserver]
	on   func(*CanaryObserver) // Options.OnCanary

	mu   sync.Mutex    // held while a window starts or ends
	stop chan struct{} // ends the reports of the current window
}

// canaryRole is what the master tells a worker at the start and the end
// of a canary window (msgCanary).
type canaryRole struct {
	// New is true for the new worker, false for the old one.
	New bool `json:"new,omitempty"`
	// Share is the share of each slot the new worker accepts in; zero
	// ends the window: the gate opens and the figures stop.
	Share float64 `json:"share,omitempty"`
}

// acceptGate is the part of each slot in which a worker accepts: from lo
// to hi after the slot's start (lo may be negative, hi past the slot).
type acceptGate struct {
	lo, hi time.Duration
	done   chan struct{} // closed when the gate is lifted or replaced
}

// gateOverlap is how long both workers accept at each cut, so that a
// late timer never leaves the queue without an acceptor.
const gateOverlap = time.Millisecond

func newAcceptGate(r canaryRole) *acceptGate {
	cut := time.Duration(r.Share * float64(CanarySlot))
	g := &acceptGate{lo: -gateOverlap, hi: cut + gateOverlap, done: make(chan struct{})}
	if !r.New {
		g.lo, g.hi = cut-gateOverlap, CanarySlot+gateOverlap
	}
	return g
}

// next returns how long to wait until the gate opens (0 if it is open at
// now) and when it closes next.
func (g *acceptGate) next(now time.Time) (wait time.Duration, closes time.Time) {
	start := now.Add(-time.Duration(now.UnixNano() % int64(CanarySlot)))
	for k := -1; k <= 1; k++ {
		base := start.Add(time.Duration(k) * CanarySlot)
		open, shut := base.Add(g.lo), base.Add(g.hi)
		if now.Before(shut) {
			return max(open.Sub(now), 0), shut
		}
	}
	return 0, now.Add(CanarySlot) // not reached
}

// gateListener is a listener of a worker under the accept gate. Without
// a canary window its Accept costs one atomic load more than the
// socket's.
type gateListener struct {
	net.Listener
	w      *Worker
	closed chan struct{}
	once   sync.Once
}

// gate wraps a listener the master handed out.
func (w *Worker) gate(ln net.Listener, err error) (net.Listener, error) {
	if err != nil {
		return nil, err
	}
	return &gateListener{Listener: ln, w: w, closed: make(chan struct{})}, nil
}

type deadliner interface{ SetDeadline(time.Time) error }

// Accept waits for the worker's part of the slot, if a canary window is
// on, and accepts.
func (l *gateListener) Accept() (net.Conn, error) {
	for {
		g := l.w.canary.gate.Load()
		dl, ok := l.Listener.(deadliner)
		if g == nil || !ok {
			c, err := l.Listener.Accept()
			if err == nil {
				l.count()
			}
			return c, err
		}
		wait, closes := g.next(time.Now())
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-g.done:
				t.Stop()
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		dl.SetDeadline(closes)
		c, err := l.Listener.Accept()
		dl.SetDeadline(time.Time{})
		if err == nil {
			l.count()
			return c, nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // the part is over
		}
		return nil, err
	}
}

func (l *gateListener) count() {
	if o := l.w.canary.obs.Load(); o != nil {
		o.conns.Add(1)
	}
}

// Close closes the socket and wakes an Accept that waits for its part.
func (l *gateListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// canaryReportEvery is how often a worker in a canary window sends its
// figures to the master.
const canaryReportEvery = 200 * time.Millisecond

// setCanary starts or ends this worker's part in a canary window.
func (w *Worker) setCanary(r *canaryRole) {
	cp := &w.canary
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if old := cp.gate.Swap(nil); old != nil {
		close(old.done)
	}
	if cp.stop != nil {
		close(cp.stop)
		cp.stop = nil
	}
	if r == nil || r.Share <= 0 {
		cp.obs.Store(nil)
		if cp.on != nil {
			cp.on(nil)
		}
		return
	}
	o := new(CanaryObserver)
	cp.obs.Store(o)
	cp.gate.Store(newAcceptGate(*r))
	if cp.on != nil {
		cp.on(o)
	}
	stop := make(chan struct{})
	cp.stop = stop
	go w.reportCanary(o, stop)
}

// reportCanary sends the figures of o to the master until stop closes or
// the worker drains.
func (w *Worker) reportCanary(o *CanaryObserver, stop <-chan struct{}) {
	t := time.NewTicker(canaryReportEvery)
	defer t.Stop()
	for {
		st := o.snapshot()
		if err := w.c.conn.send(&message{Type: msgStats, Stats: &st}, -1); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-stop:
			return
		case <-w.draining:
			return
		}
	}
}
