package baton_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

var serverSeq atomic.Int64

// newServer returns a fresh registered server with the access log off.
func newServer(t *testing.T) *baton.Server {
	t.Helper()
	s := baton.GetServer(fmt.Sprintf("%s-%d", t.Name(), serverSeq.Add(1)))
	c := s.Config()
	c.AccessLogDisabled = true
	c.IdleGrace = 50 * time.Millisecond
	c.Logger = slog.New(slog.NewTextHandler(testLogWriter{t}, nil))
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	return s
}

// testLogWriter sends a server's log to the test's log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// serve runs one request through h and returns the recorder.
func serve(t *testing.T, h http.Handler, method, target string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func echo(text string) baton.HandlerFunc {
	return func(r *baton.Request) { r.Response.Write(text) }
}

func TestRouting(t *testing.T) {
	s := newServer(t)
	s.BindHandler("/", echo("root"))
	s.BindHandler("GET:/static", echo("static"))
	s.BindHandler("GET:/user/:id", func(r *baton.Request) { r.Response.Write("user ", r.Param("id")) })
	s.BindHandler("GET:/post/{pid}/comment/{cid}", func(r *baton.Request) {
		r.Response.Write(r.Param("pid"), "/", r.Param("cid"))
	})
	s.BindHandler("GET:/files/*path", func(r *baton.Request) { r.Response.Write("file ", r.Param("path")) })
	s.BindHandler("GET,POST:/form", func(r *baton.Request) { r.Response.Write("form ", r.Method) })
	s.BindHandler("/any", func(r *baton.Request) { r.Response.Write("any ", r.Method) })
	s.BindHandler("PUT:/slash/", echo("slash"))
	s.Handle("GET:/std/{name}", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("X-Std", "1")
		fmt.Fprint(w, "std ", req.PathValue("name"))
	}))

	tests := []struct {
		name     string
		method   string
		target   string
		code     int
		body     string
		header   string // "Key: value" expected in the response
		noHeader string
	}{
		{name: "root", method: "GET", target: "/", code: 200, body: "root"},
		{name: "static", method: "GET", target: "/static", code: 200, body: "static"},
		{name: "httprouter param", method: "GET", target: "/user/42", code: 200, body: "user 42"},
		{name: "goframe params", method: "GET", target: "/post/7/comment/9", code: 200, body: "7/9"},
		{name: "catch-all", method: "GET", target: "/files/a/b.txt", code: 200, body: "file /a/b.txt"},
		{name: "method list GET", method: "GET", target: "/form", code: 200, body: "form GET"},
		{name: "method list POST", method: "POST", target: "/form", code: 200, body: "form POST"},
		{name: "no method means all", method: "DELETE", target: "/any", code: 200, body: "any DELETE"},
		{name: "GET answers HEAD", method: "HEAD", target: "/static", code: 200},
		{name: "405 with Allow", method: "POST", target: "/static", code: 405, header: "Allow: GET, HEAD, OPTIONS"},
		{name: "405 on method list", method: "DELETE", target: "/form", code: 405, header: "Allow: GET, HEAD, OPTIONS, POST"},
		{name: "OPTIONS answered", method: "OPTIONS", target: "/user/1", code: 200, header: "Allow: GET, HEAD, OPTIONS"},
		{name: "404", method: "GET", target: "/nope", code: 404, body: "Not Found\n"},
		{name: "trailing slash removed", method: "GET", target: "/static/", code: 301, header: "Location: /static"},
		{name: "trailing slash added", method: "PUT", target: "/slash", code: 307, header: "Location: /slash/"},
		{name: "fixed path", method: "GET", target: "/STATIC", code: 301, header: "Location: /static"},
		{name: "standard handler", method: "GET", target: "/std/ann", code: 200, body: "std ann", header: "X-Std: 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, tt.method, tt.target, nil)
			if rec.Code != tt.code {
				t.Fatalf("%s %s = %d, want %d (body %q)", tt.method, tt.target, rec.Code, tt.code, rec.Body)
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.target, rec.Body, tt.body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.target, k, got, v)
				}
			}
		})
	}
}

func TestGroups(t *testing.T) {
	s := newServer(t)
	var trail []string
	mark := func(name string) baton.HandlerFunc {
		return func(r *baton.Request) {
			trail = append(trail, name+">")
			r.Middleware.Next()
			trail = append(trail, "<"+name)
		}
	}
	s.Use(mark("server"))
	s.Group("/api", func(g *baton.RouterGroup) {
		g.Use(mark("api"))
		g.BindHandler("GET:/ping", func(r *baton.Request) { trail = append(trail, "ping"); r.Response.Write("pong") })
		g.Group("/v1/{org}", func(g *baton.RouterGroup) {
			g.Use(mark("v1"))
			g.BindHandler("GET:/users/{id}", func(r *baton.Request) {
				trail = append(trail, "user")
				r.Response.Write(r.Param("org"), ":", r.Param("id"))
			})
		})
	})
	tests := []struct {
		target string
		body   string
		trail  string
	}{
		{"/api/ping", "pong", "server> api> ping <api <server"},
		{"/api/v1/acme/users/3", "acme:3", "server> api> v1> user <v1 <api <server"},
		{"/missing", "Not Found\n", "server> <server"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			trail = nil
			rec := serve(t, s, "GET", tt.target, nil)
			if rec.Body.String() != tt.body {
				t.Errorf("GET %s body = %q, want %q", tt.target, rec.Body, tt.body)
			}
			if got := strings.Join(trail, " "); got != tt.trail {
				t.Errorf("GET %s ran %q, want %q", tt.target, got, tt.trail)
			}
		})
	}
}

func TestRegistrationPanics(t *testing.T) {
	site := regexp.MustCompile(`router_external_test\.go:\d+`)
	tests := []struct {
		name   string
		first  string
		second string
		want   []string // substrings of the panic message
	}{
		{name: "duplicate", first: "GET:/a", second: "GET:/a",
			want: []string{`"GET:/a"`, "conflicts with", "both match the same paths"}},
		{name: "all methods duplicate a method", first: "/b", second: "POST:/b",
			want: []string{`"POST:/b"`, `"/b"`}},
		{name: "param names differ", first: "GET:/user/:id", second: "GET:/user/{name}",
			want: []string{`"GET:/user/:name"`, `"GET:/user/:id"`, "different parameter names"}},
		{name: "inner param names differ", first: "GET:/p/{id}.html", second: "GET:/p/{name}.html",
			want: []string{`"GET:/p/{name}.html"`, `"GET:/p/{id}.html"`, "different parameter names"}},
		{name: "inner param duplicate", first: "/p/{a}-{b}", second: "PUT:/p/{a}-{b}",
			want: []string{`"PUT:/p/{a}-{b}"`, `"/p/{a}-{b}"`, "both match the same paths for PUT"}},
		{name: "catch-all names differ", first: "GET:/s/*all", second: "GET:/s/*rest",
			want: []string{`"GET:/s/*rest"`, `"GET:/s/*all"`, "different parameter names"}},
		{name: "braces and colon name one pattern", first: "GET:/g/:id", second: "GET:/g/{id}",
			want: []string{`"GET:/g/:id"`, "both match the same paths"}},
		{name: "adjacent inner params", second: "GET:/p/{a}{b}",
			want: []string{"{a} and {b} must be separated by literal text"}},
		{name: "colon inside a segment", second: "GET:/p/a:b",
			want: []string{"must begin a segment"}},
		{name: "catch-all not last", second: "GET:/s/*all/x",
			want: []string{"only allowed at the end"}},
		{name: "unnamed catch-all", second: "GET:/s/*",
			want: []string{"wildcards must be named"}},
		{name: "bad pattern", second: "GET:/u/{id",
			want: []string{`"GET:/u/{id"`, "unclosed"}},
		{name: "bad method", second: "G1:/u",
			want: []string{"invalid method"}},
		{name: "unnamed wildcard", second: "GET:/u/:",
			want: []string{"wildcards must be named"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			if tt.first != "" {
				s.BindHandler(tt.first, echo("1"))
			}
			msg := func() (msg string) {
				defer func() {
					if p := recover(); p != nil {
						msg = fmt.Sprint(p)
					}
				}()
				s.BindHandler(tt.second, echo("2"))
				return ""
			}()
			if msg == "" {
				t.Fatalf("BindHandler(%q) after %q did not panic", tt.second, tt.first)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q does not contain %q", msg, w)
				}
			}
			wantSites := 1
			if tt.first != "" && strings.Contains(msg, "conflicts with") {
				wantSites = 2
			}
			if got := len(site.FindAllString(msg, -1)); got != wantSites {
				t.Errorf("panic %q names %d registration sites, want %d", msg, got, wantSites)
			}
			// The failed registration changed nothing: the first route still
			// serves.
			if tt.first != "" {
				path := tt.first[strings.Index(tt.first, "/"):]
				path = strings.NewReplacer(":id", "1", "{name}", "1", "{id}", "1", "{a}", "1", "{b}", "2", "*all", "x").Replace(path)
				if rec := serve(t, s, "GET", path, nil); rec.Code != 200 {
					t.Errorf("GET %s after failed registration = %d, want 200", path, rec.Code)
				}
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Run("after Next runs after the handler", func(t *testing.T) {
		s := newServer(t)
		s.Use(func(r *baton.Request) {
			r.Middleware.Next()
			r.Response.Header().Set("X-Status-Seen", fmt.Sprint(r.Response.Status()))
		})
		s.BindHandler("/", func(r *baton.Request) { r.Response.WriteStatus(202, "ok") })
		rec := serve(t, s, "GET", "/", nil)
		if rec.Code != 202 || rec.Header().Get("X-Status-Seen") != "202" {
			t.Errorf("got %d, X-Status-Seen %q; want 202, 202", rec.Code, rec.Header().Get("X-Status-Seen"))
		}
	})
	t.Run("not calling Next ends the chain", func(t *testing.T) {
		s := newServer(t)
		s.Use(func(r *baton.Request) { r.Response.WriteStatus(401) })
		ran := false
		s.BindHandler("/", func(r *baton.Request) { ran = true })
		if rec := serve(t, s, "GET", "/", nil); rec.Code != 401 || ran {
			t.Errorf("got %d, handler ran %v; want 401, false", rec.Code, ran)
		}
	})
	t.Run("Exit stops the chain", func(t *testing.T) {
		s := newServer(t)
		var after []string
		s.Use(func(r *baton.Request) {
			r.Middleware.Next()
			after = append(after, fmt.Sprint("outer resumes, exited=", r.IsExited()))
		})
		s.Use(func(r *baton.Request) {
			if r.Query("stop") != "" {
				r.Response.WriteStatus(403, "stopped")
				r.Exit()
				after = append(after, "unreachable")
			}
			r.Middleware.Next()
		})
		s.BindHandler("/", echo("handler"))
		rec := serve(t, s, "GET", "/?stop=1", nil)
		if rec.Code != 403 || rec.Body.String() != "stopped" {
			t.Errorf("got %d %q, want 403 \"stopped\"", rec.Code, rec.Body)
		}
		if got := strings.Join(after, ";"); got != "outer resumes, exited=true" {
			t.Errorf("after = %q", got)
		}
	})
	t.Run("standard middleware", func(t *testing.T) {
		s := newServer(t)
		s.Use(baton.WrapMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Std-Mw", "yes")
				next.ServeHTTP(w, r)
			})
		}))
		// A middleware that wraps the writer sees what the chain writes.
		s.Use(baton.WrapMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				uw := &upperWriter{ResponseWriter: w}
				next.ServeHTTP(uw, r)
			})
		}))
		s.BindHandler("/", func(r *baton.Request) {
			r.Response.Header().Set("X-Late", "set after write")
			r.Response.Write("quiet")
			r.Response.WriteHeader(201)
		})
		rec := serve(t, s, "GET", "/", nil)
		if rec.Code != 201 || rec.Body.String() != "QUIET" || rec.Header().Get("X-Std-Mw") != "yes" || rec.Header().Get("X-Late") == "" {
			t.Errorf("got %d %q %v; want 201 \"QUIET\" with X-Std-Mw and X-Late", rec.Code, rec.Body, rec.Header())
		}
	})
}

type upperWriter struct{ http.ResponseWriter }

func (u *upperWriter) Write(p []byte) (int, error) {
	return u.ResponseWriter.Write([]byte(strings.ToUpper(string(p))))
}

// A route registered while requests are being served is answered from then
// on, the routes before it keep answering, and (under -race) no request sees
// the tree being changed.
func TestRegisterWhileServing(t *testing.T) {
	s := newServer(t)
	s.Use(func(r *baton.Request) {
		r.Response.Header().Set("X-Mw", "1")
		r.Middleware.Next()
	})
	s.BindHandler("GET:/first", echo("first"))
	if rec := serve(t, s, "GET", "/first", nil); rec.Body.String() != "first" {
		t.Fatalf("GET /first = %d %q before any late route", rec.Code, rec.Body)
	}

	const late = 20
	stop := make(chan struct{})
	errs := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; n < 100000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			rec := serve(t, s, "GET", "/first", nil)
			if rec.Body.String() != "first" || rec.Header().Get("X-Mw") != "1" {
				select {
				case errs <- fmt.Sprintf("GET /first = %d %q, X-Mw %q", rec.Code, rec.Body, rec.Header().Get("X-Mw")):
				default:
				}
				return
			}
		}
	}()
	for i := range late {
		path := fmt.Sprintf("/late/%d", i)
		s.BindHandler("GET:"+path, echo(path))
		rec := serve(t, s, "GET", path, nil)
		if rec.Body.String() != path || rec.Header().Get("X-Mw") != "1" {
			t.Errorf("GET %s right after its registration = %d %q, X-Mw %q", path, rec.Code, rec.Body, rec.Header().Get("X-Mw"))
		}
	}
	close(stop)
	<-done
	select {
	case e := <-errs:
		t.Error(e)
	default:
	}
	if rec := serve(t, s, "GET", "/late/0", nil); rec.Body.String() != "/late/0" {
		t.Errorf("GET /late/0 after all registrations = %d %q", rec.Code, rec.Body)
	}
	if rec := serve(t, s, "POST", "/late/0", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /late/0 = %d, want 405", rec.Code)
	}
}

// paramName finds the parameter names of a pattern, for handlers that echo
// what they matched.
var paramName = regexp.MustCompile(`[:*](\w+)|\{(\w+)\}`)

// echoRoute answers with the pattern it was registered for and its
// parameters in order: "/u/:id id=7".
func echoRoute(pattern string) baton.HandlerFunc {
	var names []string
	for _, m := range paramName.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1]+m[2])
	}
	return func(r *baton.Request) {
		r.Response.Write(pattern)
		for _, n := range names {
			r.Response.Write(" ", n, "=", r.Param(n))
		}
	}
}

// TestRoutePriority serves route tables where a static segment, a
// parameter, a parameter inside a segment and a catch-all share a
// position: the most specific segment wins, segment by segment, and a
// lookup that fails deeper down comes back to try the next one.
func TestRoutePriority(t *testing.T) {
	type req struct {
		method, target string
		code           int
		body           string
		header         string // "Key: value" expected in the response
	}
	tests := []struct {
		name   string
		routes []string
		reqs   []req
	}{
		{name: "static beside param", routes: []string{"GET:/shops/:id", "GET:/shops/new"}, reqs: []req{
			{"GET", "/shops/new", 200, "GET:/shops/new", ""},
			{"GET", "/shops/7", 200, "GET:/shops/:id id=7", ""},
			{"GET", "/shops/newer", 200, "GET:/shops/:id id=newer", ""},
			{"GET", "/shops/", 404, "", ""},
			{"GET", "/shops/7/", 301, "", "Location: /shops/7"},
			{"HEAD", "/shops/new", 200, "", ""},
			{"POST", "/shops/new", 405, "", "Allow: GET, HEAD, OPTIONS"},
			{"OPTIONS", "/shops/9", 200, "", "Allow: GET, HEAD, OPTIONS"},
			{"GET", "/SHOPS/NEW", 301, "", "Location: /shops/new"},
		}},
		{name: "param registered after static", routes: []string{"GET:/user/details", "GET:/user/{id}"}, reqs: []req{
			{"GET", "/user/details", 200, "GET:/user/details", ""},
			{"GET", "/user/3", 200, "GET:/user/{id} id=3", ""},
		}},
		{name: "static after a leading param", routes: []string{"/:name/:action", "/:name/update"}, reqs: []req{
			{"PUT", "/ann/update", 200, "/:name/update name=ann", ""},
			{"PUT", "/ann/delete", 200, "/:name/:action name=ann action=delete", ""},
		}},
		{name: "backtracking", routes: []string{"GET:/a/:x/c", "GET:/a/b/d"}, reqs: []req{
			{"GET", "/a/b/c", 200, "GET:/a/:x/c x=b", ""},
			{"GET", "/a/b/d", 200, "GET:/a/b/d", ""},
			{"GET", "/a/z/c", 200, "GET:/a/:x/c x=z", ""},
			{"GET", "/a/z/d", 404, "", ""},
		}},
		{name: "param beside catch-all", routes: []string{"GET:/f/*path", "GET:/f/:name", "GET:/f/list"}, reqs: []req{
			{"GET", "/f/list", 200, "GET:/f/list", ""},
			{"GET", "/f/x", 200, "GET:/f/:name name=x", ""},
			{"GET", "/f/x/y", 200, "GET:/f/*path path=/x/y", ""},
			{"GET", "/f/list/y", 200, "GET:/f/*path path=/list/y", ""},
			{"GET", "/f/", 200, "GET:/f/*path path=/", ""},
			{"GET", "/f", 301, "", "Location: /f/"},
		}},
		{name: "catch-all at the root", routes: []string{"GET:/*any", "GET:/api/:v", "GET:/"}, reqs: []req{
			{"GET", "/", 200, "GET:/", ""},
			{"GET", "/api/1", 200, "GET:/api/:v v=1", ""},
			{"GET", "/api/1/2", 200, "GET:/*any any=/api/1/2", ""},
			{"GET", "/x", 200, "GET:/*any any=/x", ""},
		}},
		{name: "parameter inside a segment", routes: []string{"GET:/p/{id}.html", "GET:/p/{hash}.{type}", "GET:/p/admin-{page}", "GET:/p/:any", "GET:/p/index.html"}, reqs: []req{
			{"GET", "/p/index.html", 200, "GET:/p/index.html", ""},
			{"GET", "/p/7.html", 200, "GET:/p/{id}.html id=7", ""},
			{"GET", "/p/a.b.html", 200, "GET:/p/{id}.html id=a.b", ""},
			{"GET", "/p/abc.tar.gz", 200, "GET:/p/{hash}.{type} hash=abc.tar type=gz", ""},
			{"GET", "/p/admin-3", 200, "GET:/p/admin-{page} page=3", ""},
			{"GET", "/p/admin-", 200, "GET:/p/:any any=admin-", ""},
			{"GET", "/p/.html", 200, "GET:/p/:any any=.html", ""},
			{"GET", "/p/plain", 200, "GET:/p/:any any=plain", ""},
			{"POST", "/p/7.html", 405, "", "Allow: GET, HEAD, OPTIONS"},
		}},
		{name: "inner parameter alone", routes: []string{"GET:/{id}.html"}, reqs: []req{
			{"GET", "/42.html", 200, "GET:/{id}.html id=42", ""},
			{"GET", "/42.htm", 404, "", ""},
			{"GET", "/42.html/", 301, "", "Location: /42.html"},
		}},
		{name: "same position different names on different paths", routes: []string{"GET:/a/:x/c", "GET:/a/:y/d", "GET:/a/:x"}, reqs: []req{
			{"GET", "/a/1/c", 200, "GET:/a/:x/c x=1", ""},
			{"GET", "/a/1/d", 200, "GET:/a/:y/d y=1", ""},
			{"GET", "/a/1", 200, "GET:/a/:x x=1", ""},
		}},
		{name: "methods split over shapes", routes: []string{"GET:/r/:id", "POST:/r/new", "DELETE:/r/{id}"}, reqs: []req{
			{"POST", "/r/new", 200, "POST:/r/new", ""},
			{"GET", "/r/new", 200, "GET:/r/:id id=new", ""},
			{"DELETE", "/r/new", 200, "DELETE:/r/{id} id=new", ""},
			{"PUT", "/r/new", 405, "", "Allow: DELETE, GET, HEAD, OPTIONS, POST"},
			{"PUT", "/r/5", 405, "", "Allow: DELETE, GET, HEAD, OPTIONS"},
			{"OPTIONS", "/r/new", 200, "", "Allow: DELETE, GET, HEAD, OPTIONS, POST"},
			{"OPTIONS", "*", 200, "", "Allow: DELETE, GET, HEAD, OPTIONS, POST"},
			{"GET", "/nope", 404, "Not Found\n", ""},
		}},
		{name: "long shared prefix", routes: []string{"GET:/api/shops/:id", "GET:/api/shops/new"}, reqs: []req{
			{"GET", "/api/shops/new", 200, "GET:/api/shops/new", ""},
			{"GET", "/api/shops/1", 200, "GET:/api/shops/:id id=1", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			for _, p := range tt.routes {
				s.BindHandler(p, echoRoute(p))
			}
			for _, rq := range tt.reqs {
				rec := serve(t, s, rq.method, rq.target, nil)
				if rec.Code != rq.code {
					t.Errorf("%s %s = %d %q, want %d", rq.method, rq.target, rec.Code, rec.Body, rq.code)
					continue
				}
				if rq.body != "" && rec.Body.String() != rq.body {
					t.Errorf("%s %s body = %q, want %q", rq.method, rq.target, rec.Body, rq.body)
				}
				if rq.header != "" {
					k, v, _ := strings.Cut(rq.header, ": ")
					if got := rec.Header().Get(k); got != v {
						t.Errorf("%s %s header %s = %q, want %q", rq.method, rq.target, k, got, v)
					}
				}
			}
		})
	}
}
