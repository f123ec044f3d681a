package baton_test

import (
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/baton-go/baton"
	"github.com/julienschmidt/httprouter"
)

// The benchmarks compare baton with the router it is built on and with the
// standard ServeMux, serving the same routes with handlers that write the
// same small body. bench/compare.sh runs them and compares the
// implementations with benchstat; bench/README.md explains the output.
//
//	bench/compare.sh
//
// NOTE: the harness must cost the same for every implementation: each op
// builds a fresh *http.Request by copying a prebuilt one (the URL is parsed
// once) and writes to a discardWriter. That copy is one allocation of
// 320 bytes per request, counted in every row alike.

// bodyText is the body every benchmark handler writes.
const bodyText = "hello, world\n"

var bodyBytes = []byte(bodyText)

// discardWriter is an http.ResponseWriter that keeps nothing, so that the
// harness does not dominate what is measured. Its header map is reused and
// cleared before each request.
type discardWriter struct {
	h http.Header
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header)} }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// benchRoute is a method and a path in httprouter's syntax.
type benchRoute struct {
	method, path string
}

// handlerSet builds an http.Handler serving routes with the body handler.
type handlerSet struct {
	name  string
	build func(routes []benchRoute) http.Handler
}

var impls = []handlerSet{
	{"baton", newBaton},
	{"httprouter", newHTTPRouter},
	{"servemux", newServeMux},
}

func newBaton(routes []benchRoute) http.Handler {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	for _, rt := range routes {
		s.BindHandler(rt.method+":"+rt.path, func(r *baton.Request) {
			r.Response.Write(bodyText)
		})
	}
	return s
}

func newHTTPRouter(routes []benchRoute) http.Handler {
	hr := httprouter.New()
	for _, rt := range routes {
		hr.Handle(rt.method, rt.path, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
			w.Write(bodyBytes)
		})
	}
	return hr
}

func newServeMux(routes []benchRoute) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+braces(rt.path), func(w http.ResponseWriter, _ *http.Request) {
			w.Write(bodyBytes)
		})
	}
	return mux
}

// braces turns httprouter's ":name" segments into ServeMux's "{name}".
func braces(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// newRequests returns one prebuilt request per route, for the path given
// by the route itself ("/user/:name" matches with name=":name").
func newRequests(tb testing.TB, routes []benchRoute, paths ...string) []http.Request {
	tb.Helper()
	reqs := make([]http.Request, len(routes))
	for i, rt := range routes {
		p := rt.path
		if i < len(paths) {
			p = paths[i]
		}
		// A request read from a connection has its own strings. Cloned,
		// the method and path cannot share memory with the route's, which
		// would let a string comparison end at the pointers.
		req, err := http.NewRequest(strings.Clone(rt.method), strings.Clone(p), nil)
		if err != nil {
			tb.Fatalf("NewRequest(%q, %q): %v", rt.method, p, err)
		}
		reqs[i] = *req
	}
	return reqs
}

// checkServes fails unless h answers every request with the body.
func checkServes(tb testing.TB, name string, h http.Handler, reqs []http.Request) {
	tb.Helper()
	for i := range reqs {
		rec := &recorder{discardWriter: newDiscardWriter()}
		req := reqs[i]
		h.ServeHTTP(rec, &req)
		if rec.status != 0 && rec.status != http.StatusOK || rec.body.String() != bodyText {
			tb.Fatalf("%s: %s %s: got status %d body %q, want 200 %q",
				name, req.Method, req.URL.Path, rec.status, rec.body.String(), bodyText)
		}
	}
}

type recorder struct {
	*discardWriter
	status int
	body   strings.Builder
}

func (r *recorder) WriteHeader(code int) { r.status = code }

func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// serveAll serves every request of reqs once, each from a fresh copy.
func serveAll(h http.Handler, w *discardWriter, reqs []http.Request) {
	for i := range reqs {
		req := new(http.Request)
		*req = reqs[i]
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// cpuClock measures the CPU time of a benchmark loop.
//
// NOTE: the shared box the benchmarks run on is busy with other work, and
// wall-clock ns/op then counts the time the benchmark waits for a CPU. The
// process CPU time (user and system, GC workers included) does not, so
// cpu-ns/op is the steadier figure there; on an idle machine the two agree
// to within the GC's background work.
type cpuClock int64

func startCPU() cpuClock {
	runtime.GC() // leave the garbage of the setup out of the measure
	return cpuClock(processCPU())
}

// report adds cpu-ns/op and, when each op serves several requests,
// ns/route and cpu-ns/route.
func (c cpuClock) report(b *testing.B, perOp int) {
	var cpu float64
	if c >= 0 {
		cpu = float64(processCPU()-int64(c)) / float64(b.N)
		b.ReportMetric(cpu, "cpu-ns/op")
	}
	if perOp > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(perOp), "ns/route")
		if c >= 0 {
			b.ReportMetric(cpu/float64(perOp), "cpu-ns/route")
		}
	}
}

// benchServe checks that h serves reqs, then measures serving them all
// once per op.
func benchServe(b *testing.B, name string, h http.Handler, reqs []http.Request) {
	checkServes(b, name, h, reqs)
	w := newDiscardWriter()
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		serveAll(h, w, reqs)
	}
	cpu.report(b, len(reqs))
}

// benchRoutes runs one sub-benchmark per implementation, each op serving
// every request of paths once. With more than one request it also reports
// ns/route.
func benchRoutes(b *testing.B, routes []benchRoute, paths ...string) {
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			benchServe(b, impl.name, impl.build(routes), newRequests(b, routes, paths...))
		})
	}
}

var (
	staticRoutes = []benchRoute{{http.MethodGet, "/user/repos"}}
	paramRoutes  = []benchRoute{{http.MethodGet, "/user/:name"}}
)

func BenchmarkStatic(b *testing.B) { benchRoutes(b, staticRoutes) }

func BenchmarkParam(b *testing.B) { benchRoutes(b, paramRoutes, "/user/gordon") }

func BenchmarkGitHubAll(b *testing.B) { benchRoutes(b, githubAPI) }

// BenchmarkAccessLog shows what the access log costs on the static route:
// the same server with it off, and on into a text logger on io.Discard.
func BenchmarkAccessLog(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			s := newBaton(staticRoutes).(*baton.Server)
			s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			s.SetAccessLogEnabled(on)
			reqs := newRequests(b, staticRoutes)
			checkServes(b, name, s, reqs)
			w := newDiscardWriter()
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				serveAll(s, w, reqs)
			}
			cpu.report(b, 1)
		})
	}
}

// BenchmarkOwnTree serves the GitHub API from baton's own tree, which
// serves a table once one route sits beside a parameter httprouter holds
// (GET /users/new beside GET /users/:user), against the same table less
// that route on httprouter. httprouter and ServeMux are not in it: the
// first cannot hold the table.
func BenchmarkOwnTree(b *testing.B) {
	withNew := append(githubAPI[:len(githubAPI):len(githubAPI)], benchRoute{http.MethodGet, "/users/new"})
	for _, tt := range []struct {
		name   string
		routes []benchRoute
	}{{"httprouter", githubAPI}, {"own", withNew}} {
		b.Run(tt.name, func(b *testing.B) {
			benchServe(b, tt.name, newBaton(tt.routes), newRequests(b, githubAPI))
		})
	}
}
