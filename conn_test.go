package baton

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHoldNotifyAndForce(t *testing.T) {
	var tr connTracker
	var notified, forced []string
	hook := func(list *[]string, name string) func() {
		return func() { *list = append(*list, name) }
	}
	releaseEarly := tr.hold(hook(&notified, "early"), hook(&forced, "early"))
	releaseDone := tr.hold(hook(&notified, "done"), hook(&forced, "done"))
	if len(notified) != 0 {
		t.Fatalf("notified before the drain: %v", notified)
	}
	tr.beginDrain()
	tr.beginDrain() // a second call notifies nobody again
	if len(notified) != 2 {
		t.Fatalf("notified at drain start = %v, want early and done once each", notified)
	}
	// A connection upgraded once the drain has started is told at once.
	releaseLate := tr.hold(hook(&notified, "late"), hook(&forced, "late"))
	if len(notified) != 3 || notified[2] != "late" {
		t.Fatalf("notified after a hold during the drain = %v, want late last", notified)
	}
	releaseDone()
	releaseDone() // idempotent

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, n := tr.drain(ctx, time.Second)
	if n != 2 || len(forced) != 2 {
		t.Errorf("drain deadline forced %d holds %v, want early and late", n, forced)
	}
	for _, f := range forced {
		if f == "done" {
			t.Errorf("a released hold was forced: %v", forced)
		}
	}
	releaseEarly()
	releaseLate()
	if _, n := tr.drain(context.Background(), time.Second); n != 0 {
		t.Errorf("drain with every hold released forced %d", n)
	}
}

func TestMarkStreamedAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are checked without -short")
	}
	tc := &trackedConn{}
	ctx := connContext(context.Background(), tc)
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	if n := testing.AllocsPerRun(100, func() { markStreamed(req.Context()) }); n != 0 {
		t.Errorf("markStreamed allocates %v times, want 0", n)
	}
	if !tc.streamed.Load() {
		t.Error("markStreamed did not mark the connection")
	}
	// A request served without a tracked connection (httptest, an
	// http.Handler mounted elsewhere) is left alone.
	markStreamed(context.Background())
}

func TestStreamedResetOnNextRequest(t *testing.T) {
	var tr connTracker
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	tc := &trackedConn{Conn: c1}
	tr.state(tc, http.StateActive)
	tc.streamed.Store(true) // as Flush does
	tr.state(tc, http.StateIdle)
	if !tc.streamed.Load() {
		t.Fatal("idle after a stream: mark lost")
	}
	tr.state(tc, http.StateActive)
	if tc.streamed.Load() {
		t.Error("the next request on the connection still counts as a stream")
	}
}

// BenchmarkPlainRequest measures a plain buffered request through the
// router, the hot path streams and WebSockets must not slow down.
func BenchmarkPlainRequest(b *testing.B) {
	s := newServer("")
	s.SetAccessLogEnabled(false)
	s.BindHandler("GET:/hello/{name}", func(r *Request) { r.Response.Write("hello ", r.Param("name")) })
	s.router.compile()
	req := httptest.NewRequest(http.MethodGet, "/hello/world", nil)
	w := newRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.body.Reset()
		w.code = 0
		s.ServeHTTP(w, req)
	}
}

// BenchmarkStreamedRequest is BenchmarkPlainRequest with a Flush, which
// looks the connection up in the request context.
func BenchmarkStreamedRequest(b *testing.B) {
	s := newServer("")
	s.SetAccessLogEnabled(false)
	s.BindHandler("GET:/events", func(r *Request) {
		r.Response.Write("data: hi\n\n")
		r.Response.Flush()
	})
	s.router.compile()
	tc := &trackedConn{}
	req := httptest.NewRequest(http.MethodGet, "/events", nil).WithContext(connContext(context.Background(), tc))
	w := newRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.body.Reset()
		w.code = 0
		s.ServeHTTP(w, req)
	}
}
