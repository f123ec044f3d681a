package baton

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigMiddleware(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       MiddlewareConfig
		warn       string
	}{
		{"none", "address: \":0\"", MiddlewareConfig{}, ""},
		{"true is the defaults", "middleware:\n    requestId: true\n    compress: true\n    csrf: true\n    cors: true\n    securityHeaders: true",
			MiddlewareConfig{RequestID: &RequestIDConfig{}, Compress: &CompressConfig{}, CSRF: &CSRFConfig{}, CORS: &CORSConfig{},
				SecurityHeaders: &SecurityHeadersConfig{}}, ""},
		{"false is off", "middleware:\n    compress: false\n    requestId: {header: X-Trace}",
			MiddlewareConfig{RequestID: &RequestIDConfig{Header: "X-Trace"}}, ""},
		{"timeout shorthand", "middleware:\n    timeout: 10s", MiddlewareConfig{Timeout: &TimeoutConfig{Timeout: 10 * time.Second}}, ""},
		{"timeout mapping", "middleware:\n    timeout: {timeout: 2s, status: 504, message: slow}",
			MiddlewareConfig{Timeout: &TimeoutConfig{Timeout: 2 * time.Second, Status: 504, Message: "slow"}}, ""},
		{"settings", "middleware:\n    cors:\n      allowedOrigins: [https://a.example]\n      allowCredentials: true\n      maxAge: 1h\n" +
			"    rateLimit: {rate: 10, burst: 20, ipv6Prefix: 56}\n" +
			"    securityHeaders: {hstsMaxAge: 24h, contentSecurityPolicy: \"default-src 'self'\", frameOptions: DENY}\n" +
			"    compress: {minSize: 2048, level: 9, disableZstd: true, contentTypes: [text/html]}",
			MiddlewareConfig{
				CORS:            &CORSConfig{AllowedOrigins: []string{"https://a.example"}, AllowCredentials: true, MaxAge: time.Hour},
				RateLimit:       &RateLimitConfig{Rate: 10, Burst: 20, IPv6Prefix: 56},
				SecurityHeaders: &SecurityHeadersConfig{HSTSMaxAge: 24 * time.Hour, ContentSecurityPolicy: "default-src 'self'", FrameOptions: "DENY"},
				Compress:        &CompressConfig{MinSize: 2048, Level: 9, DisableZstd: true, ContentTypes: []string{"text/html"}},
			}, ""},
		{"unknown key reported", "middleware:\n    cors: {allowedOrigin: [https://a.example]}\n    gzip: true",
			MiddlewareConfig{CORS: &CORSConfig{}}, `unknown key "server.middleware.cors.allowedOrigin"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := fileServerConfig(t, "server:\n  "+tt.yaml+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Middleware, tt.want) {
				t.Errorf("Middleware = %+v, want %+v", c.Middleware, tt.want)
			}
			if tt.warn != "" && !strings.Contains(warns, tt.warn) {
				t.Errorf("warnings %q, want %q", warns, tt.warn)
			}
			if tt.warn == "" && warns != "" {
				t.Errorf("warnings %q", warns)
			}
		})
	}
}

func TestConfigMiddlewareErrors(t *testing.T) {
	runConfigErrorRows(t, []configErrorRow{
		{"credentials with every origin", "server:\n  middleware:\n    cors: {allowCredentials: true}\n", 3, "server.middleware.cors", "list AllowedOrigins"},
		{"no rate", "server:\n  middleware:\n    rateLimit: {burst: 3}\n", 3, "server.middleware.rateLimit", "positive"},
		{"timeout status", "server:\n  middleware:\n    timeout: {timeout: 1s, status: 404}\n", 3, "server.middleware.timeout", "503 or 504"},
		{"zero timeout", "server:\n  middleware:\n    timeout: 0s\n", 3, "server.middleware.timeout", "positive"},
		{"gzip level", "server:\n  middleware:\n    compress: {level: 42}\n", 3, "server.middleware.compress", "level"},
		{"trusted origin", "server:\n  middleware:\n    csrf: {trustedOrigins: [\"a b\"]}\n", 3, "server.middleware.csrf", "origin"},
		{"not a mapping", "server:\n  middleware:\n    cors: [a]\n", 3, "server.middleware", "cannot unmarshal"},
	})
}

// TestConfigMiddlewareServes turns every middleware on from a file and
// checks that each acts, on a route and on the router's own 404.
func TestConfigMiddlewareServes(t *testing.T) {
	c, _, err := fileServerConfig(t, `server:
  trustedProxies: 10.0.0.0/8
  middleware:
    requestId: true
    securityHeaders: {contentSecurityPolicy: "default-src 'self'"}
    cors: {allowedOrigins: [https://app.example]}
    csrf: true
    rateLimit: {rate: 0.001, burst: 6}
    compress: {minSize: 10}
    timeout: 1m
`)
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	c.AccessLogDisabled = true
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("GET,POST:/", func(r *Request) { r.Response.Write(strings.Repeat("page ", 20)) })
	do := func(method, path string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	rec := do("GET", "/", "Origin", "https://app.example", "Accept-Encoding", "gzip")
	for k, v := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
		"Access-Control-Allow-Origin": "https://app.example", "Content-Encoding": "gzip"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("GET /: %s = %q, want %q", k, got, v)
		}
	}
	if len(rec.Header().Get("X-Request-Id")) != 26 {
		t.Errorf("GET /: X-Request-Id %q", rec.Header().Get("X-Request-Id"))
	}
	if rec := do("GET", "/missing"); rec.Code != 404 || rec.Header().Get("X-Request-Id") == "" || rec.Header().Get("X-Frame-Options") == "" {
		t.Errorf("GET /missing = %d, headers %v: want 404 with the middleware's headers", rec.Code, rec.Header())
	}
	if rec := do("POST", "/", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", rec.Code)
	}
	// Of the burst of 6, the GET and the 404 took two (the refused POST
	// stopped before the limit).
	codes := []int{}
	for range 6 {
		codes = append(codes, do("GET", "/").Code)
	}
	if want := []int{200, 200, 200, 200, 429, 429}; !reflect.DeepEqual(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
}
