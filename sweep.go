package baton

import (
	"errors"
	"math"
	"net/http"
	"os"
	"time"
)

// The sweeper of a server's tracked connections: the read deadlines and the
// header and idle timeouts it enforces for net/http, and the send timeout.

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
