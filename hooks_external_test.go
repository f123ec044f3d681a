package baton_test

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/baton-go/baton"
)

// trace records the steps of requests for the hook tests.
type trace struct {
	mu sync.Mutex
	b  strings.Builder
}

func (tr *trace) step(s string) baton.HandlerFunc {
	return func(r *baton.Request) { tr.add(s) }
}

func (tr *trace) add(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.b.Len() > 0 {
		tr.b.WriteByte(',')
	}
	tr.b.WriteString(s)
}

func (tr *trace) take() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.b.String()
	tr.b.Reset()
	return s
}

func TestHooks(t *testing.T) {
	type req struct {
		method, path string
		status       int
		body         string
		trace        string
	}
	tests := []struct {
		name  string
		setup func(s *baton.Server, tr *trace)
		reqs  []req
		panic string
	}{
		{
			name: "order of the hook points around the chain",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandlerByMap("/*any", map[baton.HookName]baton.HandlerFunc{
					baton.HookAfterOutput:  tr.step("after-output"),
					baton.HookBeforeServe:  tr.step("before-serve"),
					baton.HookBeforeOutput: tr.step("before-output"),
					baton.HookAfterServe:   tr.step("after-serve"),
				})
				s.Use(func(r *baton.Request) { tr.add("mw"); r.Middleware.Next() })
				s.BindHandler("GET:/x", func(r *baton.Request) { tr.add("handler"); r.Response.Write("x") })
			},
			reqs: []req{
				{"GET", "/x", 200, "x", "before-serve,mw,handler,after-serve,before-output,after-output"},
				{"GET", "/nothing", 404, "Not Found\n", "before-serve,mw,after-serve,before-output,after-output"},
				{"POST", "/x", 405, "Method Not Allowed\n", "before-serve,mw,after-serve,before-output,after-output"},
			},
		},
		{
			name: "several hooks run in registration order, by pattern",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/api/*", baton.HookBeforeServe, tr.step("api-1"))
				s.BindHookHandler("/*any", baton.HookBeforeServe, tr.step("any"))
				s.BindHookHandler("/api/*", baton.HookBeforeServe, tr.step("api-2"))
				s.BindHookHandler("GET:/api/user/{id}", baton.HookBeforeServe, tr.step("get-user"))
				s.Group("/g", nil).Hook("/", baton.HookBeforeServe, tr.step("group-root")).
					Hook("/*", baton.HookBeforeServe, tr.step("group-any"))
				s.BindHandler("/api/user/{id}", sayText("u"))
				s.BindHandler("/other", sayText("o"))
				s.BindHandler("/g", sayText("g"))
			},
			reqs: []req{
				{"GET", "/api/user/1", 200, "u", "api-1,any,api-2,get-user"},
				{"POST", "/api/user/1", 200, "u", "api-1,any,api-2"},
				{"GET", "/other", 200, "o", "any"},
				{"GET", "/api", 404, "Not Found\n", "api-1,any,api-2"},
				{"GET", "/g", 200, "g", "any,group-root,group-any"},
				// An unclean spelling of a path is matched cleaned (the
				// router redirects it when it names a route).
				{"GET", "/x/../api/other", 404, "Not Found\n", "api-1,any,api-2"},
				{"GET", "/x/../api/user/1", 301, "<a href=\"/api/user/1\">Moved Permanently</a>.\n\n", ""},
			},
		},
		{
			name: "hooks change the response",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) { r.Response.Write("[") })
				s.BindHookHandler("/*any", baton.HookAfterServe, func(r *baton.Request) { r.Response.Write("]") })
				s.BindHookHandler("/*any", baton.HookBeforeOutput, func(r *baton.Request) {
					r.Response.Header().Set("X-Hook", "1")
					r.Response.WriteHeader(http.StatusAccepted)
				})
				s.BindHookHandler("/*any", baton.HookAfterOutput, func(r *baton.Request) {
					tr.add("sent " + r.Response.Header().Get("X-Hook"))
				})
				s.BindHandler("/x", sayText("x"))
			},
			reqs: []req{{"GET", "/x", 202, "[x]", "sent 1"}},
		},
		{
			name: "exit all in a before-serve hook skips the chain and the hooks",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) {
					tr.add("auth")
					r.Response.WriteStatus(http.StatusUnauthorized)
					r.ExitAll()
					tr.add("never")
				})
				s.BindHookHandler("/*any", baton.HookBeforeServe, tr.step("second"))
				s.BindHookHandler("/*any", baton.HookAfterServe, tr.step("after-serve"))
				s.BindHookHandler("/*any", baton.HookAfterOutput, tr.step("after-output"))
				s.BindHandler("/x", func(r *baton.Request) { tr.add("handler") })
			},
			reqs: []req{{"GET", "/x", 401, "Unauthorized\n", "auth"}},
		},
		{
			name: "exit all in the handler skips the hooks after it",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookBeforeServe, tr.step("before"))
				s.BindHookHandler("/*any", baton.HookAfterServe, tr.step("after-serve"))
				s.BindHookHandler("/*any", baton.HookBeforeOutput, tr.step("before-output"))
				s.Use(func(r *baton.Request) { r.Middleware.Next(); tr.add("mw-after") })
				s.BindHandler("/x", func(r *baton.Request) { r.Response.Write("x"); r.ExitAll() })
			},
			reqs: []req{{"GET", "/x", 200, "x", "before,mw-after"}},
		},
		{
			name: "exit in a hook ends that hook alone, exit hook the point",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) { tr.add("a"); r.Exit(); tr.add("never") })
				s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) { tr.add("b"); r.ExitHook() })
				s.BindHookHandler("/*any", baton.HookBeforeServe, tr.step("skipped"))
				s.BindHookHandler("/*any", baton.HookAfterServe, tr.step("after-serve"))
				s.BindHandler("/x", func(r *baton.Request) { tr.add("handler"); r.Response.Write("x") })
			},
			reqs: []req{{"GET", "/x", 200, "x", "a,b,handler,after-serve"}},
		},
		{
			name: "a panicking hook is a bare 500 and ends the hooks",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) {
					r.Response.Header().Set("X-Leak", "1")
					r.Response.Write("partial")
					panic("hook boom")
				})
				s.BindHookHandler("/*any", baton.HookAfterServe, tr.step("after-serve"))
				s.BindHandler("/x", func(r *baton.Request) { tr.add("handler") })
			},
			reqs: []req{{"GET", "/x", 500, "Internal Server Error\n", ""}},
		},
		{
			name: "hooks run after a handler panic",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandler("/*any", baton.HookAfterServe, tr.step("after-serve"))
				s.BindHookHandler("/*any", baton.HookBeforeOutput, tr.step("before-output"))
				s.BindHookHandler("/*any", baton.HookAfterOutput, tr.step("after-output"))
				s.BindHandler("/x", func(r *baton.Request) { panic("boom") })
			},
			reqs: []req{{"GET", "/x", 500, "Internal Server Error\n", "before-output,after-output"}},
		},
		{
			name:  "panic: unknown hook",
			setup: func(s *baton.Server, tr *trace) { s.BindHookHandler("/*any", "HOOK_NOPE", tr.step("x")) },
			panic: `route "/*any" (hooks_external_test.go:`,
		},
		{
			name: "panic: unknown hook in a map",
			setup: func(s *baton.Server, tr *trace) {
				s.BindHookHandlerByMap("/", map[baton.HookName]baton.HandlerFunc{"x": nil})
			},
			panic: `unknown hook "x"`,
		},
		{
			name:  "panic: nil hook",
			setup: func(s *baton.Server, tr *trace) { s.BindHookHandler("/", baton.HookAfterServe, nil) },
			panic: "nil hook handler",
		},
		{
			name:  "panic: malformed pattern",
			setup: func(s *baton.Server, tr *trace) { s.BindHookHandler("api/*", baton.HookAfterServe, tr.step("x")) },
			panic: "path must begin with '/'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			s := bindServer(t)
			s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			tr := new(trace)
			if tt.panic != "" {
				if msg := bindPanic(t, func() { tt.setup(s, tr) }); !strings.Contains(msg, tt.panic) {
					t.Fatalf("panic %q, want it to contain %q", msg, tt.panic)
				}
				return
			}
			tt.setup(s, tr)
			// Twice, so that the second request runs on a recycled
			// Request and would show state left by the first.
			for i := range 2 {
				for _, x := range tt.reqs {
					rec := serve(t, s, x.method, x.path, nil)
					if rec.Code != x.status || rec.Body.String() != x.body {
						t.Errorf("#%d %s %s: got %d %q, want %d %q", i, x.method, x.path, rec.Code, rec.Body.String(), x.status, x.body)
					}
					if rec.Code == http.StatusInternalServerError && rec.Header().Get("X-Leak") != "" {
						t.Errorf("#%d %s %s: a 500 kept the header X-Leak", i, x.method, x.path)
					}
					if got := tr.take(); got != x.trace {
						t.Errorf("#%d %s %s: steps %q, want %q", i, x.method, x.path, got, x.trace)
					}
				}
			}
			if strings.Contains(tt.name, "panic") && !strings.Contains(logs.String(), "hooks_external_test.go") {
				t.Errorf("panic log does not show the panicking frame:\n%s", logs.String())
			}
		})
	}
}

func TestStatusHandlers(t *testing.T) {
	custom := func(text string) baton.HandlerFunc {
		return func(r *baton.Request) {
			r.Response.Header().Set("Content-Type", "text/html")
			r.Response.Write(text)
		}
	}
	tests := []struct {
		name     string
		setup    func(s *baton.Server)
		method   string
		path     string
		status   int
		body     string
		wantType string
		panic    string
	}{
		{
			name:   "router 404",
			setup:  func(s *baton.Server) { s.BindStatusHandler(404, custom("<h1>gone</h1>")) },
			method: "GET", path: "/missing", status: 404, body: "<h1>gone</h1>", wantType: "text/html",
		},
		{
			name: "handler 404",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, custom("custom"))
				s.BindHandler("/user/{id}", func(r *baton.Request) { r.Response.WriteStatus(http.StatusNotFound, "no user") })
			},
			method: "GET", path: "/user/9", status: 404, body: "custom", wantType: "text/html",
		},
		{
			name: "WriteOver replaces the handler's body and keeps the status",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, func(r *baton.Request) { r.Response.WriteOver("<p>not here</p>") })
				s.BindHandler("/user/{id}", func(r *baton.Request) { r.Response.WriteStatus(http.StatusNotFound, "no user") })
			},
			method: "GET", path: "/user/9", status: 404, body: "<p>not here</p>",
		},
		{
			name: "handler status with WriteHeader",
			setup: func(s *baton.Server) {
				s.BindStatusHandlerByMap(map[int]baton.HandlerFunc{418: custom("teapot"), 404: custom("x")})
				s.BindHandler("/t", func(r *baton.Request) { r.Response.WriteHeader(418); r.Response.Write("t") })
			},
			method: "GET", path: "/t", status: 418, body: "teapot",
		},
		{
			name: "router 405",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(405, custom("wrong method"))
				s.BindHandler("GET:/x", sayText("x"))
			},
			method: "POST", path: "/x", status: 405, body: "wrong method",
		},
		{
			name: "a handler that writes nothing keeps the body",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, func(r *baton.Request) { r.Response.Header().Set("X-Seen", "1") })
			},
			method: "GET", path: "/missing", status: 404, body: "Not Found\n",
		},
		{
			name: "several run in order until exit all",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, sayText("a"))
				s.BindStatusHandler(404, func(r *baton.Request) { r.Response.Write("b"); r.ExitAll() })
				s.BindStatusHandler(404, sayText("c"))
			},
			method: "GET", path: "/missing", status: 404, body: "ab",
		},
		{
			name:   "other statuses are left alone",
			setup:  func(s *baton.Server) { s.BindStatusHandler(404, custom("x")); s.BindHandler("/ok", sayText("ok")) },
			method: "GET", path: "/ok", status: 200, body: "ok",
		},
		{
			name: "after a before-output hook that sets the status",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(403, sayText("forbidden page"))
				s.BindHookHandler("/*any", baton.HookBeforeOutput, func(r *baton.Request) { r.Response.WriteHeader(403) })
				s.BindHandler("/x", sayText("x"))
			},
			method: "GET", path: "/x", status: 403, body: "forbidden page",
		},
		{
			name: "500 of a handler panic",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(500, sayText("sorry"))
				s.BindHandler("/x", func(r *baton.Request) { panic("boom") })
			},
			method: "GET", path: "/x", status: 500, body: "sorry",
		},
		{
			name: "a panicking status handler is a bare 500",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, func(r *baton.Request) {
					r.Response.Header().Set("X-Leak", "1")
					r.Response.Write("partial")
					panic("status boom")
				})
			},
			method: "GET", path: "/missing", status: 500, body: "Internal Server Error\n",
		},
		{
			name: "a flushed response is not given to status handlers",
			setup: func(s *baton.Server) {
				s.BindStatusHandler(404, sayText("x"))
				s.BindHandler("/s", func(r *baton.Request) {
					r.Response.WriteStatus(404, "streamed")
					r.Response.Flush()
				})
			},
			method: "GET", path: "/s", status: 404, body: "streamed",
		},
		{name: "panic: status 200", setup: func(s *baton.Server) { s.BindStatusHandler(200, sayText("x")) }, panic: "BindStatusHandler(200) at hooks_external_test.go:"},
		{name: "panic: status out of range", setup: func(s *baton.Server) { s.BindStatusHandler(99, sayText("x")) }, panic: "status must be from 100 to 599"},
		{name: "panic: nil handler", setup: func(s *baton.Server) { s.BindStatusHandlerByMap(map[int]baton.HandlerFunc{404: nil}) }, panic: "nil handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			s := bindServer(t)
			s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.panic != "" {
				if msg := bindPanic(t, func() { tt.setup(s) }); !strings.Contains(msg, tt.panic) {
					t.Fatalf("panic %q, want it to contain %q", msg, tt.panic)
				}
				return
			}
			tt.setup(s)
			for i := range 2 {
				rec := serve(t, s, tt.method, tt.path, nil)
				if rec.Code != tt.status || rec.Body.String() != tt.body {
					t.Errorf("#%d %s %s: got %d %q, want %d %q", i, tt.method, tt.path, rec.Code, rec.Body.String(), tt.status, tt.body)
				}
				if tt.wantType != "" && rec.Header().Get("Content-Type") != tt.wantType {
					t.Errorf("#%d: Content-Type %q, want %q", i, rec.Header().Get("Content-Type"), tt.wantType)
				}
				if rec.Code == http.StatusInternalServerError && rec.Header().Get("X-Leak") != "" {
					t.Errorf("#%d: a 500 kept the header X-Leak", i)
				}
			}
			if strings.Contains(tt.name, "panic") && !strings.Contains(logs.String(), "hooks_external_test.go") {
				t.Errorf("panic log does not show the panicking frame:\n%s", logs.String())
			}
		})
	}
}

// TestHooksRegisteredWhileServing checks that a hook registered after the
// first request applies to the next one.
func TestHooksRegisteredWhileServing(t *testing.T) {
	s := bindServer(t)
	s.BindHandler("/x", sayText("x"))
	if rec := serve(t, s, "GET", "/x", nil); rec.Body.String() != "x" {
		t.Fatalf("GET /x: got %q, want %q", rec.Body.String(), "x")
	}
	s.BindHookHandler("/*any", baton.HookBeforeServe, func(r *baton.Request) { r.Response.Write(">") })
	s.BindStatusHandler(404, sayText("custom"))
	if rec := serve(t, s, "GET", "/x", nil); rec.Body.String() != ">x" {
		t.Errorf("GET /x: got %q, want %q", rec.Body.String(), ">x")
	}
	if rec := serve(t, s, "GET", "/y", nil); rec.Code != 404 || rec.Body.String() != "custom" {
		t.Errorf("GET /y: got %d %q, want 404 %q", rec.Code, rec.Body.String(), "custom")
	}
}
