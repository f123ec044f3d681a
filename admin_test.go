package baton_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

// adminServer returns a server with the admin page and health check.
func adminServer(t *testing.T, cfg baton.AdminConfig) *baton.Server {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	c.Admin = cfg
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.EnableAdmin()
	s.EnableHealth()
	return s
}

// adminRequest serves one admin request from remote with the headers
// given as "Key: value".
func adminRequest(s http.Handler, method, target, remote string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestAdminAccess(t *testing.T) {
	open := adminServer(t, baton.AdminConfig{})
	token := adminServer(t, baton.AdminConfig{Token: "s3cret"})
	allow := adminServer(t, baton.AdminConfig{Allow: []string{"10.0.0.0/8"}})
	proxied := adminServer(t, baton.AdminConfig{TrustedProxies: []string{"10.9.9.9"}})
	tests := []struct {
		name    string
		s       *baton.Server
		remote  string
		headers []string
		code    int
	}{
		{"loopback v4", open, "127.0.0.1:5000", nil, 200},
		{"loopback v4 range", open, "127.8.9.10:5000", nil, 200},
		{"loopback v6", open, "[::1]:5000", nil, 200},
		{"mapped loopback", open, "[::ffff:127.0.0.1]:5000", nil, 200},
		{"remote refused", open, "192.0.2.7:5000", nil, 403},
		{"forwarded header ignored by default", open, "192.0.2.7:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},
		{"token missing", token, "192.0.2.7:5000", nil, 401},
		{"bearer token", token, "192.0.2.7:5000", []string{"Authorization: Bearer s3cret"}, 200},
		{"wrong bearer", token, "192.0.2.7:5000", []string{"Authorization: Bearer nope"}, 401},
		{"basic password", token, "192.0.2.7:5000", []string{"Authorization: Basic YWRtaW46czNjcmV0"}, 200},
		{"wrong basic", token, "192.0.2.7:5000", []string{"Authorization: Basic YWRtaW46bm9wZQ=="}, 401},
		{"loopback needs no token", token, "127.0.0.1:1", nil, 200},
		{"allowed network", allow, "10.1.2.3:5000", nil, 200},
		{"outside allowed network", allow, "11.1.2.3:5000", nil, 403},
		{"trusted proxy for loopback", proxied, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 200},
		{"trusted proxy for remote", proxied, "10.9.9.9:5000", []string{"X-Forwarded-For: 192.0.2.7"}, 403},
		{"spoofed hop before the proxy", proxied, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1, 192.0.2.7"}, 403},
		{"untrusted peer's header ignored", proxied, "192.0.2.8:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/debug/admin", "/debug/admin/status"} {
				rec := adminRequest(tt.s, "GET", path, tt.remote, tt.headers...)
				if rec.Code != tt.code {
					t.Errorf("GET %s from %s %v = %d, want %d", path, tt.remote, tt.headers, rec.Code, tt.code)
				}
				if rec.Code == 401 && !strings.Contains(rec.Header().Get("WWW-Authenticate"), "Basic") {
					t.Errorf("401 without a WWW-Authenticate challenge")
				}
			}
		})
	}
}

func TestAdminActions(t *testing.T) {
	s := adminServer(t, baton.AdminConfig{})
	const local = "127.0.0.1:4000"
	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		code    int
		body    string
	}{
		{"cross-site post", "POST", "/debug/admin/reload", []string{"Sec-Fetch-Site: cross-site"}, 403, "another site"},
		{"same-site post", "POST", "/debug/admin/restart", []string{"Sec-Fetch-Site: same-site"}, 403, "another site"},
		{"foreign origin", "POST", "/debug/admin/shutdown", []string{"Origin: http://evil.example"}, 403, "Origin: http://evil.example"},
		{"image tag GET", "GET", "/debug/admin/reload", []string{"Sec-Fetch-Site: none", "Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image"}, 403, "Sec-Fetch-Mode"},
		{"script fetch GET", "GET", "/debug/admin/reload", []string{"Sec-Fetch-Mode: cors"}, 403, "Sec-Fetch-Mode"},
		// Under go test there is no master: the actions say so with 501.
		{"typed address GET", "GET", "/debug/admin/reload", []string{"Sec-Fetch-Site: none", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"}, 501, "no master"},
		{"curl POST", "POST", "/debug/admin/reload", nil, 501, "no master"},
		{"page POST", "POST", "/debug/admin/restart", []string{"Sec-Fetch-Site: same-origin", "Origin: http://example.com"}, 501, "no master"},
		{"browser gets a page", "POST", "/debug/admin/reload", []string{"Accept: text/html", "Sec-Fetch-Site: same-origin"}, 501, "reload failed: baton: no master"},
		{"wrong method", "PUT", "/debug/admin/reload", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := adminRequest(s, tt.method, tt.path, local, tt.headers...)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s %v = %d %q, want %d containing %q", tt.method, tt.path, tt.headers, rec.Code, rec.Body, tt.code, tt.body)
			}
		})
	}
}

func TestAdminPageAndStatus(t *testing.T) {
	s := adminServer(t, baton.AdminConfig{})
	s.SetAddr("127.0.0.1:0")
	startServer(t, s)

	rec := adminRequest(s, "GET", "/debug/admin/status", "127.0.0.1:1")
	var st struct {
		WorkerPID int    `json:"worker_pid"`
		MasterPID int    `json:"master_pid"`
		Exe       string `json:"executable"`
		Servers   []struct {
			Name      string   `json:"name"`
			Listeners []string `json:"listeners"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, rec.Body)
	}
	if st.WorkerPID != os.Getpid() || st.MasterPID != 0 || st.Exe == "" {
		t.Errorf("status = %+v, want this process as worker and no master", st)
	}
	found := false
	for _, sv := range st.Servers {
		if sv.Name == s.Name() && len(sv.Listeners) == 1 && strings.HasPrefix(sv.Listeners[0], "http://127.0.0.1:") {
			found = true
		}
	}
	if !found {
		t.Errorf("status servers %+v lack %s with its listener", st.Servers, s.Name())
	}

	page := adminRequest(s, "GET", "/debug/admin?done=reload", "127.0.0.1:1")
	body := page.Body.String()
	for _, want := range []string{
		`id="worker-pid">` + itoa(os.Getpid()),
		`<form method="post" action="/debug/admin/reload">`,
		`action="/debug/admin/restart"`, `action="/debug/admin/shutdown"`,
		"Reloaded: the worker below is the new one.",
		s.Name(),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") && strings.Contains(body, "src=") {
		t.Error("admin page loads scripts or external assets")
	}
	if ct := page.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	// An unknown notice is not reflected.
	if p := adminRequest(s, "GET", "/debug/admin?done=<b>x</b>", "127.0.0.1:1"); strings.Contains(p.Body.String(), "<b>x") {
		t.Error("the page reflects the done parameter")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHealth(t *testing.T) {
	s := adminServer(t, baton.AdminConfig{})
	base := startServer(t, s)
	hang := make(chan struct{})
	entered := make(chan struct{})
	s.BindHandler("/hang", func(r *baton.Request) { close(entered); <-hang })
	if rec := adminRequest(s, "GET", "/healthz", "192.0.2.1:1"); rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("healthz while serving = %d %q, want 200 ok (and public)", rec.Code, rec.Body)
	}
	go http.Get(base + "/hang")
	<-entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown() }()
	waitFor(t, "the drain", 5*time.Second, s.IsDraining)
	if rec := adminRequest(s, "GET", "/healthz", "192.0.2.1:1"); rec.Code != 503 {
		t.Errorf("healthz while draining = %d, want 503", rec.Code)
	}
	close(hang)
	<-done
}
