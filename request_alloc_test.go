package baton_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// TestGetAllocs checks that r.Get(key) without a default costs no
// allocation beyond the primitive it reads through: nothing for a path
// parameter, what Query costs for the query string, and what ParseForm
// costs for a form body.
func TestGetAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations; skipped with -short")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	sink := ""
	tests := []struct {
		name   string
		target string
		body   string
		get    baton.HandlerFunc
		ref    baton.HandlerFunc
	}{
		{name: "path parameter", target: "/a/7",
			get: func(r *baton.Request) { sink = r.Get("id") },
			ref: func(r *baton.Request) { sink = r.Param("id") }},
		{name: "query", target: "/a/7?q=1&z=2",
			get: func(r *baton.Request) { sink = r.Get("q") },
			ref: func(r *baton.Request) { sink = r.Query("q") }},
		{name: "missing, query only", target: "/a/7?q=1",
			get: func(r *baton.Request) { sink = r.Get("none") },
			ref: func(r *baton.Request) { sink = r.Query("none") }},
		{name: "form", target: "/a/7", body: "f=1&g=2",
			get: func(r *baton.Request) { sink = r.Get("f") },
			ref: func(r *baton.Request) { r.Request.ParseForm(); sink = r.Request.PostForm.Get("f") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := getAllocs(t, tt.get, tt.target, tt.body)
			want := getAllocs(t, tt.ref, tt.target, tt.body)
			t.Logf("Get %v allocs, reference %v", got, want)
			if got > want {
				t.Errorf("r.Get on %s %q: %v allocs, want no more than the %v of reading it directly", tt.target, tt.body, got, want)
			}
		})
	}
	_ = sink
}

// getAllocs returns the allocations of serving target (a POST of a form
// body if body is set) with h.
func getAllocs(t *testing.T, h baton.HandlerFunc, target, body string) float64 {
	t.Helper()
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.BindHandler("/a/{id}", h)
	w := newDiscardWriter()
	method := "GET"
	if body != "" {
		method = "POST"
	}
	proto := httptest.NewRequest(method, target, nil)
	proto.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rd := strings.NewReader(body)
	req := new(http.Request)
	return testing.AllocsPerRun(200, func() {
		*req = *proto
		if body != "" {
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(body))
		}
		clear(w.h)
		s.ServeHTTP(w, req)
	})
}
