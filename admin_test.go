package baton_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

// adminServer returns a server with the admin page and health check.
func adminServer(t *testing.T, cfg baton.AdminConfig) *baton.Server {
	t.Helper()
	return adminServerWith(t, func(c *baton.ServerConfig) { c.Admin = cfg })
}

// adminServerWith is adminServer with the configuration f makes.
func adminServerWith(t *testing.T, f func(c *baton.ServerConfig)) *baton.Server {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	f(&c)
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.EnableAdmin()
	s.EnableHealth()
	return s
}

// adminHost is the Host of adminRequest unless a "Host: x" header says
// otherwise.
const adminHost = "127.0.0.1:8199"

// adminRequest serves one admin request from remote with the headers
// given as "Key: value".
func adminRequest(s http.Handler, method, target, remote string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	req.Host = adminHost
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Add(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestAdminAccess(t *testing.T) {
	none := adminServer(t, baton.AdminConfig{})
	local := adminServer(t, baton.AdminConfig{AllowLocal: true})
	token := adminServer(t, baton.AdminConfig{Token: "s3cret", AllowLocal: true, Allow: []string{"10.0.0.0/8"}})
	allow := adminServer(t, baton.AdminConfig{Allow: []string{"10.0.0.0/8"}})
	behind := func(header string) *baton.Server {
		return adminServerWith(t, func(c *baton.ServerConfig) {
			c.Admin.AllowLocal = true
			c.TrustedProxies = []string{"10.9.9.9"}
			c.ClientIPHeader = header
		})
	}
	xff, realIP, fwd := behind(""), behind("X-Real-IP"), behind("forwarded")
	deprecated := adminServer(t, baton.AdminConfig{AllowLocal: true, TrustedProxies: []string{"10.9.9.9"}})
	hosts := adminServerWith(t, func(c *baton.ServerConfig) {
		c.Admin.AllowLocal = true
		c.AllowedHosts = []string{"admin.internal", ".corp.example"}
	})
	tests := []struct {
		name    string
		s       *baton.Server
		remote  string
		headers []string
		code    int
	}{
		{"no token, no opt-in: nobody", none, "127.0.0.1:5000", nil, 403},
		{"loopback v4", local, "127.0.0.1:5000", nil, 200},
		{"loopback v4 range", local, "127.8.9.10:5000", nil, 200},
		{"loopback v6", local, "[::1]:5000", nil, 200},
		{"mapped loopback", local, "[::ffff:127.0.0.1]:5000", nil, 200},
		{"remote refused", local, "192.0.2.7:5000", nil, 403},
		{"forwarded header ignored by default", local, "192.0.2.7:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},

		// A proxy on this host makes every client look local.
		{"loopback peer with X-Forwarded-For", local, "127.0.0.1:5000", []string{"X-Forwarded-For: 192.0.2.7"}, 403},
		{"loopback peer with Forwarded", local, "127.0.0.1:5000", []string{"Forwarded: for=192.0.2.7"}, 403},
		{"loopback peer with X-Real-IP", local, "127.0.0.1:5000", []string{"X-Real-IP: 192.0.2.7"}, 403},
		{"loopback peer with Via", local, "[::1]:5000", []string{"Via: 1.1 caddy"}, 403},
		{"loopback peer naming itself", local, "127.0.0.1:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},

		{"token missing", token, "192.0.2.7:5000", nil, 401},
		{"bearer token", token, "192.0.2.7:5000", []string{"Authorization: Bearer s3cret"}, 200},
		{"wrong bearer", token, "192.0.2.7:5000", []string{"Authorization: Bearer nope"}, 401},
		{"basic password", token, "192.0.2.7:5000", []string{"Authorization: Basic YWRtaW46czNjcmV0"}, 200},
		{"wrong basic", token, "192.0.2.7:5000", []string{"Authorization: Basic YWRtaW46bm9wZQ=="}, 401},
		{"loopback needs the token too", token, "127.0.0.1:1", nil, 401},
		{"allowed network needs the token too", token, "10.1.2.3:5000", nil, 401},
		{"loopback with the token", token, "127.0.0.1:1", []string{"Authorization: Bearer s3cret"}, 200},

		{"allowed network", allow, "10.1.2.3:5000", nil, 200},
		{"outside allowed network", allow, "11.1.2.3:5000", nil, 403},
		{"allow does not admit loopback", allow, "127.0.0.1:5000", nil, 403},
		{"allowed network through a proxy", allow, "10.1.2.3:5000", []string{"X-Forwarded-For: 192.0.2.7"}, 403},

		{"trusted proxy for loopback", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 200},
		{"trusted proxy for remote", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 192.0.2.7"}, 403},
		{"spoofed hop before the proxy", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1, 192.0.2.7"}, 403},
		{"spoofed line before the proxy's", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1", "X-Forwarded-For: 192.0.2.7"}, 403},
		{"chain of trusted proxies", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1, 10.9.9.9"}, 200},
		{"trusted proxy naming nobody", xff, "10.9.9.9:5000", nil, 403},
		{"garbage hop", xff, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1, nonsense"}, 403},
		{"untrusted peer's header ignored", xff, "192.0.2.8:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},
		{"X-Real-IP not read for X-Forwarded-For", xff, "10.9.9.9:5000", []string{"X-Real-IP: 127.0.0.1", "X-Forwarded-For: 192.0.2.7"}, 403},
		{"deprecated field still trusts", deprecated, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 200},

		{"X-Real-IP names the client", realIP, "10.9.9.9:5000", []string{"X-Real-IP: 127.0.0.1"}, 200},
		{"X-Real-IP of a remote client", realIP, "10.9.9.9:5000", []string{"X-Real-IP: 192.0.2.7"}, 403},
		{"client-chosen X-Forwarded-For passed through", realIP, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1", "X-Real-IP: 192.0.2.7"}, 403},
		{"two X-Real-IP lines", realIP, "10.9.9.9:5000", []string{"X-Real-IP: 127.0.0.1", "X-Real-IP: 127.0.0.1"}, 403},

		{"Forwarded names the client", fwd, "10.9.9.9:5000", []string{"Forwarded: for=127.0.0.1;proto=http"}, 200},
		{"Forwarded v6 with port", fwd, "10.9.9.9:5000", []string{`Forwarded: for="[::1]:4711"`}, 200},
		{"Forwarded rightmost hop", fwd, "10.9.9.9:5000", []string{`Forwarded: for=127.0.0.1, for=192.0.2.7`}, 403},
		{"Forwarded obfuscated", fwd, "10.9.9.9:5000", []string{"Forwarded: for=_hidden"}, 403},
		{"Forwarded unknown", fwd, "10.9.9.9:5000", []string{"Forwarded: for=unknown"}, 403},
		{"X-Forwarded-For not read for Forwarded", fwd, "10.9.9.9:5000", []string{"X-Forwarded-For: 127.0.0.1"}, 403},

		// DNS rebinding: a page of another site reaches 127.0.0.1 under its own name.
		{"rebinding name", local, "127.0.0.1:5000", []string{"Host: rebind.attacker.example:8199"}, 403},
		{"rebinding name without port", local, "127.0.0.1:5000", []string{"Host: rebind.attacker.example"}, 403},
		{"localhost", local, "127.0.0.1:5000", []string{"Host: localhost:8199"}, 200},
		{"name below localhost", local, "127.0.0.1:5000", []string{"Host: app.localhost"}, 200},
		{"v6 literal", local, "[::1]:5000", []string{"Host: [::1]:8199"}, 200},
		{"listed name", hosts, "127.0.0.1:5000", []string{"Host: Admin.Internal:8199"}, 200},
		{"listed domain", hosts, "127.0.0.1:5000", []string{"Host: a.corp.example"}, 200},
		{"listed domain itself", hosts, "127.0.0.1:5000", []string{"Host: corp.example"}, 200},
		{"unlisted name", hosts, "127.0.0.1:5000", []string{"Host: evilcorp.example"}, 403},
		{"allowed network under a rebound name", allow, "10.1.2.3:5000", []string{"Host: rebind.attacker.example"}, 403},
		{"a token needs no host check", token, "192.0.2.7:5000", []string{"Host: app.example", "Authorization: Bearer s3cret"}, 200},
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
	s := adminServer(t, baton.AdminConfig{AllowLocal: true})
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
		{"rollback POST", "POST", "/debug/admin/rollback", nil, 501, "no master"},
		{"page POST", "POST", "/debug/admin/restart", []string{"Sec-Fetch-Site: same-origin", "Origin: http://127.0.0.1:8199"}, 501, "no master"},
		{"browser gets a page", "POST", "/debug/admin/reload", []string{"Accept: text/html", "Sec-Fetch-Site: same-origin"}, 501, "reload failed: baton: no master"},
		{"wrong method", "PUT", "/debug/admin/reload", nil, 405, ""},
		{"HEAD never acts", "HEAD", "/debug/admin/shutdown", nil, 405, ""},
		{"foreign Referer", "GET", "/debug/admin/reload", []string{"Referer: http://evil.example/x"}, 403, "Referer: http://evil.example/x"},
		{"foreign Referer on POST", "POST", "/debug/admin/shutdown", []string{"Referer: http://127.0.0.1:8199.evil.example/"}, 403, "Referer"},
		{"own Referer", "POST", "/debug/admin/reload", []string{"Referer: http://127.0.0.1:8199/debug/admin"}, 501, "no master"},
		{"Referer beside Sec-Fetch-Site", "POST", "/debug/admin/reload", []string{"Sec-Fetch-Site: same-origin", "Referer: http://elsewhere.example/"}, 501, "no master"},
		{"rebinding post", "POST", "/debug/admin/shutdown", []string{"Host: rebind.attacker.example:8199", "Origin: http://rebind.attacker.example:8199", "Sec-Fetch-Site: same-origin"}, 403, "Host"},
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
	s := adminServer(t, baton.AdminConfig{AllowLocal: true})
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
	if strings.Contains(page.Body.String(), `id="rollback"`) {
		t.Error("admin page offers a rollback with no previous generation kept")
	}
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

// forwarder relays every TCP connection it accepts on a loopback port to
// target, as ssh -L or kubectl port-forward do: the server sees a loopback
// peer and no proxy header. It returns its address.
func forwarder(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestAdminBehindLocalProxy reaches the admin page through proxies on
// this host, over real sockets: a port forwarder that adds no header, and
// an HTTP reverse proxy that adds X-Forwarded-For.
func TestAdminBehindLocalProxy(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    baton.AdminConfig
		proxy  string // "tcp" or "http"
		bearer string
		direct int // status of a direct request from this host
		via    int // through the proxy
	}{
		{"token, forwarder", baton.AdminConfig{Token: "s3cret", AllowLocal: true}, "tcp", "", 401, 401},
		{"token sent, forwarder", baton.AdminConfig{Token: "s3cret"}, "tcp", "s3cret", 200, 200},
		{"token, reverse proxy", baton.AdminConfig{Token: "s3cret", AllowLocal: true}, "http", "", 401, 401},
		{"no token, forwarder", baton.AdminConfig{}, "tcp", "", 403, 403},
		{"local, reverse proxy", baton.AdminConfig{AllowLocal: true}, "http", "", 200, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := adminServer(t, tt.cfg)
			base := startServer(t, s)
			app := strings.TrimPrefix(base, "http://")
			var via string
			switch tt.proxy {
			case "tcp":
				via = "http://" + forwarder(t, app)
			case "http":
				target, _ := url.Parse(base)
				ps := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
				t.Cleanup(ps.Close)
				via = ps.URL
			}
			for _, c := range []struct {
				base string
				want int
			}{{base, tt.direct}, {via, tt.via}} {
				req, _ := http.NewRequest("GET", c.base+"/debug/admin/status", nil)
				if tt.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tt.bearer)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("GET %s/debug/admin/status = %d, want %d", c.base, resp.StatusCode, c.want)
				}
			}
		})
	}
}
