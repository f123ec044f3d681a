package baton

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connTracker follows every connection a server accepts, so that a drain
// can answer what arrives on keep-alive connections and close a connection
// only once it has stayed idle, with nothing unread, past a grace.
//
// http.Server.Shutdown closes idle connections at once: a client that sent
// a request a moment before then gets an EOF or a reset. The tracker closes
// none that has received bytes since it became idle.
type connTracker struct {
	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	holds    map[*connHold]struct{} // long-lived hijacked connections still open
	draining bool                   // beginDrain has run
	changed  chan struct{}          // signalled when conns or holds shrink
	served   atomic.Int64           // requests answered while draining
}

// connHold is a long-lived connection the tracker cannot see, such as a
// WebSocket: notify asks it to finish, force cuts it.
type connHold struct {
	notify, force func()
}

// trackedConn is a connection with its HTTP state as net/http reports it.
type trackedConn struct {
	net.Conn
	state     atomic.Int32 // http.ConnState
	since     atomic.Int64 // unix nanoseconds of accepting or of going idle
	reads     atomic.Int64 // reads that returned data
	readsIdle atomic.Int64 // reads when it last became idle
	h2        atomic.Bool
	// streamed is set by Response.Flush: the response of the current or
	// last request was a stream (SSE, long poll). A drain closes such a
	// connection as soon as it is idle, since its client reconnects
	// anyway, and waiting out the idle grace would keep the old worker.
	streamed atomic.Bool
}

// connKey is the context key of the *trackedConn of a request.
type connKey struct{}

// connContext is the http.Server ConnContext hook: it makes the tracked
// connection reachable from the request, for Response.Flush.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc := asTracked(c); tc != nil {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// asTracked returns the *trackedConn under c, or nil.
func asTracked(c net.Conn) *trackedConn {
	switch x := c.(type) {
	case *trackedConn:
		return x
	case *tls.Conn:
		tc, _ := x.NetConn().(*trackedConn)
		return tc
	}
	return nil
}

// markStreamed records that the response of the request with context ctx
// is a stream. It does not allocate.
func markStreamed(ctx context.Context) {
	if tc, ok := ctx.Value(connKey{}).(*trackedConn); ok {
		tc.streamed.Store(true)
	}
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// trackingListener registers each accepted connection with the tracker.
type trackingListener struct {
	net.Listener
	t *connTracker
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c}
	tc.since.Store(time.Now().UnixNano())
	l.t.mu.Lock()
	if l.t.conns == nil {
		l.t.conns = make(map[*trackedConn]struct{})
	}
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

// state is the http.Server ConnState hook.
func (t *connTracker) state(c net.Conn, st http.ConnState) {
	var tc *trackedConn
	switch x := c.(type) {
	case *trackedConn:
		tc = x
	case *tls.Conn:
		tc, _ = x.NetConn().(*trackedConn)
		if st == http.StateActive && tc != nil && !tc.h2.Load() && x.ConnectionState().NegotiatedProtocol == "h2" {
			tc.h2.Store(true)
		}
	}
	if tc == nil {
		return
	}
	switch st {
	case http.StateActive:
		tc.streamed.Store(false)
	case http.StateIdle:
		// The drain reads since only for idle and new connections (the
		// latter from Accept), so the clock is read once per request.
		tc.readsIdle.Store(tc.reads.Load())
		tc.since.Store(time.Now().UnixNano())
	}
	tc.state.Store(int32(st))
	if st == http.StateIdle && tc.streamed.Load() {
		// Wake a drain at once: a stream that just ended is closed
		// without the idle grace.
		t.mu.Lock()
		t.signalLocked()
		t.mu.Unlock()
	}
	if st == http.StateClosed || st == http.StateHijacked {
		t.mu.Lock()
		delete(t.conns, tc)
		t.signalLocked()
		t.mu.Unlock()
	}
}

func (t *connTracker) signalLocked() {
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
}

// hold registers a long-lived connection (a WebSocket) that a drain waits
// for. notify is called once when the drain starts, or at once if it has
// already started; force is called if the drain deadline passes while the
// connection is held. Neither may block: they run on the drain's
// goroutine, or on the caller's. The returned func releases the hold and
// may be called more than once.
func (t *connTracker) hold(notify, force func()) (release func()) {
	h := &connHold{notify: notify, force: force}
	t.mu.Lock()
	if t.holds == nil {
		t.holds = make(map[*connHold]struct{})
	}
	t.holds[h] = struct{}{}
	draining := t.draining
	t.mu.Unlock()
	if draining {
		notify()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			delete(t.holds, h)
			t.signalLocked()
			t.mu.Unlock()
		})
	}
}

// beginDrain marks the tracker draining and notifies every hold. Holds
// registered later are notified by hold itself.
func (t *connTracker) beginDrain() {
	t.mu.Lock()
	if t.draining {
		t.mu.Unlock()
		return
	}
	t.draining = true
	notify := make([]func(), 0, len(t.holds))
	for h := range t.holds {
		notify = append(notify, h.notify)
	}
	t.mu.Unlock()
	for _, f := range notify {
		f()
	}
}

// forceHolds cuts every connection still held and returns how many.
func (t *connTracker) forceHolds() int {
	t.mu.Lock()
	force := make([]func(), 0, len(t.holds))
	for h := range t.holds {
		force = append(force, h.force)
	}
	t.mu.Unlock()
	for _, f := range force {
		f()
	}
	return len(force)
}

// drain closes HTTP/1 connections as they become idle past grace (at
// once, for one whose last response was a stream) and returns when none is
// left (HTTP/2 ones are left to http.Server.Shutdown) and every hold is
// released, or when ctx ends; then it forces the holds left. It returns the
// number of requests answered during the drain and of holds forced.
func (t *connTracker) drain(ctx context.Context, grace time.Duration) (served int64, forced int) {
	start := time.Now().UnixNano()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		left := len(t.holds)
		now := time.Now().UnixNano()
		for c := range t.conns {
			if c.h2.Load() {
				continue
			}
			left++
			st := http.ConnState(c.state.Load())
			if st != http.StateNew && st != http.StateIdle {
				continue
			}
			since := max(c.since.Load(), start)
			if (now-since < int64(grace) && !c.streamed.Load()) || c.reads.Load() != c.readsIdle.Load() || pendingBytes(c.Conn) != 0 {
				continue
			}
			// Idle past the grace (or after a stream) with nothing
			// received: the client is not sending, so closing loses nothing.
			c.Conn.Close()
		}
		var changed chan struct{}
		if left > 0 {
			if t.changed == nil {
				t.changed = make(chan struct{})
			}
			changed = t.changed
		}
		t.mu.Unlock()
		if left == 0 {
			return t.served.Load(), 0
		}
		select {
		case <-ctx.Done():
			return t.served.Load(), t.forceHolds()
		case <-changed:
		case <-tick.C:
		}
	}
}

// serveConn is the handler the http.Server runs: during a drain it asks
// HTTP/1 clients to close after the response.
func (s *Server) serveConn(w http.ResponseWriter, req *http.Request) {
	if s.draining.Load() {
		if req.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		s.conns.served.Add(1)
	}
	s.ServeHTTP(w, req)
}
