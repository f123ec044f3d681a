package baton

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// The HTTP/2 drain in two steps, as gRPC and Envoy do it. net/http's
// Shutdown sends one GOAWAY naming the last stream the server has seen:
// the streams a client opened while that frame was on its way are
// discarded, and a client that does not retry them (h2load, curl, most
// non-Go clients) reports them as failed. So the drain first announces the
// shutdown with a GOAWAY that names the highest stream ID (2^31-1), which
// refuses nothing but stops the client from opening streams, followed by a
// PING. The client answers the PING after it has read the GOAWAY, so once
// the answer is in, every stream it opened before has arrived; only then
// does Shutdown send its GOAWAY, which now covers them all.
//
// net/http's bundled HTTP/2 server offers no way to send a frame of one's
// own, so HTTPS servers serve HTTP/2 with golang.org/x/net/http2 (the same
// code, with ServeConn public) on a connection that follows the frame
// boundaries of what the server writes and slips the two frames in
// between two frames, and watches what the client sends for the answer.

// h2AckTimeout bounds the wait for a client's answer to the announcement.
const h2AckTimeout = time.Second

// h2Announcement is a GOAWAY frame (NO_ERROR, last stream 2^31-1) and a
// PING frame carrying h2PingData.
var h2Announcement = []byte{
	0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0,
	0, 0, 8, 0x6, 0, 0, 0, 0, 0, 'b', 'a', 't', 'o', 'n', 'd', 'r', 'n',
}

var h2PingData = h2Announcement[len(h2Announcement)-8:]

// http2ClientPreface is what a client sends before its first frame.
const http2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// serveHTTP2 makes hs serve HTTP/2 over TLS on connections that can
// announce a drain.
func (s *Server) serveHTTP2(hs *http.Server) {
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(hs, h2); err != nil {
		// Only a TLS configuration without an HTTP/2 cipher fails: keep
		// net/http's own server, which would refuse the same way.
		s.Logger().Warn("baton: HTTP/2 drain announcement off", "server", s.name, "err", err)
		hs.TLSNextProto = nil
		return
	}
	hs.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		w := &h2Conn{Conn: c, in: frameScan{skip: len(http2ClientPreface)}, acked: make(chan struct{})}
		s.conns.addH2(c, w)
		// net/http passes the connection's context on the handler, as
		// it does to its own HTTP/2 server.
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		h2.ServeConn(w, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
}

// addH2 records that tc's connection speaks HTTP/2 through w, and
// announces the drain on it at once if one has begun.
func (t *connTracker) addH2(c *tls.Conn, w *h2Conn) {
	tc, _ := c.NetConn().(*trackedConn)
	if tc == nil {
		return
	}
	tc.h2.Store(true)
	tc.h2c.Store(w)
	t.mu.Lock()
	draining := t.draining
	t.mu.Unlock()
	if draining {
		w.announce()
	}
}

// announceH2 announces the drain on every HTTP/2 connection.
func (t *connTracker) announceH2() {
	t.mu.Lock()
	var ws []*h2Conn
	for c := range t.conns {
		if w := c.h2c.Load(); w != nil {
			ws = append(ws, w)
		}
	}
	t.mu.Unlock()
	for _, w := range ws {
		w.announce()
	}
}

// waitH2 waits until every HTTP/2 connection has answered the
// announcement, closed, or had h2AckTimeout to answer; or until ctx ends.
func (t *connTracker) waitH2(ctx context.Context) {
	t.mu.Lock()
	var ws []*h2Conn
	for c := range t.conns {
		if w := c.h2c.Load(); w != nil {
			ws = append(ws, w)
		}
	}
	t.mu.Unlock()
	for _, w := range ws {
		at := w.announcedAt.Load()
		if at == 0 {
			at = time.Now().UnixNano()
		}
		timer := time.NewTimer(time.Until(time.Unix(0, at).Add(h2AckTimeout)))
		select {
		case <-w.acked:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

// h2Conn is a TLS connection serving HTTP/2 that can announce a drain
// between two frames the server writes. The HTTP/2 server writes from one
// goroutine at a time and reads from one.
type h2Conn struct {
	*tls.Conn

	wmu     sync.Mutex // held while writing
	out     frameScan  // what the server wrote; under wmu
	pending atomic.Bool
	sent    bool // under wmu

	in          frameScan     // what the client sent; read goroutine only
	announcedAt atomic.Int64  // unix ns, 0 until announce
	acked       chan struct{} // closed at the answer to the PING, or at the end
	ackOnce     sync.Once
}

// announce has the announcement written at the next frame boundary. It
// does not block.
func (c *h2Conn) announce() {
	if c.announcedAt.CompareAndSwap(0, time.Now().UnixNano()) {
		c.pending.Store(true)
		go c.flushPending()
	}
}

// flushPending writes a pending announcement if no write is under way and
// the server's last frame is complete; otherwise the write under way does.
func (c *h2Conn) flushPending() {
	if c.pending.Load() && c.wmu.TryLock() {
		if c.pending.Load() && c.out.atBoundary() {
			c.sendLocked()
		}
		c.wmu.Unlock()
	}
}

func (c *h2Conn) sendLocked() error {
	c.pending.Store(false)
	if c.sent {
		return nil
	}
	c.sent = true
	_, err := c.Conn.Write(h2Announcement)
	return err
}

func (c *h2Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	n, err := c.writeLocked(p)
	c.wmu.Unlock()
	// An announcement made during the write, after its last boundary.
	c.flushPending()
	return n, err
}

func (c *h2Conn) writeLocked(p []byte) (int, error) {
	if !c.pending.Load() {
		c.out.consume(p)
		return c.Conn.Write(p)
	}
	total := 0
	for len(p) > 0 {
		if c.out.atBoundary() {
			if err := c.sendLocked(); err != nil {
				return total, err
			}
			c.out.consume(p)
			n, err := c.Conn.Write(p)
			return total + n, err
		}
		k, _ := c.out.step(p)
		n, err := c.Conn.Write(p[:k])
		total += n
		if err != nil {
			return total, err
		}
		p = p[k:]
	}
	return total, nil
}

func (c *h2Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for b := p[:n]; len(b) > 0; {
		k, ended := c.in.step(b)
		b = b[k:]
		if ended && c.in.ping && bytes.Equal(c.in.payload[:], h2PingData) {
			c.ackOnce.Do(func() { close(c.acked) })
		}
	}
	if err != nil {
		c.ackOnce.Do(func() { close(c.acked) })
	}
	return n, err
}

func (c *h2Conn) Close() error {
	err := c.Conn.Close()
	c.ackOnce.Do(func() { close(c.acked) })
	return err
}

// frameScan follows the frame boundaries of one direction of an HTTP/2
// connection, and keeps the payload of each PING acknowledgement.
type frameScan struct {
	skip    int // bytes of the client preface still to pass
	hdr     [9]byte
	nh      int // header bytes seen of the frame in progress
	left    int // payload bytes left of it
	frames  int // frames complete
	ping    bool
	payload [8]byte
}

// atBoundary reports whether the last frame is complete and at least one
// was (the server's first frame must be its SETTINGS).
func (s *frameScan) atBoundary() bool { return s.nh == 0 && s.skip == 0 && s.frames > 0 }

// consume passes p.
func (s *frameScan) consume(p []byte) {
	for len(p) > 0 {
		k, _ := s.step(p)
		p = p[k:]
	}
}

// step passes p up to the end of the preface or of the frame in progress
// and returns how many bytes it took and whether a frame ended there.
func (s *frameScan) step(p []byte) (n int, ended bool) {
	if s.skip > 0 {
		n = min(s.skip, len(p))
		s.skip -= n
		return n, false
	}
	if s.nh < len(s.hdr) {
		n = copy(s.hdr[s.nh:], p)
		s.nh += n
		if s.nh < len(s.hdr) {
			return n, false
		}
		s.left = int(s.hdr[0])<<16 | int(s.hdr[1])<<8 | int(s.hdr[2])
		// A PING (type 6) with the ACK flag.
		s.ping = s.hdr[3] == 0x6 && s.hdr[4]&0x1 != 0 && s.left == len(s.payload)
	}
	k := min(s.left, len(p)-n)
	if s.ping {
		copy(s.payload[len(s.payload)-s.left:], p[n:n+k])
	}
	s.left -= k
	n += k
	if s.left > 0 {
		return n, false
	}
	s.nh = 0
	s.frames++
	return n, true
}
