package baton_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

func TestCORS(t *testing.T) {
	listed := baton.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.org"},
		AllowedHeaders:   []string{"Content-Type", "X-Token"},
		ExposedHeaders:   []string{"X-Total"},
		AllowCredentials: true,
	}
	tests := []struct {
		name   string
		mw     baton.HandlerFunc
		method string
		path   string
		header []string
		code   int
		body   string
		want   map[string]string // "" wants the header absent
	}{
		{name: "preflight of a GET route", mw: baton.CORS(listed), method: "OPTIONS", path: "/get",
			header: []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT",
				"Access-Control-Request-Headers", "content-type,x-token"},
			code: 204, want: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com",
				"Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "content-type,x-token",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "86400"}},
		{name: "preflight of a route of all methods", mw: baton.CORS(listed), method: "OPTIONS", path: "/any",
			header: []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "DELETE"},
			code:   204, want: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "preflight of an unknown path", mw: baton.CORS(listed), method: "OPTIONS", path: "/nothing",
			header: []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "GET"},
			code:   204, want: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "preflight from a foreign origin", mw: baton.CORS(listed), method: "OPTIONS", path: "/get",
			header: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "PUT"},
			code:   204, want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}},
		{name: "preflight asking a header not allowed", mw: baton.CORS(listed), method: "OPTIONS", path: "/get",
			header: []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT",
				"Access-Control-Request-Headers", "x-other"},
			code: 204, want: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "wildcard origin", mw: baton.CORS(listed), method: "GET", path: "/get",
			header: []string{"Origin", "https://a.example.org"}, code: 200, body: "get",
			want: map[string]string{"Access-Control-Allow-Origin": "https://a.example.org", "Access-Control-Expose-Headers": "X-Total",
				"Vary": "Origin"}},
		{name: "actual request from a foreign origin", mw: baton.CORS(listed), method: "GET", path: "/get",
			header: []string{"Origin", "https://evil.example"}, code: 200, body: "get",
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}},
		{name: "plain OPTIONS is no preflight", mw: baton.CORS(listed), method: "OPTIONS", path: "/get",
			code: 200, want: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "default config: any origin, no credentials", mw: baton.CORS(baton.CORSConfig{}), method: "GET", path: "/get",
			header: []string{"Origin", "https://any.example", "Cookie", "a=b"}, code: 200, body: "get",
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
		{name: "MiddlewareCORS preflight", mw: baton.MiddlewareCORS, method: "OPTIONS", path: "/get",
			header: []string{"Origin", "https://any.example", "Access-Control-Request-Method", "PATCH",
				"Access-Control-Request-Headers", "x-custom"},
			code: 204, want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PATCH",
				"Access-Control-Allow-Headers": "x-custom", "Access-Control-Max-Age": "3628800", "Access-Control-Allow-Credentials": ""}},
		{name: "MiddlewareCORS request", mw: baton.MiddlewareCORS, method: "POST", path: "/any",
			header: []string{"Origin", "https://any.example"}, code: 200, body: "any",
			want: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "negative MaxAge", mw: baton.CORS(baton.CORSConfig{MaxAge: -1}), method: "OPTIONS", path: "/get",
			header: []string{"Origin", "https://any.example", "Access-Control-Request-Method", "GET"},
			code:   204, want: map[string]string{"Access-Control-Max-Age": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.Use(tt.mw)
			s.BindHandler("GET:/get", echo("get"))
			s.BindHandler("/any", echo("any"))
			rec := serve(t, s, tt.method, tt.path, nil, tt.header...)
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Fatalf("%s %s = %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body, tt.code, tt.body)
			}
			for k, v := range tt.want {
				if got := strings.Join(rec.Header().Values(k), ", "); got != v {
					t.Errorf("%s %s: %s = %q, want %q", tt.method, tt.path, k, got, v)
				}
			}
		})
	}
}

// TestCORSCredentialsAnyOrigin checks that credentials with every origin
// allowed are refused at registration, naming the fix.
func TestCORSCredentialsAnyOrigin(t *testing.T) {
	for _, origins := range [][]string{nil, {"*"}, {"https://a.example", "*"}} {
		func() {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(errString(p), "AllowedOrigins") {
					t.Errorf("CORS(credentials, origins %q) = panic %v, want one naming AllowedOrigins", origins, p)
				}
			}()
			baton.CORS(baton.CORSConfig{AllowedOrigins: origins, AllowCredentials: true})
		}()
	}
}

func errString(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	s, _ := p.(string)
	return s
}

// TestCORSDefault checks Response.CORSDefault in a handler, as GoFrame's
// is used: the preflight is answered, nothing after it runs.
func TestCORSDefault(t *testing.T) {
	s := newServer(t)
	ran := false
	s.BindHandler("/h", func(r *baton.Request) {
		r.Response.CORSDefault()
		ran = true
		r.Response.Write("ran")
	})
	rec := serve(t, s, "OPTIONS", "/h", nil, "Origin", "https://x.example", "Access-Control-Request-Method", "POST")
	if rec.Code != http.StatusNoContent || ran || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight = %d, handler ran %v, Allow-Origin %q; want 204, false, *", rec.Code, ran,
			rec.Header().Get("Access-Control-Allow-Origin"))
	}
	rec = serve(t, s, "GET", "/h", nil, "Origin", "https://x.example")
	if rec.Body.String() != "ran" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET = %q, Allow-Origin %q", rec.Body, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}
