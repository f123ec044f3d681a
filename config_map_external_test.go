package baton_test

import (
	"bytes"

	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

func TestSetConfigWithMap(t *testing.T) {
	for _, tt := range []struct {
		name  string
		m     map[string]any
		req   func() *http.Request
		check func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server)
	}{
		{"GoFrame body size, MB is MiB", map[string]any{"clientMaxBodySize": "1KB"},
			func() *http.Request {
				return httptest.NewRequest("POST", "/echo", strings.NewReader(strings.Repeat("x", 1025)))
			},
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				if w.Code != http.StatusRequestEntityTooLarge || s.Config().MaxBodySize != 1024 {
					t.Errorf("1025 bytes over a 1KB limit: %d, limit %d; want 413, 1024", w.Code, s.Config().MaxBodySize)
				}
			}},
		{"baton body size", map[string]any{"maxBodySize": 2048},
			func() *http.Request {
				return httptest.NewRequest("POST", "/echo", strings.NewReader(strings.Repeat("x", 2000)))
			},
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				if w.Code != http.StatusOK || w.Body.Len() != 2000 {
					t.Errorf("2000 bytes under a 2048 limit: %d, %d bytes back", w.Code, w.Body.Len())
				}
			}},
		{"session cookie name and age", map[string]any{"sessionIdName": "gfsessionid", "sessionMaxAge": "2h"},
			func() *http.Request { return httptest.NewRequest("GET", "/login", nil) },
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				c := w.Result().Cookies()
				if len(c) != 1 || c[0].Name != "gfsessionid" || c[0].MaxAge != 7200 || !c[0].HttpOnly {
					t.Errorf("session cookie = %+v, want gfsessionid, HttpOnly, Max-Age 7200", c)
				}
			}},
		{"a Go duration", map[string]any{"sessionMaxAge": 30 * time.Minute},
			func() *http.Request { return httptest.NewRequest("GET", "/login", nil) },
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge != 1800 {
					t.Errorf("session cookie = %+v, want Max-Age 1800", c)
				}
			}},
		{"cookie section", map[string]any{"cookie": map[string]any{"path": "/app", "sameSite": "strict"}},
			func() *http.Request { return httptest.NewRequest("GET", "/login", nil) },
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				if c := w.Result().Cookies(); len(c) != 1 || c[0].Path != "/app" || c[0].SameSite != http.SameSiteStrictMode {
					t.Errorf("session cookie = %+v, want Path=/app SameSite=Strict", c)
				}
			}},
		{"rewrites", map[string]any{"rewrites": map[string]string{"/old": "/echo"}},
			func() *http.Request { return httptest.NewRequest("POST", "/old", strings.NewReader("moved")) },
			func(t *testing.T, w *httptest.ResponseRecorder, s *baton.Server) {
				if w.Code != http.StatusOK || w.Body.String() != "moved" {
					t.Errorf("rewritten request: %d %q", w.Code, w.Body.String())
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := baton.New()
			s.SetSessionStore(baton.NewMemoryStore())
			s.SetAccessLogEnabled(false)
			s.BindHandler("POST:/echo", func(r *baton.Request) { r.Response.Write(r.GetBody()) })
			s.BindHandler("/login", func(r *baton.Request) { r.Session.Set("user", "ann") })
			if err := s.SetConfigWithMap(tt.m); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, tt.req())
			tt.check(t, w, s)
		})
	}
}

func TestSetConfigWithMapErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    map[string]any
		want string
	}{
		{"unknown key", map[string]any{"adress": ":1"}, `unknown key "adress"`},
		{"bad size", map[string]any{"clientMaxBodySize": "lots"}, `clientMaxBodySize: "lots" is not a size`},
		{"bad duration", map[string]any{"readTimeout": "soon"}, "readTimeout"},
		{"both names", map[string]any{"maxBodySize": 1, "clientMaxBodySize": 2}, "keep one"},
		{"bad port", map[string]any{"address": ":99999"}, "address: port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := baton.New()
			before := s.Config()
			err := s.SetConfigWithMap(tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "baton: SetConfigWithMap: ") {
				t.Fatalf("SetConfigWithMap(%v) = %v, want an error with %q", tt.m, err, tt.want)
			}
			if after := s.Config(); after.MaxBodySize != before.MaxBodySize || len(after.Addr) != len(before.Addr) {
				t.Errorf("a rejected map changed the configuration: %+v", after)
			}
		})
	}
}

func TestSetConfigWithMapUnsupportedKey(t *testing.T) {
	var logs bytes.Buffer
	s := baton.New()
	s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	if err := s.SetConfigWithMap(map[string]any{"logPath": "/var/log/app", "indexFolder": true}); err != nil {
		t.Fatal(err)
	}
	if !s.Config().DirectoryListing {
		t.Error("indexFolder beside an unsupported key was not applied")
	}
	if got := logs.String(); !strings.Contains(got, `GoFrame key \"logPath\" is not supported`) {
		t.Errorf("log %q does not warn about logPath", got)
	}
}

func TestErrorStackSetting(t *testing.T) {
	for _, tt := range []struct {
		name      string
		m         map[string]any
		wantStack bool
	}{
		{"default", nil, true},
		{"errorStack true", map[string]any{"errorStack": true}, true},
		{"errorStack false", map[string]any{"errorStack": false}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := baton.New()
			s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			s.BindHandler("/boom", func(r *baton.Request) { panic("boom") })
			if err := s.SetConfigWithMap(tt.m); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
			if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "handler panic") {
				t.Fatalf("panic: %d, log %q", w.Code, logs.String())
			}
			if got := strings.Contains(logs.String(), "stack="); got != tt.wantStack {
				t.Errorf("stack in the log: %v, want %v", got, tt.wantStack)
			}
		})
	}
}
