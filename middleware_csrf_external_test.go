package baton_test

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

func TestCSRF(t *testing.T) {
	conf := baton.CSRFConfig{TrustedOrigins: []string{"https://admin.example.com"}, BypassPatterns: []string{"POST /hooks/"}}
	tests := []struct {
		name, method, path string
		header             []string
		code               int
	}{
		{"same-origin form", "POST", "/form", []string{"Sec-Fetch-Site", "same-origin", "Origin", "https://site.example"}, 200},
		{"cross-site form", "POST", "/form", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site is another origin", "POST", "/form", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://a.site.example"}, 403},
		{"cross-site JSON API with a cookie", "DELETE", "/api", []string{"Sec-Fetch-Site", "cross-site", "Cookie", "sid=1",
			"Content-Type", "application/json"}, 403},
		{"old browser, foreign Origin", "POST", "/form", []string{"Origin", "https://evil.example"}, 403},
		{"old browser, own Origin", "POST", "/form", []string{"Origin", "http://site.example"}, 200},
		{"not a browser", "POST", "/form", nil, 200},
		{"user typed it", "POST", "/form", []string{"Sec-Fetch-Site", "none"}, 200},
		{"cross-site GET is safe", "GET", "/form", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 200},
		{"trusted origin", "POST", "/form", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://admin.example.com"}, 200},
		{"bypassed webhook", "POST", "/hooks/pay", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://pay.example"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.Use(baton.CSRF(conf))
			ran := false
			s.BindHandler("/*any", func(r *baton.Request) { ran = true; r.Response.Write("done") })
			req := httptest.NewRequest(tt.method, "http://site.example"+tt.path, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.code || ran != (tt.code == 200) {
				t.Fatalf("%s %s = %d (handler ran: %v), want %d", tt.method, tt.path, rec.Code, ran, tt.code)
			}
		})
	}
}

func TestCSRFBadOrigin(t *testing.T) {
	defer func() {
		if p := recover(); p == nil || !strings.Contains(errString(p), "baton: CSRF") {
			t.Fatalf("panic %v, want a baton: CSRF error", p)
		}
	}()
	baton.CSRF(baton.CSRFConfig{TrustedOrigins: []string{"not an origin/path"}})
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name   string
		conf   baton.SecurityHeadersConfig
		tls    bool
		remote string
		header []string
		want   map[string]string // "" wants it absent
	}{
		{name: "defaults over HTTP", want: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
			"Referrer-Policy": "strict-origin-when-cross-origin", "Strict-Transport-Security": "", "Content-Security-Policy": ""}},
		{name: "HSTS over TLS", tls: true, want: map[string]string{"Strict-Transport-Security": "max-age=63072000"}},
		{name: "HSTS behind a trusted TLS proxy", remote: "10.0.0.1:1", header: []string{"X-Forwarded-Proto", "https"},
			want: map[string]string{"Strict-Transport-Security": "max-age=63072000"}},
		{name: "an untrusted peer's X-Forwarded-Proto", remote: "192.0.2.1:1", header: []string{"X-Forwarded-Proto", "https"},
			want: map[string]string{"Strict-Transport-Security": ""}},
		{name: "HSTS options", tls: true, conf: baton.SecurityHeadersConfig{HSTSMaxAge: 3600e9, HSTSIncludeSubdomains: true, HSTSPreload: true},
			want: map[string]string{"Strict-Transport-Security": "max-age=3600; includeSubDomains; preload"}},
		{name: "HSTS off", tls: true, conf: baton.SecurityHeadersConfig{HSTSMaxAge: -1}, want: map[string]string{"Strict-Transport-Security": ""}},
		{name: "CSP and COOP", conf: baton.SecurityHeadersConfig{ContentSecurityPolicy: "default-src 'self'", CrossOriginOpenerPolicy: "same-origin",
			FrameOptions: "DENY"}, want: map[string]string{"Content-Security-Policy": "default-src 'self'",
			"Cross-Origin-Opener-Policy": "same-origin", "X-Frame-Options": "DENY"}},
		{name: "CSP report-only", conf: baton.SecurityHeadersConfig{ContentSecurityPolicy: "default-src 'self'", CSPReportOnly: true},
			want: map[string]string{"Content-Security-Policy-Report-Only": "default-src 'self'", "Content-Security-Policy": ""}},
		{name: "turned off", conf: baton.SecurityHeadersConfig{FrameOptions: "-", ReferrerPolicy: "-", NoSniffOff: true},
			want: map[string]string{"X-Frame-Options": "", "Referrer-Policy": "", "X-Content-Type-Options": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			c := s.Config()
			c.TrustedProxies = []string{"10.0.0.0/8"}
			if err := s.SetConfig(c); err != nil {
				t.Fatal(err)
			}
			s.Use(baton.SecurityHeaders(tt.conf))
			s.BindHandler("/", echo("page"))
			s.BindHandler("/own", func(r *baton.Request) {
				r.Response.Header().Set("X-Frame-Options", "DENY")
				r.Response.Write("own")
			})
			req := httptest.NewRequest("GET", "/", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("a handler's own header wins", func(t *testing.T) {
		s := newServer(t)
		s.Use(baton.MiddlewareSecurityHeaders)
		s.BindHandler("/", func(r *baton.Request) {
			r.Response.Header().Set("X-Frame-Options", "DENY")
			r.Response.Write("own")
		})
		if got := serve(t, s, "GET", "/", nil).Header().Get("X-Frame-Options"); got != "DENY" {
			t.Fatalf("X-Frame-Options = %q, want the handler's DENY", got)
		}
	})
}
