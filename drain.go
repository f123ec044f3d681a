package baton

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// The drain of a server: it stops accepting, asks streams, WebSockets and
// OnDrain hooks to finish, answers what still arrives on keep-alive
// connections, closes connections idle past the grace, and gives up at the
// drain timeout.

// Shutdown stops the server gracefully: it stops accepting, answers the
// requests in flight and those still arriving on open keep-alive connections
// (with Connection: close), closes connections once idle (streams at once),
// sends every WebSocket a close frame with code 1012, tells hijacked
// connections registered with OnDrain to finish, and returns when all are
// done or the drain timeout has passed; WebSockets still open then are cut. Calling it from a handler blocks
// that handler until the drain timeout: use go s.Shutdown() there.
func (s *Server) Shutdown() error {
	return s.drain(context.Background())
}

// Draining returns a channel that is closed when the server starts to
// drain, during a reload or a shutdown. It is the signal for the handler
// of a long-lived stream (Server-Sent Events, a long poll, any response
// that called Flush) to send a final event and return:
//
//	for {
//		select {
//		case <-r.Server.Draining():
//			r.Response.Write("event: bye\ndata: restarting\n\n")
//			r.Response.Flush()
//			return
//		case <-r.Context().Done():
//			return
//		case t := <-tick.C:
//			r.Response.Writef("data: %s\n\n", t.Format(time.RFC3339))
//			r.Response.Flush()
//		}
//	}
//
// The client reconnects, to the new worker after a reload (EventSource
// does so by itself). A connection whose response was streamed is closed
// as soon as the handler returns, without the idle grace, so that the old
// worker exits as soon as its last stream has ended. A stream that starts
// during the drain (its client reused a keep-alive connection to the old
// worker) finds the channel closed at once; it may just tell the client to
// come back, as examples/sse does. WebSockets need no such code: see
// Request.WebSocket.
func (s *Server) Draining() <-chan struct{} { return s.drainCh }

// IsDraining reports whether the server has started to drain.
func (s *Server) IsDraining() bool { return s.draining.Load() }

// OnDrain registers f to run when the server starts to drain. Use it for
// connections the server cannot see, such as hijacked ones.
func (s *Server) OnDrain(f func()) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	s.onDrain = append(s.onDrain, f)
}

func (s *Server) drainTimeout() time.Duration {
	return drainTimeoutOf(s.Config())
}

// beginDrain stops accepting, marks the server draining, asks every
// WebSocket to close (1012) and runs the OnDrain hooks. It returns at
// once; later calls do nothing.
func (s *Server) beginDrain() {
	s.mu.Lock()
	if s.state != stateRunning {
		s.mu.Unlock()
		return
	}
	s.state = stateDraining
	lns := s.lns
	s.mu.Unlock()
	s.drainStart = time.Now()
	s.Logger().Info("baton: draining", "server", s.name, "pid", s.pid)
	s.draining.Store(true)
	for _, l := range lns {
		l.Close()
	}
	close(s.drainCh)
	s.conns.beginDrain()
	s.conns.announceH2()
	s.drainMu.Lock()
	hooks := append([]func(){}, s.onDrain...)
	s.drainMu.Unlock()
	for _, f := range hooks {
		f()
	}
}

// drain implements Shutdown; ctx may end it early.
func (s *Server) drain(ctx context.Context) error {
	s.mu.Lock()
	if s.state == stateNew {
		s.state = stateStopped
		s.finished.Do(func() { close(s.done) })
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.beginDrain()
	s.finished.Do(func() {
		s.stopErr = s.finishDrain(ctx)
		s.mu.Lock()
		s.state = stateStopped
		s.mu.Unlock()
		stderrLog.Flush() // the access log of the last requests
		close(s.done)
		unregisterRunning(s)
	})
	<-s.done
	return s.stopErr
}

// finishDrain waits for the connections of a draining server.
func (s *Server) finishDrain(ctx context.Context) error {
	cfg := s.Config()
	timeout := drainTimeoutOf(cfg)
	ctx, cancel := context.WithDeadline(ctx, s.drainStart.Add(timeout))
	defer cancel()
	// NOTE: stop accepting first. A connection the kernel handed over as
	// the listener closed reaches the tracker only when Serve's Accept
	// returns it; a tracker that looked before then would find nothing
	// left, and http.Server.Shutdown would drop the request it reads on
	// that connection (the client sees an EOF). Once Serve has returned
	// for every listener, every accepted connection is tracked, and
	// Shutdown does not close the listeners again (and report that as an
	// error).
	s.serveWG.Wait()
	served, forced := s.conns.drain(ctx, orDefault(cfg.IdleGrace, DefaultIdleGrace))
	if forced > 0 {
		s.Logger().Warn("baton: drain timeout: closed WebSockets that did not finish", "server", s.name, "pid", s.pid,
			"websockets", forced, "timeout", timeout)
	}
	// HTTP/2 connections are left to Shutdown, which sends them GOAWAY and
	// waits for their streams, once their clients have seen the
	// announcement beginDrain sent.
	s.conns.waitH2(ctx)
	var err error
	var serr error
	for _, hs := range s.httpSrvs {
		if e := hs.Shutdown(ctx); e != nil && serr == nil {
			serr = e
		}
	}
	if serr != nil && ctx.Err() != nil {
		for _, hs := range s.httpSrvs {
			hs.Close()
		}
		err = fmt.Errorf("baton: server %q: drain timeout %v passed with connections open: %w", s.name, timeout, ctx.Err())
	} else if serr != nil {
		s.Logger().Warn("baton: shutdown", "server", s.name, "err", serr)
	} else if forced > 0 {
		err = fmt.Errorf("baton: server %q: drain timeout %v passed with %d WebSockets open: %w", s.name, timeout, forced, context.DeadlineExceeded)
	}
	if s.certW != nil {
		s.certW.Close()
	}
	s.Logger().Info("baton: stopped", "server", s.name, "pid", s.pid, "drained", served,
		"took", time.Since(s.drainStart).Round(time.Millisecond))
	return err
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
