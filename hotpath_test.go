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

// TestChainBehaviour pins down what the request hot path must keep doing
// while it is tuned: middleware order, Exit, panics and the recycling of
// pooled requests.
func TestChainBehaviour(t *testing.T) {
	tests := []struct {
		name       string
		mw         []baton.HandlerFunc
		handler    baton.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{
			name:       "handler only",
			handler:    func(r *baton.Request) { r.Response.Write("h") },
			wantStatus: http.StatusOK, wantBody: "h",
		},
		{
			name: "middleware around handler",
			mw: []baton.HandlerFunc{
				func(r *baton.Request) { r.Response.Write("a<"); r.Middleware.Next(); r.Response.Write(">a") },
				func(r *baton.Request) { r.Response.Write("b<"); r.Middleware.Next(); r.Response.Write(">b") },
			},
			handler:    func(r *baton.Request) { r.Response.Write("h") },
			wantStatus: http.StatusOK, wantBody: "a<b<h>b>a",
		},
		{
			name: "exit in handler resumes middleware",
			mw: []baton.HandlerFunc{
				func(r *baton.Request) { r.Middleware.Next(); r.Response.Write(" exited=", r.IsExited()) },
			},
			handler:    func(r *baton.Request) { r.Response.Write("h"); r.Exit(); r.Response.Write("never") },
			wantStatus: http.StatusOK, wantBody: "h exited=true",
		},
		{
			name: "exit in first middleware stops the chain",
			mw: []baton.HandlerFunc{
				func(r *baton.Request) { r.Response.WriteStatus(http.StatusForbidden, "no"); r.Exit() },
			},
			handler:    func(r *baton.Request) { r.Response.Write("never") },
			wantStatus: http.StatusForbidden, wantBody: "no",
		},
		{
			name:       "exit in handler without middleware",
			handler:    func(r *baton.Request) { r.Response.Write("h"); r.Exit() },
			wantStatus: http.StatusOK, wantBody: "h",
		},
		{
			name:       "panic in handler is a 500",
			handler:    func(r *baton.Request) { r.Response.Write("partial"); panic("boom") },
			wantStatus: http.StatusInternalServerError, wantBody: "Internal Server Error\n",
		},
		{
			name: "panic under middleware is a 500 and skips the rest of the middleware",
			mw: []baton.HandlerFunc{
				func(r *baton.Request) { r.Middleware.Next(); r.Response.Write("after") },
			},
			handler:    func(r *baton.Request) { panic("boom") },
			wantStatus: http.StatusInternalServerError, wantBody: "Internal Server Error\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			s := baton.New()
			s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			s.SetAccessLogEnabled(false)
			s.Use(tt.mw...)
			s.BindHandler("GET:/x/{id}", tt.handler)
			// Serve twice so that the second request runs on a recycled
			// Request and would show state left by the first.
			for i := range 2 {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x/7", nil))
				if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
					t.Fatalf("request %d: got %d %q, want %d %q", i, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
				}
			}
			if tt.wantStatus == http.StatusInternalServerError && !strings.Contains(logs.String(), "hotpath_test.go") {
				t.Errorf("panic log does not show the panicking frame:\n%s", logs.String())
			}
		})
	}
}

// TestPooledRequestIsClean checks that a recycled Request carries nothing
// of the request served before it.
func TestPooledRequestIsClean(t *testing.T) {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.BindHandler("POST:/a/{id}", func(r *baton.Request) {
		r.Response.WriteHeader(http.StatusCreated)
		r.Response.Write(r.Param("id"), ",", r.Query("q"), ",", r.Get("f"))
		r.Exit()
	})
	s.BindHandler("GET:/b", func(r *baton.Request) {
		r.Response.Write("id=", r.Param("id"), " q=", r.Query("q"), " f=", r.Get("f"), " exited=", r.IsExited(),
			" status=", r.Response.Status(), " buffered=", r.Response.BufferLength())
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/a/1?q=2", strings.NewReader("f=3"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.ServeHTTP(rec, req)
	if got, want := rec.Body.String(), "1,2,3"; rec.Code != http.StatusCreated || got != want {
		t.Fatalf("POST /a/1: got %d %q, want 201 %q", rec.Code, got, want)
	}
	for i := range 3 {
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/b", nil))
		if got, want := rec.Body.String(), "id= q= f= exited=false status=200 buffered=0"; rec.Code != http.StatusOK || got != want {
			t.Fatalf("GET /b #%d: got %d %q, want 200 %q", i, rec.Code, got, want)
		}
	}
}
