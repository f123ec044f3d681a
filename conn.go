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
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	holds   int           // long-lived hijacked connections still open
	changed chan struct{} // signalled when conns or holds shrink
	served  atomic.Int64  // requests answered while draining
}

// trackedConn is a connection with its HTTP state as net/http reports it.
type trackedConn struct {
	net.Conn
	state     atomic.Int32 // http.ConnState
	since     atomic.Int64 // unix nanoseconds of the last state change
	reads     atomic.Int64 // reads that returned data
	readsIdle atomic.Int64 // reads when it last became idle
	h2        atomic.Bool
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
	if st == http.StateIdle {
		tc.readsIdle.Store(tc.reads.Load())
	}
	tc.since.Store(time.Now().UnixNano())
	tc.state.Store(int32(st))
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
// for; the returned func releases it and may be called more than once.
func (t *connTracker) hold() (release func()) {
	t.mu.Lock()
	t.holds++
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			t.holds--
			t.signalLocked()
			t.mu.Unlock()
		})
	}
}

// drain closes HTTP/1 connections as they become idle past grace and
// returns when none is left (HTTP/2 ones are left to http.Server.Shutdown)
// and every hold is released, or when ctx ends. It returns the number of
// requests answered during the drain.
func (t *connTracker) drain(ctx context.Context, grace time.Duration) int64 {
	start := time.Now().UnixNano()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		left := t.holds
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
			if now-since < int64(grace) || c.reads.Load() != c.readsIdle.Load() || pendingBytes(c.Conn) != 0 {
				continue
			}
			// Idle past the grace with nothing received: the client is not
			// sending, so closing loses nothing.
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
			return t.served.Load()
		}
		select {
		case <-ctx.Done():
			return t.served.Load()
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
