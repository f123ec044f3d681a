package baton

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
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

// Read deadlines.
//
// With read-header, read and idle timeouts set, net/http moves a
// connection's read deadline three times per request, each time to a point
// seconds ahead. Each such move re-arms a runtime timer, and may wake the
// network poller to do so: over loopback that cost a tenth of the CPU of a
// small request. A tracked connection keeps a deadline at least
// lazyDeadline ahead as a number instead, and the tracker's sweeper, which
// runs every sweepTick while the server has connections, cuts the reads of
// a connection whose deadline has passed by setting a past deadline on its
// socket. Such a deadline fires up to a sweepTick late. A nearer deadline,
// a past one (net/http's way to interrupt a read) and any deadline on a
// hijacked connection go to the socket at once.
const (
	lazyDeadline = time.Second
	sweepTick    = 100 * time.Millisecond
)

// Header and idle timeouts.
//
// net/http enforces a header and an idle timeout with a read deadline
// computed from time.Now at each request, twice per request on top of the
// clock readings it always makes; under load each costs about what
// formatting an access line does. On plain HTTP/1 connections the tracker
// enforces them instead, from the state changes and reads it sees anyway,
// without reading the clock: a connection that goes idle, or receives its
// first bytes while idle, stores what it waits for (waitIdle, waitHeader)
// in wait, and the next sweep turns that into a deadline counted from its
// own time, which is after the event. A deadline so set fires up to two
// sweepTicks late, never early. A new connection has its header deadline
// from the time of its accept, as net/http has.
//
// The read timeout stays with net/http, which computes it from a clock
// reading it makes in any case.
type waitFor int64

const (
	waitIdle   waitFor = -1 // idle since a moment before the next sweep
	waitHeader waitFor = -2 // reading headers since then
)

// SetReadDeadline sets the read deadline, keeping a far one for the
// sweeper.
func (c *trackedConn) SetReadDeadline(d time.Time) error {
	if c.direct.Load() {
		return c.Conn.SetReadDeadline(d)
	}
	// A store to an atomic is a locked instruction, costly at a few
	// per request: values already in place are not stored again.
	var by int64
	if !d.IsZero() {
		by = unixNano(d)
		if by-c.t.now.Load() < int64(lazyDeadline) {
			c.dmu.Lock()
			if c.readBy.Load() != 0 {
				c.readBy.Store(0)
			}
			if c.cut.Load() {
				c.cut.Store(false)
			}
			if !c.onSocket.Load() {
				c.onSocket.Store(true)
			}
			err := c.Conn.SetReadDeadline(d)
			c.dmu.Unlock()
			return err
		}
	}
	if c.readBy.Load() != by {
		c.readBy.Store(by)
	}
	if !c.onSocket.Load() {
		return nil
	}
	c.dmu.Lock()
	var err error
	if c.onSocket.Load() {
		if c.cut.Load() {
			c.cut.Store(false)
		}
		c.onSocket.Store(false)
		err = c.Conn.SetReadDeadline(time.Time{})
	}
	c.dmu.Unlock()
	return err
}

// SetDeadline sets the read and write deadlines.
func (c *trackedConn) SetDeadline(d time.Time) error {
	if err := c.SetReadDeadline(d); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(d)
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for n == 0 && err != nil && c.cut.Load() && c.uncut(err) {
		n, err = c.Conn.Read(p)
	}
	if n > 0 && c.quiet.Load() {
		// The first bytes since the connection was accepted or went
		// idle. If idle, the next request's headers are now due within
		// the header timeout; a new connection's are due from its accept.
		c.quiet.Store(false)
		if c.headerTimeout > 0 && http.ConnState(c.state.Load()) == http.StateIdle {
			c.wait.Store(int64(waitHeader))
		}
	}
	return n, err
}

// cutRead makes reads fail if one of the connection's deadlines the
// sweeper enforces (a far read deadline, a header or idle deadline) has
// passed at now.
func (c *trackedConn) cutRead(now int64) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.overdue(now) && !c.direct.Load() {
		c.cut.Store(true)
		c.onSocket.Store(true)
		c.Conn.SetReadDeadline(time.Unix(0, 1))
	}
}

// overdue reports whether the read deadline or the header or idle
// deadline has passed at now.
func (c *trackedConn) overdue(now int64) bool {
	by, w := c.readBy.Load(), c.wait.Load()
	return (by != 0 && by <= now) || (w > 0 && w <= now)
}

// uncut undoes a cut that a later deadline has made early, as when the
// sweeper read a deadline just as net/http moved it. It reports whether a
// read that failed with err should be tried again.
func (c *trackedConn) uncut(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if !c.cut.Load() {
		return false
	}
	if c.overdue(time.Now().UnixNano()) {
		return false
	}
	c.cut.Store(false)
	c.onSocket.Store(false)
	c.Conn.SetReadDeadline(time.Time{})
	return true
}

// hijacked hands the read deadline to the socket for good: the tracker no
// longer sees the connection.
func (c *trackedConn) hijacked() {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.direct.Store(true)
	c.wait.Store(0)
	if by := c.readBy.Swap(0); by != 0 {
		c.Conn.SetReadDeadline(time.Unix(0, by))
	} else if c.cut.Load() {
		c.Conn.SetReadDeadline(time.Time{})
	}
	c.cut.Store(false)
}

// unixNano is d in Unix nanoseconds, limited to what an int64 holds.
func unixNano(d time.Time) int64 {
	switch s := d.Unix(); {
	case s >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case s < 0:
		return 1 // long past
	}
	return d.UnixNano()
}

// Send timeout.
//
// A client that stops reading leaves the server's write blocked for as
// long as the connection lives. Rather than a write deadline moved at
// every write, which would re-arm a timer each time (see Read
// deadlines), a tracked connection counts the writes it begins and ends
// in one atomic, and the sweeper closes a connection that has had a
// write under way with no progress for sendTimeout, so that the write
// fails, and so does any later one. This holds for hijacked connections
// too, whatever write deadlines their owner sets.
//
// Progress is a write that ends or, where the kernel tells (Linux), a
// byte the client acknowledges: the kernel lets a blocked write go on
// only once a third of the socket's buffer has drained, which takes a
// slow client long on a buffer of megabytes. The sweeper asks the kernel
// only about a connection whose write has stayed the same from one sweep
// to the next. A write is passed on in pieces of at most sendChunk
// bytes, each counted (on TLS a piece is a record), so that elsewhere a
// client must take that much, or the third of the buffer, within
// sendTimeout.
//
// The sweeper sees a write a sweep after it began at the latest, and
// progress a sweep after it happened, so a cut comes up to three
// sweepTicks late, never early.
const (
	sendChunk  = 64 << 10
	writeBegin = 1         // adds one to the writes under way, the low half
	writeEnd   = 1<<32 - 1 // takes one from them and adds one to the high half
	noAck      = math.MaxUint64
)

// Write writes p, counting each piece for the sweeper's send timeout.
func (c *trackedConn) Write(p []byte) (int, error) {
	if c.sendTimeout == 0 {
		return c.Conn.Write(p)
	}
	n := 0
	for {
		piece := p
		if len(piece) > sendChunk {
			piece = piece[:sendChunk]
		}
		c.writes.Add(writeBegin)
		m, err := c.Conn.Write(piece)
		c.writes.Add(writeEnd)
		n += m
		p = p[m:]
		if err != nil || len(p) == 0 {
			return n, err
		}
	}
}

// stalled reports whether a write has been under way without progress
// for the send timeout at now. Only the sweeper calls it.
func (c *trackedConn) stalled(now int64) bool {
	w := c.writes.Load()
	if w != c.sendSeen {
		c.sendSeen, c.sendSince, c.ackSeen = w, now, noAck
		return false
	}
	if uint32(w) == 0 {
		return false
	}
	// The same write since the last sweep at least: the client may still
	// be taking it, if slowly.
	if acked, ok := bytesAcked(c.Conn); ok && acked != c.ackSeen {
		c.ackSeen, c.sendSince = acked, now
		return false
	}
	return now-c.sendSince >= int64(c.sendTimeout)
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

// sweep cuts the reads of connections whose far deadline has passed, sets
// the header and idle deadlines of those that wait for one, and closes
// those whose writes have stalled past the send timeout, every sweepTick
// until the tracker has no connection left.
func (t *connTracker) sweep() {
	tick := time.NewTicker(sweepTick)
	defer tick.Stop()
	var due, stalled []*trackedConn
	for range tick.C {
		now := time.Now().UnixNano()
		t.now.Store(now)
		t.mu.Lock()
		if len(t.conns) == 0 && len(t.hijacked) == 0 {
			t.sweeping = false
			t.mu.Unlock()
			return
		}
		for c := range t.hijacked {
			if c.stalled(now) {
				stalled = append(stalled, c)
			}
		}
		for c := range t.conns {
			if c.sendTimeout > 0 && c.stalled(now) {
				stalled = append(stalled, c)
				continue
			}
			if w := c.wait.Load(); w < 0 {
				d := c.idleTimeout
				if waitFor(w) == waitHeader {
					d = c.headerTimeout
				}
				// Unless the connection moved on meanwhile.
				c.wait.CompareAndSwap(w, now+int64(d))
			}
			if c.overdue(now) {
				due = append(due, c)
			}
		}
		t.mu.Unlock()
		for i, c := range due {
			c.cutRead(now)
			due[i] = nil
		}
		due = due[:0]
		for i, c := range stalled {
			c.Close()
			stalled[i] = nil
		}
		stalled = stalled[:0]
	}
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
	t.exact.Store(true)
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
			if (now-since < int64(grace) && !c.streamed.Load()) || !c.quiet.Load() || pendingBytes(c.Conn) != 0 {
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
