package baton

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		methods []string
		path    string
		wantErr string
	}{
		{name: "plain", pattern: "/a/b", path: "/a/b"},
		{name: "httprouter param", pattern: "/user/:id", path: "/user/:id"},
		{name: "goframe param", pattern: "/user/{id}", path: "/user/:id"},
		{name: "goframe params", pattern: "/u/{id}/post/{pid}", path: "/u/:id/post/:pid"},
		{name: "catch-all", pattern: "/static/*path", path: "/static/*path"},
		{name: "one method", pattern: "GET:/x", methods: []string{"GET"}, path: "/x"},
		{name: "lower case method", pattern: "post:/x", methods: []string{"POST"}, path: "/x"},
		{name: "several methods", pattern: "GET,POST:/x/{id}", methods: []string{"GET", "POST"}, path: "/x/:id"},
		{name: "ALL", pattern: "ALL:/x", path: "/x"},
		{name: "colon param is not a method", pattern: "/a:/b", path: "/a:/b"},
		{name: "no slash", pattern: "x", wantErr: "path must begin with '/'"},
		{name: "empty", pattern: "", wantErr: "path must begin with '/'"},
		{name: "bad method", pattern: "G3T:/x", wantErr: `invalid method "G3T"`},
		{name: "empty method", pattern: "GET,:/x", wantErr: `invalid method ""`},
		{name: "unclosed brace", pattern: "/u/{id", wantErr: "unclosed '{'"},
		{name: "stray brace", pattern: "/u/id}", wantErr: "unmatched '}'"},
		{name: "empty name", pattern: "/u/{}", wantErr: `invalid parameter name ""`},
		{name: "inside a segment", pattern: "/u/x{id}", path: "/u/x{id}"},
		{name: "suffix", pattern: "/u/{id}.json", path: "/u/{id}.json"},
		{name: "two inside a segment", pattern: "/{hash}.{type}", path: "/{hash}.{type}"},
		{name: "filling the segment", pattern: "/{id}/x", path: "/:id/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methods, path, err := parsePattern(tt.pattern)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parsePattern(%q) error = %v, want one containing %q", tt.pattern, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePattern(%q) error = %v", tt.pattern, err)
			}
			if path != tt.path || !reflect.DeepEqual(methods, tt.methods) {
				t.Errorf("parsePattern(%q) = %q, %q; want %q, %q", tt.pattern, methods, path, tt.methods, tt.path)
			}
		})
	}
}

// FuzzParsePattern checks that parsing never panics and that whatever it
// accepts httprouter accepts too, or register turns the panic into an
// error.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"/", "/a/:b", "/a/{b}", "GET,POST:/x/*y", "/{a}/{b}", "x", "/a/{", "PUT:/:a/:b/*c", "/a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		methods, path, err := parsePattern(pattern)
		if err != nil {
			return
		}
		if path == "" || path[0] != '/' {
			t.Fatalf("parsePattern(%q) accepted path %q", pattern, path)
		}
		for _, m := range methods {
			if m == "" {
				t.Fatalf("parsePattern(%q) gave an empty method", pattern)
			}
		}
		s := newServer("fuzz")
		// register must return an error rather than panic for anything
		// httprouter refuses.
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("register(%q) panicked: %v", pattern, p)
				}
			}()
			s.router.register(s.router.root, pattern, func(*Request) {}, "fuzz")
		}()
	})
}

func TestShape(t *testing.T) {
	for in, want := range map[string]string{
		"/u/:id":        "/u/:",
		"/u/:name/x":    "/u/:/x",
		"/s/*path":      "/s/*",
		"/plain":        "/plain",
		"/:a/:b/*rest":  "/:/:/*",
		"/user/:id/new": "/user/:/new",
		"/p/{id}.html":  "/p/{}.html",
		"/{a}-{b}/:c":   "/{}-{}/:",
	} {
		if got := shape(in); got != want {
			t.Errorf("shape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinPath(t *testing.T) {
	for _, tt := range []struct{ prefix, path, want string }{
		{"", "/a", "/a"},
		{"/api", "/a", "/api/a"},
		{"/api/", "/a", "/api/a"},
		{"/api", "", "/api"},
		{"/api", "/", "/api/"},
	} {
		if got := joinPath(tt.prefix, tt.path); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.prefix, tt.path, got, tt.want)
		}
	}
}

func TestAllMethodsAnswered(t *testing.T) {
	s := newServer("methods")
	s.SetAccessLogEnabled(false)
	s.BindHandler("/any", func(r *Request) { r.Response.Write(r.Method) })
	for _, m := range allMethods {
		if m == http.MethodConnect {
			continue
		}
		req, _ := http.NewRequest(m, "/any", nil)
		rec := newRecorder()
		s.ServeHTTP(rec, req)
		if rec.code != 200 {
			t.Errorf("%s /any = %d, want 200", m, rec.code)
		}
	}
}

// recorder is a minimal ResponseWriter for internal tests.
type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(p)
}

// After the first request the router keeps no registration copy of its
// routes; a later route is probed against a copy made again, and picks the
// engine as it would have before the first request.
func TestLateRouteProbe(t *testing.T) {
	for _, tt := range []struct {
		name, late string
		own        bool
	}{
		{"httprouter holds it", "/shops/:id/items", false},
		{"a static segment beside a parameter", "/shops/new", true},
		{"a parameter inside a segment", "/page/{id}.html", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer("")
			s.BindHandler("/shops/:id", func(r *Request) { r.Response.Write("shop " + r.Param("id")) })
			s.BindHandler("/shops/:id/items/all", func(r *Request) { r.Response.Write("all") })
			rt := s.router
			rt.compile()
			if rt.reg != nil {
				t.Fatal("the registration copy is kept after the serving tree is built")
			}
			s.BindHandler(tt.late, func(r *Request) { r.Response.Write("late") })
			if tab := rt.tree.Load(); (tab.own != nil) != tt.own {
				t.Errorf("own tree = %v, want %v", tab.own != nil, tt.own)
			}
			for path, want := range map[string]string{"/shops/7": "shop 7", "/shops/7/items/all": "all"} {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Body.String() != want {
					t.Errorf("GET %s = %q, want %q", path, w.Body.String(), want)
				}
			}
		})
	}
}
