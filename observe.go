package baton

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/baton-go/baton/internal/obshook"
	"github.com/baton-go/baton/proc"
)

// The seams of observability: middleware made per route (which knows the
// route's pattern at no cost per request), fields of the access log line,
// counters that survive reloads, and the methods EnableMetrics and
// EnableTracing, whose code lives in the packages metrics and tracing so
// that a program that does not call them links neither Prometheus nor
// OpenTelemetry.

// DefaultMetricsPattern is where EnableMetrics serves by default.
const DefaultMetricsPattern = "/metrics"

// EnableMetrics serves Prometheus metrics at pattern (DefaultMetricsPattern
// if not given) and counts every request of the server: by method, route
// pattern and status, with latency and response size histograms, and the
// figures of the process model. Counters keep counting across reloads.
// The endpoint has the admin page's access rules (ServerConfig.Admin).
//
// The code is in package github.com/baton-go/baton/metrics, which the
// program must import (import _ "github.com/baton-go/baton/metrics", or
// call metrics.Enable): without it EnableMetrics panics, saying so. Call
// it before Start.
func (s *Server) EnableMetrics(pattern ...string) {
	p := DefaultMetricsPattern
	if len(pattern) > 0 && pattern[0] != "" {
		p = pattern[0]
	}
	if obshook.EnableMetrics == nil {
		panic("baton: EnableMetrics at " + callSite() + ` needs package metrics: import _ "github.com/baton-go/baton/metrics"`)
	}
	obshook.EnableMetrics(s, p)
}

// TracingConfig configures tracing (EnableTracing, the "tracing" section
// of the configuration file). The zero value exports nothing: spans are
// made and propagated, and reach whatever the global OpenTelemetry
// tracer provider is.
type TracingConfig struct {
	// Service is the service.name of the spans. If empty, the name of
	// the executable is used.
	Service string `yaml:"service"`
	// Endpoint is where spans are exported with OTLP over HTTP, as
	// "host:port" or a URL ("https://collector:4318/v1/traces"). If
	// empty, the global tracer provider is used and nothing is set up.
	Endpoint string `yaml:"endpoint"`
	// Insecure exports over plain HTTP rather than HTTPS.
	Insecure bool `yaml:"insecure"`
	// Headers are sent with every export, e.g. an authorization.
	Headers map[string]string `yaml:"headers"`
	// SampleRatio is the share of traces started here that are sampled,
	// from 0 to 1; a request whose caller sampled its trace is always
	// sampled. If zero, 1 is used.
	SampleRatio float64 `yaml:"sampleRatio"`
}

// EnableTracing makes a server span of every request, named by the
// method and route pattern ("GET /user/{id}"), continues the W3C trace
// context of the request (traceparent), puts the span in r.Context(),
// and adds the trace ID to the access log line (trace_id=...). With
// c.Endpoint set it exports the spans with OTLP. It returns an error for a
// configuration it cannot build.
//
// The code is in package github.com/baton-go/baton/tracing, which the
// program must import (or call tracing.Enable): without it EnableTracing
// panics, saying so. Call it before Start.
func (s *Server) EnableTracing(c ...TracingConfig) error {
	if obshook.EnableTracing == nil {
		panic("baton: EnableTracing at " + callSite() + ` needs package tracing: import _ "github.com/baton-go/baton/tracing"`)
	}
	var cfg TracingConfig
	if len(c) > 0 {
		cfg = c[0]
	}
	return obshook.EnableTracing(s, &cfg)
}

func init() {
	obshook.Enabled = func(s any, feature string) { s.(*Server).markEnabled(feature) }
}

// UseRoute adds middleware made for each route: f is called once per
// route, when the server builds its routing table, with the route's
// pattern as registered ("GET:/user/{id}", "/static/*path"), or
// "(not found)" or "(method not allowed)" for requests no route matches,
// and returns the middleware of that route, or nil for none. The
// middleware runs before every other of the route. Metrics and tracing
// use it to know the route of a request without looking it up. Call it
// before the server serves.
func (s *Server) UseRoute(f func(pattern string) HandlerFunc) {
	s.router.mu.Lock()
	defer s.router.mu.Unlock()
	if s.router.compiled() {
		panic("baton: UseRoute at " + callSite() + " after the server started serving")
	}
	s.router.perRoute = append(s.router.perRoute, f)
}

// AdminGuard returns h behind the admin page's access rules
// (ServerConfig.Admin): a client that may not use the admin page gets 401
// or 403 and h does not run.
func (s *Server) AdminGuard(h HandlerFunc) HandlerFunc {
	return (&admin{s: s}).guard(h)
}

// AddAccessLogField adds the field key, with the value f returns for the
// request, to every access log line of the server; an empty value leaves
// it out. Call it before Start.
func (s *Server) AddAccessLogField(key string, f func(r *Request) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logFields = append(s.logFields, logField{key: key, f: f})
}

// logField is a field AddAccessLogField adds to the access log.
type logField struct {
	key string
	f   func(r *Request) string
}

// Counters that survive reloads.
var (
	carryMu      sync.Mutex
	carrySources []func() map[string]float64
)

// CarryCounters makes the counters f returns survive reloads: their names
// and values in this process, values that never go down. CarriedTotals
// then returns each name summed over every worker of the program, the
// ones that ended included. Each source should name its counters apart
// from the others. Package metrics registers one; f must be safe for
// concurrent use.
func CarryCounters(f func() map[string]float64) {
	carryMu.Lock()
	defer carryMu.Unlock()
	carrySources = append(carrySources, f)
}

// CarriedTotals reports the counters of every CarryCounters source to the
// master and returns their sums over the program's workers, and the
// master's figures (reloads, hand-offs, crashes, generation, draining
// workers, memory). Without a master it returns this process's counters
// and zero figures. A total never goes down from one call to a later one.
func CarriedTotals(ctx context.Context) (proc.Totals, error) {
	return self.counters(ctx, proc.Report{Counters: ownCounters(), Conns: openConns()})
}

// ownCounters merges the counters of the sources, or returns nil if there
// are none.
func ownCounters() map[string]float64 {
	carryMu.Lock()
	src := carrySources
	carryMu.Unlock()
	if len(src) == 0 {
		return nil
	}
	c := make(map[string]float64)
	for _, f := range src {
		maps.Copy(c, f())
	}
	return c
}

// openConns returns the connections the running servers have open.
func openConns() int {
	list, _ := runningServers()
	n := 0
	for _, s := range list {
		s.conns.mu.Lock()
		n += len(s.conns.conns)
		s.conns.mu.Unlock()
	}
	return n
}

// drainReportEvery is how often a draining worker reports its counters,
// so that the totals other workers serve keep up with it.
const drainReportEvery = time.Second

// reportWhileDraining reports the counters every drainReportEvery until
// stop is closed, then once more as the final report. Without a source
// it does nothing.
func reportWhileDraining(stop <-chan struct{}) {
	if ownCounters() == nil {
		return
	}
	report := func(final bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := self.counters(ctx, proc.Report{Counters: ownCounters(), Conns: openConns(), Final: final}); err != nil && err != proc.ErrNoMaster {
			defaultLogger().Warn("baton: report counters", "err", err, "final", final)
		}
	}
	t := time.NewTicker(drainReportEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			report(false)
		case <-stop:
			report(true)
			return
		}
	}
}

// accessFields returns the attributes of the fields AddAccessLogField
// added, for the access log line of r.
func (s *Server) accessFields(r *Request, attrs []slog.Attr) []slog.Attr {
	for _, f := range s.logFields {
		if v := f.f(r); v != "" {
			attrs = append(attrs, slog.String(f.key, v))
		}
	}
	return attrs
}

// WrapHandler returns the standard handler h as a HandlerFunc (GoFrame's
// WrapH), with the route's path parameters in req.PathValue.
func WrapHandler(h http.Handler) HandlerFunc { return stdHandler(h) }
