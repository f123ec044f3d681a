package swaggerui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := New("/docs/", "/api.json?x=<y>", "Pets & co")
	tests := []struct {
		name, path, accept, etag string
		status                   int
		typ, encoding            string
		body                     []string // substrings of the decoded body
	}{
		{"page", "/docs", "", "", 200, "text/html; charset=utf-8", "",
			[]string{`data-url="/api.json?x=%3cy%3e"`, "<title>Pets &amp; co</title>", `src="/docs/swagger-ui-bundle.js?v=`}},
		{"page slash", "/docs/", "", "", 200, "text/html; charset=utf-8", "", []string{`id="swagger-ui"`}},
		{"bundle gzipped", "/docs/swagger-ui-bundle.js", "br, gzip", "", 200, "text/javascript; charset=utf-8", "gzip",
			[]string{"SwaggerUIBundle"}},
		{"bundle plain", "/docs/swagger-ui-bundle.js", "gzip;q=0", "", 200, "text/javascript; charset=utf-8", "",
			[]string{"SwaggerUIBundle"}},
		{"css", "/docs/swagger-ui.css", "", "", 200, "text/css; charset=utf-8", "", []string{".swagger-ui"}},
		{"init", "/docs/init.js", "gzip", "", 200, "text/javascript; charset=utf-8", "", []string{"validatorUrl: null"}},
		{"cached", "/docs/init.js", "", `"` + version + `-init.js"`, 304, "text/javascript; charset=utf-8", "", nil},
		{"unknown", "/docs/secret.txt", "", "", 404, "text/plain; charset=utf-8", "", nil},
		{"outside", "/other", "", "", 404, "text/plain; charset=utf-8", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			if tt.etag != "" {
				req.Header.Set("If-None-Match", tt.etag)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			res := w.Result()
			if res.StatusCode != tt.status || res.Header.Get("Content-Type") != tt.typ ||
				res.Header.Get("Content-Encoding") != tt.encoding {
				t.Fatalf("GET %q: %d %q %q, want %d %q %q", tt.path, res.StatusCode,
					res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"), tt.status, tt.typ, tt.encoding)
			}
			body := w.Body.Bytes()
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range tt.body {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("GET %q: body lacks %q", tt.path, want)
				}
			}
		})
	}
}

func TestPageHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	New("/swagger", "/api.json", "API").ServeHTTP(w, httptest.NewRequest("GET", "/swagger", nil))
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(w.Body.String(), "http") {
		t.Errorf("the page names an outside address:\n%s", w.Body)
	}
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
}

func TestVersion(t *testing.T) {
	b, err := assets.ReadFile("assets/VERSION")
	if err != nil || strings.TrimSpace(string(b)) != version {
		t.Errorf("assets/VERSION = %q (%v), want %q: update version with fetch.sh", b, err, version)
	}
}
