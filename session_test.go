package baton

import (
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/sessiontest"
)

// fakeClock is a settable clock for the session manager.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestSessionIdleExpiry checks the idle lifetime against a fake clock:
// a session used within its TTL lives on, one left alone longer ends.
func TestSessionIdleExpiry(t *testing.T) {
	s := New()
	s.SetAccessLogEnabled(false)
	s.SetSessionStore(NewMemoryStore())
	s.SetSessionTTL(time.Hour)
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	s.sessions.Load().now = clock.now
	s.BindHandler("/set", func(r *Request) { r.Session.Set("user", "ann") })
	s.BindHandler("/get", func(r *Request) { r.Response.Write(r.Session.GetString("user")) })
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/set", nil))
	cookie, _, _ := strings.Cut(rec.Header().Get("Set-Cookie"), ";")
	get := func() string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/get", nil)
		req.Header.Set("Cookie", cookie)
		s.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    string
	}{
		{"at once", 0, "ann"},
		{"used after 50 minutes", 50 * time.Minute, "ann"},
		{"used 50 minutes later: a read refreshed it", 50 * time.Minute, "ann"},
		{"left alone over the TTL", 61 * time.Minute, ""},
	}
	for _, st := range steps {
		clock.advance(st.advance)
		if got := get(); got != st.want {
			t.Errorf("%s: user = %q, want %q", st.name, got, st.want)
		}
	}
}

// TestFileStoreTwoProcesses runs Updates of one session through two
// stores on one directory, as two workers overlapping during a reload:
// they share no mutex, so only the file lock keeps every change.
func TestFileStoreTwoProcesses(t *testing.T) {
	if lockFileIsNoop {
		t.Skip("no flock on this platform")
	}
	dir := privateDir(t)
	a, b := NewFileStore(dir), NewFileStore(dir)
	sessiontest.ConcurrentUpdates(t, a, b, 50)
}

// privateDir returns a directory of the test that only this user may
// use, as a FileStore requires: t.TempDir makes them 0755.
func privateDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return dir
}
