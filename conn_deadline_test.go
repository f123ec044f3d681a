package baton

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// trackedPair returns a tracker, the tracked server side of a loopback
// TCP connection it accepted, and the client side.
func trackedPair(t *testing.T) (*connTracker, *trackedConn, net.Conn) {
	t.Helper()
	return timedPair(t, 0, 0)
}

// timedPair is trackedPair with the tracker enforcing the given header and
// idle timeouts.
func timedPair(t *testing.T, header, idle time.Duration) (*connTracker, *trackedConn, net.Conn) {
	t.Helper()
	return sendPair(t, header, idle, 0)
}

// sendPair is timedPair with a send timeout as well.
func sendPair(t *testing.T, header, idle, send time.Duration) (*connTracker, *trackedConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tr := new(connTracker)
	tl := &trackingListener{Listener: ln, t: tr, headerTimeout: header, idleTimeout: idle, sendTimeout: send}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tl.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		c.Close()
		tr.state(c, http.StateClosed)
	})
	return tr, c.(*trackedConn), client
}

type readResult struct {
	data string
	err  error
	took time.Duration
}

// readAsync reads once from c in a goroutine.
func readAsync(c net.Conn) <-chan readResult {
	out := make(chan readResult, 1)
	start := time.Now()
	go func() {
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		out <- readResult{string(buf[:n]), err, time.Since(start)}
	}()
	return out
}

func await(t *testing.T, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked after 10 s")
		return readResult{}
	}
}

func TestFarReadDeadlineFires(t *testing.T) {
	t.Parallel()
	_, c, _ := trackedPair(t)
	wait := lazyDeadline + 200*time.Millisecond
	c.SetReadDeadline(time.Now().Add(wait))
	if c.readBy.Load() == 0 || c.onSocket.Load() {
		t.Fatalf("a deadline %v ahead went to the socket, not to the sweeper", wait)
	}
	r := await(t, readAsync(c))
	if !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a far deadline = %q, %v; want a deadline error", r.data, r.err)
	}
	if r.took < wait-10*time.Millisecond { // the read started a moment after the deadline was set
		t.Errorf("read cut after %v, before its deadline of %v", r.took, wait)
	}
}

func TestNearReadDeadlineOnSocket(t *testing.T) {
	t.Parallel()
	_, c, _ := trackedPair(t)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if c.readBy.Load() != 0 || !c.onSocket.Load() {
		t.Fatal("a deadline 200 ms ahead was kept for the sweeper, not set on the socket")
	}
	r := await(t, readAsync(c))
	if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.took < 190*time.Millisecond {
		t.Fatalf("read with a 200 ms deadline: %v after %v", r.err, r.took)
	}
}

// TestPastDeadlineInterruptsRead is what net/http does to stop its
// background read at the end of each request.
func TestPastDeadlineInterruptsRead(t *testing.T) {
	t.Parallel()
	_, c, client := trackedPair(t)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	pending := readAsync(c)
	c.SetReadDeadline(time.Unix(1, 0))
	if r := await(t, pending); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read interrupted by a past deadline = %q, %v; want a deadline error", r.data, r.err)
	}
	c.SetReadDeadline(time.Time{})
	pending = readAsync(c)
	client.Write([]byte("x"))
	if r := await(t, pending); r.err != nil || r.data != "x" {
		t.Fatalf("read after the deadline was cleared = %q, %v", r.data, r.err)
	}
}

// TestMovedDeadlineNotCut moves a far deadline later, and clears another,
// and checks that the sweeps after the first deadline leave reads alone.
func TestMovedDeadlineNotCut(t *testing.T) {
	for _, later := range []time.Duration{time.Minute, 0} {
		t.Run(later.String(), func(t *testing.T) {
			t.Parallel()
			tr, c, client := trackedPair(t)
			first := time.Now().Add(lazyDeadline + 100*time.Millisecond)
			c.SetReadDeadline(first)
			if later == 0 {
				c.SetReadDeadline(time.Time{})
			} else {
				c.SetReadDeadline(time.Now().Add(later))
			}
			pending := readAsync(c)
			sweptPast := first.Add(2 * sweepTick).UnixNano()
			waitUntil(t, "two sweeps past the first deadline", func() bool { return tr.now.Load() > sweptPast })
			client.Write([]byte("x"))
			if r := await(t, pending); r.err != nil || r.data != "x" {
				t.Fatalf("read = %q, %v; want x: the first deadline cut it", r.data, r.err)
			}
		})
	}
}

// TestStaleCutUndone replays a sweep that read a deadline just before it
// moved: the read it cuts is tried again.
func TestStaleCutUndone(t *testing.T) {
	t.Parallel()
	_, c, client := trackedPair(t)
	now := time.Now().UnixNano()
	c.readBy.Store(now - 1)
	c.cutRead(now)
	if !c.cut.Load() {
		t.Fatal("cutRead left an overdue connection alone")
	}
	c.readBy.Store(now + int64(time.Minute)) // moved while the sweep ran
	client.Write([]byte("x"))
	if r := await(t, readAsync(c)); r.err != nil || r.data != "x" {
		t.Fatalf("read after a stale cut = %q, %v; want x", r.data, r.err)
	}
	if c.cut.Load() || c.onSocket.Load() {
		t.Error("the stale cut is still on the socket")
	}

	// A cut that is due stays.
	now = time.Now().UnixNano()
	c.readBy.Store(now - 1)
	c.cutRead(now)
	client.Write([]byte("y"))
	if r := await(t, readAsync(c)); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a due cut = %q, %v; want a deadline error", r.data, r.err)
	}
}

func TestHijackedDeadlineOnSocket(t *testing.T) {
	t.Parallel()
	tr, c, _ := trackedPair(t)
	c.SetReadDeadline(time.Now().Add(time.Hour))
	tr.state(c, http.StateHijacked) // the tracker, and its sweeper, let go of it
	wait := lazyDeadline + 200*time.Millisecond
	c.SetReadDeadline(time.Now().Add(wait))
	if c.readBy.Load() != 0 {
		t.Fatal("a hijacked connection kept its deadline for the sweeper")
	}
	r := await(t, readAsync(c))
	if !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read on a hijacked connection past its deadline = %q, %v", r.data, r.err)
	}
}

// TestHeaderDeadlineOfNewConnection: a new connection is cut if its
// headers are not in within the header timeout of its accept.
func TestHeaderDeadlineOfNewConnection(t *testing.T) {
	t.Parallel()
	accepted := time.Now()
	_, c, client := timedPair(t, 300*time.Millisecond, time.Minute)
	if w := c.wait.Load(); w < accepted.Add(300*time.Millisecond).UnixNano() {
		t.Fatalf("new connection waits for %d, want its accept plus the header timeout", w)
	}
	client.Write([]byte("GET / HTTP/1.1\r\n")) // and no more
	if r := await(t, readAsync(c)); r.err != nil {
		t.Fatalf("first read = %v", r.err)
	}
	r := await(t, readAsync(c))
	if !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of headers that never end = %q, %v; want a deadline error", r.data, r.err)
	}
	if took := time.Since(accepted); took < 300*time.Millisecond {
		t.Errorf("cut %v after the accept, before the header timeout", took)
	}
}

// TestIdleAndHeaderWaits follows a connection through a request's states:
// idle, the next request's first bytes, its headers in.
func TestIdleAndHeaderWaits(t *testing.T) {
	t.Parallel()
	tr, c, client := timedPair(t, time.Minute, time.Hour)
	tr.state(c, http.StateActive)
	if w := c.wait.Load(); w != 0 {
		t.Fatalf("active connection waits for %d, want nothing", w)
	}

	idle := time.Now()
	tr.state(c, http.StateIdle)
	if w := waitFor(c.wait.Load()); w != waitIdle {
		t.Fatalf("idle connection waits for %d, want waitIdle", w)
	}
	// The next sweep counts the idle timeout from its own time.
	waitUntil(t, "a sweep to set the idle deadline", func() bool { return c.wait.Load() > 0 })
	if w := c.wait.Load(); w < idle.Add(time.Hour).UnixNano() {
		t.Errorf("idle deadline %v, before the idle timeout from going idle at %v", time.Unix(0, w), idle)
	}

	client.Write([]byte("GET"))
	if r := await(t, readAsync(c)); r.err != nil {
		t.Fatal(r.err)
	}
	if w := waitFor(c.wait.Load()); w != waitHeader {
		t.Fatalf("idle connection that received bytes waits for %d, want waitHeader", w)
	}
	if c.quiet.Load() {
		t.Error("connection that received bytes since going idle still counts as quiet")
	}
	tr.state(c, http.StateActive)
	if w := c.wait.Load(); w != 0 {
		t.Errorf("connection with its headers in waits for %d, want nothing", w)
	}
}

// TestIdleDeadlineFires: an idle connection is cut once the idle timeout
// has passed, not before.
func TestIdleDeadlineFires(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	tr, c, _ := timedPair(t, time.Minute, idle)
	tr.state(c, http.StateActive)
	start := time.Now()
	tr.state(c, http.StateIdle)
	r := await(t, readAsync(c))
	if !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("read on an idle connection = %q, %v; want a deadline error", r.data, r.err)
	}
	if took := time.Since(start); took < idle {
		t.Errorf("idle connection cut after %v, before the idle timeout of %v", took, idle)
	}
}

// TestStaleIdleCutUndone replays a sweep that found the idle deadline
// passed just as the next request arrived.
func TestStaleIdleCutUndone(t *testing.T) {
	t.Parallel()
	tr, c, client := timedPair(t, time.Minute, time.Hour)
	tr.state(c, http.StateIdle)
	now := time.Now().UnixNano()
	c.wait.Store(now - 1)
	c.cutRead(now)
	if !c.cut.Load() {
		t.Fatal("cutRead left a connection past its idle deadline alone")
	}
	c.wait.Store(int64(waitHeader)) // the next request arrived meanwhile
	client.Write([]byte("x"))
	if r := await(t, readAsync(c)); r.err != nil || r.data != "x" {
		t.Fatalf("read after a stale idle cut = %q, %v; want x", r.data, r.err)
	}
}

func TestSweeperStops(t *testing.T) {
	t.Parallel()
	tr, c, client := trackedPair(t)
	client.Close()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	tr.state(c, http.StateClosed)
	waitUntil(t, "the sweeper to stop", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return !tr.sweeping
	})
}

// TestHijackedWritesSwept: a hijacked connection whose write stalls is
// still cut, and the sweeper stops once it is closed.
func TestHijackedWritesSwept(t *testing.T) {
	t.Parallel()
	const send = 300 * time.Millisecond
	tr, c, _ := sendPair(t, 0, 0, send)
	tr.state(c, http.StateHijacked)
	failed := make(chan error, 1)
	start := time.Now()
	go func() {
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 1024 && err == nil; i++ { // far more than the kernel buffers hold
			_, err = c.Write(chunk)
		}
		failed <- err
	}()
	select {
	case err := <-failed:
		if err == nil || time.Since(start) < send {
			t.Fatalf("writes to a client that does not read: %v after %v, want an error after %v or more", err, time.Since(start), send)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write to a client that does not read still blocked after 10 s")
	}
	c.Close()
	waitUntil(t, "the sweeper to stop", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return !tr.sweeping && len(tr.hijacked) == 0
	})
}

func TestUnixNano(t *testing.T) {
	tests := []struct {
		in   time.Time
		want int64
	}{
		{time.Unix(1, 0), 1e9},
		{time.Unix(1700000000, 5), 1700000000*1e9 + 5},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 1<<63 - 1},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		if got := unixNano(tt.in); got != tt.want {
			t.Errorf("unixNano(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
