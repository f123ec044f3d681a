package baton

import (
	"net/http/httptest"
	"testing"
)

// TestUnusedCookiesAndSessionAllocateNothing keeps the pooled Request
// cheap: the Cookie and Session fields cost nothing to a handler that
// does not use them.
func TestUnusedCookiesAndSessionAllocateNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are checked without -short")
	}
	s := New()
	s.SetAccessLogEnabled(false)
	s.BindHandler("/", func(r *Request) { r.Response.Write("x") })
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "batonsid=AAAAAAAAAAAAAAAAAAAAAA; a=1")
	w := newRecorder()
	if n := testing.AllocsPerRun(1000, func() { s.ServeHTTP(w, req) }); n != 0 {
		t.Errorf("a request that uses no cookie nor session allocates %v times, want 0", n)
	}
}
