package baton_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

func TestTimeout(t *testing.T) {
	const short = 20 * time.Millisecond
	tests := []struct {
		name    string
		conf    baton.TimeoutConfig
		handler func(r *baton.Request, ctxErr chan<- error)
		code    int
		body    string
		want    map[string]string // "" wants it absent
		ctxErr  error             // the handler's context's error when it ends
	}{
		{name: "in time", conf: baton.TimeoutConfig{Timeout: time.Minute},
			handler: func(r *baton.Request, e chan<- error) {
				r.Response.Header().Set("X-Own", "1")
				r.Response.WriteStatus(201, "made")
				e <- r.Context().Err()
			}, code: 201, body: "made", want: map[string]string{"X-Own": "1"}},
		{name: "overrun", conf: baton.TimeoutConfig{Timeout: short},
			handler: func(r *baton.Request, e chan<- error) {
				r.Response.Header().Set("X-Own", "1")
				r.Response.Write("partial")
				<-r.Context().Done()
				r.Response.Write(" more")
				e <- r.Context().Err()
			}, code: 503, body: "Service Unavailable\n", want: map[string]string{"X-Own": "", "X-Request-Id": "rid-1"},
			ctxErr: context.DeadlineExceeded},
		{name: "504 with a message", conf: baton.TimeoutConfig{Timeout: short, Status: 504, Message: "too slow\n"},
			handler: func(r *baton.Request, e chan<- error) {
				<-r.Context().Done()
				e <- r.Context().Err()
			}, code: 504, body: "too slow\n", ctxErr: context.DeadlineExceeded},
		{name: "cookie after the deadline dropped", conf: baton.TimeoutConfig{Timeout: short},
			handler: func(r *baton.Request, e chan<- error) {
				<-r.Context().Done()
				r.Cookie.Set("late", "1")
				e <- r.Context().Err()
			}, code: 503, body: "Service Unavailable\n", want: map[string]string{"Set-Cookie": ""}, ctxErr: context.DeadlineExceeded},
		{name: "panic in time", conf: baton.TimeoutConfig{Timeout: time.Minute},
			handler: func(r *baton.Request, e chan<- error) {
				e <- nil
				panic("boom")
			}, code: 500, body: "Internal Server Error\n"},
		{name: "Exit in time", conf: baton.TimeoutConfig{Timeout: time.Minute},
			handler: func(r *baton.Request, e chan<- error) {
				e <- nil
				r.Response.WriteExit("exited")
			}, code: 200, body: "exited"},
		{name: "streamed before the deadline", conf: baton.TimeoutConfig{Timeout: short},
			handler: func(r *baton.Request, e chan<- error) {
				r.Response.Write("event\n")
				r.Response.Flush()
				<-r.Context().Done()
				r.Response.Write("lost\n")
				e <- r.Context().Err()
			}, code: 200, body: "event\n", ctxErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.Use(baton.RequestID(baton.RequestIDConfig{Generate: func() string { return "rid-1" }}))
			ctxErr := make(chan error, 1)
			s.Group("/timed", func(g *baton.RouterGroup) {
				g.Middleware(baton.Timeout(tt.conf))
				g.GET("/h", func(r *baton.Request) { tt.handler(r, ctxErr) })
			})
			rec := serve(t, s, "GET", "/timed/h", nil)
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Fatalf("GET = %d %q, want %d %q", rec.Code, rec.Body, tt.code, tt.body)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			// The handler has returned by then: the middleware waits.
			select {
			case err := <-ctxErr:
				if !errors.Is(err, tt.ctxErr) {
					t.Errorf("handler's context error %v, want %v", err, tt.ctxErr)
				}
			default:
				t.Fatal("the request ended before its handler returned")
			}
		})
	}
}

// TestTimeoutAnswersAtOnce checks, over a real connection, that the
// client has the 503 while the handler, which ignores its context, still
// runs, and that the handler's later writes go nowhere.
func TestTimeoutAnswersAtOnce(t *testing.T) {
	s := newServer(t)
	release, returned := make(chan struct{}), make(chan struct{})
	s.BindMiddleware("/slow", baton.Timeout(baton.TimeoutConfig{Timeout: 20 * time.Millisecond}))
	s.BindHandler("GET:/slow", func(r *baton.Request) {
		defer close(returned)
		<-release
		r.Response.Header().Set("X-Late", "1")
		r.Response.Write("late body")
		r.Response.Flush()
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	resp, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
		t.Fatal("the handler returned before it was released")
	default:
	}
	if resp.StatusCode != 503 || string(body) != "Service Unavailable\n" || resp.Header.Get("X-Late") != "" {
		t.Fatalf("GET /slow = %d %q (X-Late %q), want 503", resp.StatusCode, body, resp.Header.Get("X-Late"))
	}
	close(release)
	<-returned
}

func TestTimeoutRefusesZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Timeout(0) did not panic")
		}
	}()
	baton.Timeout(baton.TimeoutConfig{})
}
