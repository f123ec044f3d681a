package baton_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/baton-go/baton"
)

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedServer is newServer with the access log on, into the returned
// buffer, and the given trusted proxies.
func loggedServer(t *testing.T, trusted ...string) (*baton.Server, *logBuffer) {
	t.Helper()
	s := newServer(t)
	logs := &logBuffer{}
	c := s.Config()
	c.AccessLogDisabled = false
	c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c.TrustedProxies = trusted
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name    string
		conf    baton.RequestIDConfig
		remote  string // the peer; 10.0.0.1 is the trusted proxy
		header  []string
		want    string // the ID wanted; "new" for a generated one
		respKey string
	}{
		{name: "made when absent", remote: "192.0.2.7:1000", want: "new"},
		{name: "client's ignored", remote: "192.0.2.7:1000", header: []string{"X-Request-Id", "forged-1"}, want: "new"},
		{name: "trusted proxy's kept", remote: "10.0.0.1:1000", header: []string{"X-Request-Id", "abc-123.x:y_z"}, want: "abc-123.x:y_z"},
		{name: "proxy's malformed replaced", remote: "10.0.0.1:1000", header: []string{"X-Request-Id", "a b\"c"}, want: "new"},
		{name: "proxy's too long replaced", remote: "10.0.0.1:1000", header: []string{"X-Request-Id", strings.Repeat("a", 129)}, want: "new"},
		{name: "own header", conf: baton.RequestIDConfig{Header: "x-trace"}, remote: "10.0.0.1:1000",
			header: []string{"X-Trace", "t1"}, want: "t1", respKey: "X-Trace"},
		{name: "own generator", conf: baton.RequestIDConfig{Generate: func() string { return "gen-7" }},
			remote: "192.0.2.7:1000", want: "gen-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := loggedServer(t, "10.0.0.0/8")
			s.Use(baton.RequestID(tt.conf))
			var fromCtx, fromReq string
			s.BindHandler("/", func(r *baton.Request) {
				fromCtx = baton.RequestIDFromContext(r.Context())
				fromReq = r.RequestID()
				r.Response.Write("ok")
			})
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			key := tt.respKey
			if key == "" {
				key = "X-Request-Id"
			}
			id := rec.Header().Get(key)
			switch {
			case tt.want == "new":
				if len(id) != 26 || (len(tt.header) > 1 && id == tt.header[1]) {
					t.Fatalf("%s = %q, want a new 26-character ID", key, id)
				}
			case id != tt.want:
				t.Fatalf("%s = %q, want %q", key, id, tt.want)
			}
			if fromCtx != id || fromReq != id {
				t.Errorf("context has %q, Request.RequestID %q, response %q", fromCtx, fromReq, id)
			}
			if !strings.Contains(logs.String(), "msg=request") || !strings.Contains(logs.String(), " request_id="+id+" ") {
				t.Errorf("access log %q lacks request_id=%s", logs.String(), id)
			}
		})
	}
}

// TestRequestIDErrorLog checks that the error lines of a request carry
// its ID: a panic, and an error answered with WriteError.
func TestRequestIDErrorLog(t *testing.T) {
	tests := []struct {
		name    string
		handler baton.HandlerFunc
		msg     string
	}{
		{"panic", func(r *baton.Request) { panic("boom") }, `msg="baton: handler panic"`},
		{"WriteError", func(r *baton.Request) { r.Response.WriteError(http.ErrHandlerTimeout) }, `msg="baton: request failed"`},
		{"handler's own", func(r *baton.Request) { r.Logger().Error("app failed") }, `msg="app failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := loggedServer(t)
			s.Use(baton.MiddlewareRequestID)
			s.BindHandler("/", tt.handler)
			rec := serve(t, s, "GET", "/", nil)
			id := rec.Header().Get("X-Request-Id")
			if id == "" {
				t.Fatal("no X-Request-Id")
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, tt.msg) {
					line = l
				}
			}
			if !strings.Contains(line, "request_id="+id) {
				t.Errorf("error line %q lacks request_id=%s; log:\n%s", line, id, logs)
			}
		})
	}
}
