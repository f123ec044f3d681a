package baton_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

func bindServer(t *testing.T) *baton.Server {
	t.Helper()
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s
}

type bindExchange struct {
	method, path string
	status       int
	body         string
}

func checkBindExchanges(t *testing.T, s http.Handler, want []bindExchange) {
	t.Helper()
	for _, x := range want {
		rec := serve(t, s, x.method, x.path, nil)
		code, body := rec.Code, rec.Body.String()
		if code != x.status || body != x.body {
			t.Errorf("%s %s: got %d %q, want %d %q", x.method, x.path, code, body, x.status, x.body)
		}
	}
}

// bindPanic runs f and returns the message of its panic, failing t if it
// does not panic.
func bindPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		p := recover()
		if p == nil {
			t.Fatalf("no panic")
		}
		if err, ok := p.(error); ok {
			msg = err.Error()
		} else {
			msg = p.(string)
		}
	}()
	f()
	return ""
}

func sayText(s string) func(*baton.Request) {
	return func(r *baton.Request) { r.Response.Write(s) }
}

// User is a controller: its handler methods become routes.
type User struct{ log *strings.Builder }

func (u *User) Init(r *baton.Request)  { u.log.WriteString("init,"); r.Response.Write("init,") }
func (u *User) Shut(r *baton.Request)  { u.log.WriteString("shut,"); r.Response.Write(",shut") }
func (u *User) Index(r *baton.Request) { r.Response.Write("index") }
func (u *User) List(r *baton.Request)  { r.Response.Write("list") }
func (u *User) ShowItem(r *baton.Request) {
	r.Response.Write("show-item")
}
func (u *User) Deny(r *baton.Request) { r.Response.WriteStatus(http.StatusForbidden, "deny"); r.Exit() }
func (u *User) Stop(r *baton.Request) { r.Response.Write("stop"); r.ExitAll() }

// Helper has another shape: it is not a route.
func (u *User) Helper(x int) int { return x }

// Rest is a REST controller.
type Rest struct{}

func (Rest) Get(r *baton.Request)    { r.Response.Write("get ", r.Param("id")) }
func (Rest) Post(r *baton.Request)   { r.Response.Write("post") }
func (Rest) Put(r *baton.Request)    { r.Response.Write("put") }
func (Rest) Delete(r *baton.Request) { r.Response.Write("delete") }
func (Rest) Patch(r *baton.Request)  { r.Response.Write("patch") }
func (Rest) Head(r *baton.Request)   { r.Response.Header().Set("X-Head", "1") }
func (Rest) Options(r *baton.Request) {
	r.Response.Write("options")
}

// Gate stops in Init: neither the method nor Shut runs.
type Gate struct{}

func (Gate) Init(r *baton.Request) { r.Response.WriteStatus(http.StatusUnauthorized, "no"); r.Exit() }
func (Gate) Shut(r *baton.Request) { r.Response.Write("shut") }
func (Gate) Open(r *baton.Request) { r.Response.Write("open") }

// Empty has no handler method.
type Empty struct{}

func (Empty) Other() {}

func TestBindingStyles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *baton.Server)
		want  []bindExchange
		panic string // part of the registration panic's message, if one is wanted
	}{
		{
			name: "group verbs",
			setup: func(s *baton.Server) {
				s.Group("/api", func(g *baton.RouterGroup) {
					g.GET("/x", sayText("get")).POST("/x", baton.HandlerFunc(sayText("post"))).
						PUT("/x", sayText("put")).PATCH("/x", sayText("patch")).DELETE("/x", sayText("delete")).
						OPTIONS("/x", sayText("options")).TRACE("/x", sayText("trace")).CONNECT("/x", sayText("connect"))
					g.HEAD("/h", func(r *baton.Request) { r.Response.WriteHeader(http.StatusNoContent) })
					g.ALL("/all", sayText("all"))
				})
			},
			want: []bindExchange{
				{"GET", "/api/x", 200, "get"},
				// GET also serves HEAD; net/http, not the recorder, drops the body.
				{"HEAD", "/api/x", 200, "get"}, {"POST", "/api/x", 200, "post"},
				{"PUT", "/api/x", 200, "put"}, {"PATCH", "/api/x", 200, "patch"}, {"DELETE", "/api/x", 200, "delete"},
				{"OPTIONS", "/api/x", 200, "options"}, {"TRACE", "/api/x", 200, "trace"},
				{"CONNECT", "/api/x", 200, "connect"},
				{"HEAD", "/api/h", 204, ""}, {"GET", "/api/h", 405, "Method Not Allowed\n"},
				{"GET", "/api/all", 200, "all"}, {"DELETE", "/api/all", 200, "all"},
			},
		},
		{
			name: "map",
			setup: func(s *baton.Server) {
				s.Group("/m", nil).Map(map[string]any{
					"GET:/a":      sayText("a"),
					"POST,PUT:/b": baton.HandlerFunc(sayText("b")),
					"/c/{id}":     func(r *baton.Request) { r.Response.Write("c", r.Param("id")) },
				})
				s.Group("/all", nil).ALLMap(map[string]any{"/d": sayText("d")})
			},
			want: []bindExchange{
				{"GET", "/m/a", 200, "a"}, {"POST", "/m/a", 405, "Method Not Allowed\n"},
				{"PUT", "/m/b", 200, "b"}, {"DELETE", "/m/c/7", 200, "c7"}, {"PATCH", "/all/d", 200, "d"},
			},
		},
		{
			name: "bind object names and index",
			setup: func(s *baton.Server) {
				s.BindObject("/user", &User{log: new(strings.Builder)}, "Index,List", "ShowItem")
			},
			want: []bindExchange{
				{"GET", "/user", 200, "init,index,shut"}, {"GET", "/user/index", 200, "init,index,shut"},
				{"GET", "/user/list", 200, "init,list,shut"}, {"POST", "/user/show-item", 200, "init,show-item,shut"},
				{"GET", "/user/showitem", 404, "Not Found\n"}, {"GET", "/user/deny", 404, "Not Found\n"},
			},
		},
		{
			name:  "bind object method placeholder",
			setup: func(s *baton.Server) { s.BindObject("GET:/{.struct}/{.method}/x", &User{log: new(strings.Builder)}) },
			want: []bindExchange{
				{"GET", "/user/list/x", 200, "init,list,shut"}, {"GET", "/user/show-item/x", 200, "init,show-item,shut"},
				{"GET", "/user/index/x", 200, "init,index,shut"}, {"GET", "/user", 404, "Not Found\n"},
				{"POST", "/user/list/x", 405, "Method Not Allowed\n"},
			},
		},
		{
			name:  "exit in method still runs shut, exit all does not",
			setup: func(s *baton.Server) { s.BindObject("/u", &User{log: new(strings.Builder)}) },
			want: []bindExchange{
				{"GET", "/u/deny", 403, "init,deny,shut"}, {"GET", "/u/stop", 200, "init,stop"},
			},
		},
		{
			name:  "exit in init skips the method and shut",
			setup: func(s *baton.Server) { s.BindObject("/g", Gate{}) },
			want:  []bindExchange{{"GET", "/g/open", 401, "no"}},
		},
		{
			name:  "bind object method",
			setup: func(s *baton.Server) { s.BindObjectMethod("/just/list", &User{log: new(strings.Builder)}, "List") },
			want:  []bindExchange{{"GET", "/just/list", 200, "init,list,shut"}, {"GET", "/just/list/list", 404, "Not Found\n"}},
		},
		{
			name:  "object through a verb",
			setup: func(s *baton.Server) { s.Group("/v", nil).POST("/user", &User{log: new(strings.Builder)}, "List") },
			want: []bindExchange{
				{"POST", "/v/user/list", 200, "init,list,shut"}, {"GET", "/v/user/list", 405, "Method Not Allowed\n"},
				{"POST", "/v/user/show-item", 404, "Not Found\n"},
			},
		},
		{
			name: "rest",
			setup: func(s *baton.Server) {
				s.Group("/r", nil).REST("/item/{id}", Rest{})
				s.BindObjectRest("/obj", &Rest{})
			},
			want: []bindExchange{
				{"GET", "/r/item/3", 200, "get 3"}, {"POST", "/r/item/3", 200, "post"}, {"PUT", "/r/item/3", 200, "put"},
				{"DELETE", "/r/item/3", 200, "delete"}, {"PATCH", "/r/item/3", 200, "patch"},
				{"OPTIONS", "/r/item/3", 200, "options"}, {"TRACE", "/r/item/3", 405, "Method Not Allowed\n"},
				{"GET", "/obj", 200, "get "},
			},
		},
		{
			name: "bind middleware by pattern",
			setup: func(s *baton.Server) {
				s.BindMiddleware("/api/*", func(r *baton.Request) { r.Response.Write("api<"); r.Middleware.Next(); r.Response.Write(">") })
				s.BindMiddleware("POST:/user/:id", func(r *baton.Request) { r.Response.Write("post-user:"); r.Middleware.Next() })
				s.BindMiddlewareDefault(func(r *baton.Request) { r.Response.Write("all:"); r.Middleware.Next() })
				s.BindHandler("/api/x", sayText("x"))
				s.BindHandler("/user/{id}", sayText("u"))
				s.BindHandler("/other", sayText("o"))
			},
			want: []bindExchange{
				{"GET", "/api/x", 200, "api<all:x>"}, {"GET", "/api", 404, "api<all:Not Found\n>"},
				{"POST", "/user/7", 200, "post-user:all:u"}, {"GET", "/user/7", 200, "all:u"},
				{"GET", "/other", 200, "all:o"}, {"GET", "/apix", 404, "all:Not Found\n"},
			},
		},
		{
			name: "group middleware alias",
			setup: func(s *baton.Server) {
				s.Group("/g", nil).Middleware(func(r *baton.Request) { r.Response.Write("mw:"); r.Middleware.Next() }).GET("/a", sayText("a"))
			},
			want: []bindExchange{{"GET", "/g/a", 200, "mw:a"}},
		},
		{
			name:  "panic: handler of another shape",
			setup: func(s *baton.Server) { s.Group("/", nil).GET("/x", func(w http.ResponseWriter, r *http.Request) {}) },
			panic: `route "GET:/x" (bind_external_test.go:`,
		},
		{
			name:  "panic: names the shape",
			setup: func(s *baton.Server) { s.Group("/", nil).ALL("/x", 42) },
			panic: "handler of type int",
		},
		{
			name: "panic: conflict names both registrations",
			setup: func(s *baton.Server) {
				s.BindHandler("GET:/user/list", sayText("a"))
				s.BindObject("/user", &User{log: new(strings.Builder)})
			},
			panic: `conflicts with "GET:/user/list" (bind_external_test.go:`,
		},
		{
			name: "panic: map conflict",
			setup: func(s *baton.Server) {
				s.Group("/", nil).Map(map[string]any{"/a/{x}": sayText("a"), "/a/{y}": sayText("b")})
			},
			panic: "same path with different parameter names",
		},
		{
			name:  "panic: unknown object method",
			setup: func(s *baton.Server) { s.BindObject("/user", &User{log: new(strings.Builder)}, "List,Nope") },
			panic: "User has no method Nope(*baton.Request)",
		},
		{
			name:  "panic: object without handler methods",
			setup: func(s *baton.Server) { s.BindObject("/e", Empty{}) },
			panic: "Empty has no exported method of the handler shape",
		},
		{
			name:  "panic: rest without http methods",
			setup: func(s *baton.Server) { s.BindObjectRest("/e", &User{log: new(strings.Builder)}) },
			panic: "User has no method named after an HTTP method",
		},
		{
			name:  "panic: object is not a struct",
			setup: func(s *baton.Server) { s.BindObject("/e", "text") },
			panic: "object of type string: want a struct",
		},
		{
			name:  "panic: method names for a handler",
			setup: func(s *baton.Server) { s.Group("/", nil).GET("/x", sayText("x"), "List") },
			panic: "method names are given for a handler",
		},
		{
			name:  "panic: bind middleware pattern",
			setup: func(s *baton.Server) { s.BindMiddleware("/a/*x/b", func(r *baton.Request) {}) },
			panic: "catch-all \"*x\" must end the path",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bindServer(t)
			if tt.panic != "" {
				if msg := bindPanic(t, func() { tt.setup(s) }); !strings.Contains(msg, tt.panic) {
					t.Fatalf("panic %q, want it to contain %q", msg, tt.panic)
				}
				return
			}
			tt.setup(s)
			checkBindExchanges(t, s, tt.want)
		})
	}
}

// TestRestHeadMethod checks that a controller's Head method serves HEAD
// rather than Get's implicit HEAD.
func TestRestHeadMethod(t *testing.T) {
	s := bindServer(t)
	s.BindObjectRest("/r", Rest{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/r", nil))
	if got := rec.Header().Get("X-Head"); rec.Code != http.StatusOK || got != "1" {
		t.Fatalf("HEAD /r: got %d X-Head=%q, want 200 X-Head=\"1\"", rec.Code, got)
	}
}

// TestObjectInitShutOrder checks that Init and Shut run around each
// request of the object, in that order.
func TestObjectInitShutOrder(t *testing.T) {
	s := bindServer(t)
	u := &User{log: new(strings.Builder)}
	s.BindObject("/user", u)
	for _, p := range []string{"/user/list", "/user/show-item", "/user/deny", "/user/stop"} {
		serve(t, s, http.MethodGet, p, nil)
	}
	if got, want := u.log.String(), "init,shut,init,shut,init,shut,init,"; got != want {
		t.Fatalf("Init/Shut calls: got %q, want %q", got, want)
	}
}
