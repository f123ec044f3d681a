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
	holds    map[*connHold]struct{}    // long-lived hijacked connections still open
	hijacked map[*trackedConn]struct{} // hijacked connections with a send timeout, until closed
	draining bool                      // beginDrain has run
	changed  chan struct{}             // signalled when conns or holds shrink
	served   atomic.Int64              // requests answered while draining
	now      atomic.Int64              // unix ns of the last sweep, or of starting the sweeper
	exact    atomic.Bool               // a drain runs: note idle times exactly
	sweeping bool                      // the sweeper runs
}

// connHold is a long-lived connection the tracker cannot see, such as a
// WebSocket: notify asks it to finish, force cuts it.
type connHold struct {
	notify, force func()
}

// trackedConn is a connection with its HTTP state as net/http reports it.
type trackedConn struct {
	net.Conn
	state atomic.Int32 // http.ConnState
	since atomic.Int64 // unix nanoseconds of accepting or of going idle
	quiet atomic.Bool  // new or idle, and nothing read since
	h2    atomic.Bool
	h2c   atomic.Pointer[h2Conn] // HTTPS served over HTTP/2; see h2drain.go
	// streamed is set by Response.Flush: the response of the current or
	// last request was a stream (SSE, long poll). A drain closes such a
	// connection as soon as it is idle, since its client reconnects
	// anyway, and waiting out the idle grace would keep the old worker.
	streamed atomic.Bool

	// Read deadlines; see SetReadDeadline.
	t        *connTracker
	readBy   atomic.Int64 // unix ns of a far deadline the sweeper enforces, 0 for none
	onSocket atomic.Bool  // the socket has a read deadline
	direct   atomic.Bool  // hijacked: deadlines go to the socket as they come
	dmu      sync.Mutex   // held to change the socket's read deadline
	cut      atomic.Bool  // the sweeper set the socket's deadline (changed under dmu)

	// The header and idle timeouts, when the tracker enforces them (on
	// plain HTTP/1 connections); see waitFor.
	headerTimeout, idleTimeout time.Duration
	wait                       atomic.Int64 // a deadline, a waitFor, or 0

	// The send timeout, 0 for none; see Write.
	sendTimeout time.Duration
	writes      atomic.Uint64 // writes begun and ended, as writeBegin and writeEnd add
	// What the sweeper saw of writes, and its time then; only the
	// sweeper's goroutine uses them.
	sendSeen  uint64
	sendSince int64
	ackSeen   uint64 // bytes the client had acknowledged, or noAck
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

// Close closes the connection and, if it was hijacked, stops sweeping it.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	if c.direct.Load() && c.t != nil {
		c.t.mu.Lock()
		delete(c.t.hijacked, c)
		c.t.mu.Unlock()
	}
	return err
}

// trackingListener registers each accepted connection with the tracker.
type trackingListener struct {
	net.Listener
	t *connTracker
	// The header and idle timeouts the tracker enforces on the
	// connections; 0 leaves one to net/http.
	headerTimeout, idleTimeout time.Duration
	sendTimeout                time.Duration // 0 for none
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t, headerTimeout: l.headerTimeout, idleTimeout: l.idleTimeout,
		sendTimeout: l.sendTimeout}
	now := time.Now().UnixNano()
	tc.since.Store(now)
	tc.quiet.Store(true)
	if tc.headerTimeout > 0 {
		tc.wait.Store(now + int64(tc.headerTimeout))
	}
	l.t.mu.Lock()
	if l.t.conns == nil {
		l.t.conns = make(map[*trackedConn]struct{})
	}
	l.t.conns[tc] = struct{}{}
	if !l.t.sweeping {
		l.t.sweeping = true
		l.t.now.Store(now)
		go l.t.sweep()
	}
	l.t.mu.Unlock()
	return tc, nil
}

// state is the http.Server ConnState hook.
func (t *connTracker) state(c net.Conn, st http.ConnState) {
	var tc *trackedConn
	switch x := c.(type) {
	case *trackedConn:
		tc = x
	case *h2Conn: // x/net's HTTP/2 server reports the connection it serves
		tc, _ = x.NetConn().(*trackedConn)
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
		if tc.streamed.Load() { // no store, a locked instruction, without need
			tc.streamed.Store(false)
		}
		if tc.wait.Load() != 0 {
			tc.wait.Store(0) // the headers are in
		}
	case http.StateIdle:
		tc.quiet.Store(true)
		if tc.idleTimeout > 0 {
			tc.wait.Store(int64(waitIdle))
		} else if tc.wait.Load() != 0 {
			tc.wait.Store(0)
		}
		// The drain reads since only for idle and new connections (the
		// latter from Accept), and counts from its own start the idle
		// time of a connection that went idle before it: until a drain
		// runs, the time of the last sweep does, saving a clock read.
		if t.exact.Load() {
			tc.since.Store(time.Now().UnixNano())
		} else if now := t.now.Load(); tc.since.Load() != now {
			tc.since.Store(now)
		}
	}
	tc.state.Store(int32(st))
	if st == http.StateIdle && tc.streamed.Load() {
		// Wake a drain at once: a stream that just ended is closed
		// without the idle grace.
		t.mu.Lock()
		t.signalLocked()
		t.mu.Unlock()
	}
	if st == http.StateHijacked {
		tc.hijacked()
	}
	if st == http.StateClosed || st == http.StateHijacked {
		t.mu.Lock()
		delete(t.conns, tc)
		if st == http.StateHijacked && tc.sendTimeout > 0 {
			if t.hijacked == nil {
				t.hijacked = make(map[*trackedConn]struct{})
			}
			t.hijacked[tc] = struct{}{}
		}
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
