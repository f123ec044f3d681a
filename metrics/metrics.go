// Package metrics counts the requests of a baton server with the
// Prometheus client (github.com/prometheus/client_golang) and serves them,
// with the figures of baton's process model, to Prometheus. Its counters
// do not start again from zero at a reload: see [Enable].
//
//	import "github.com/baton-go/baton/metrics"
//
//	metrics.Enable(s, "/metrics") // or s.EnableMetrics() with this package imported
//
// Only a program that imports this package links the Prometheus client.
// Nothing is registered in Prometheus's global registry: each server has
// a registry of its own.
//
// # Metrics
//
// Of the server's requests, labeled server, method (the nine of HTTP, or
// OTHER), route (the route's pattern as registered, never the path:
// "(not found)" and "(method not allowed)" for requests no route
// matches) and status:
//
//	baton_http_requests_total              counter
//	baton_http_request_duration_seconds    histogram (DefaultDurationBuckets)
//	baton_http_response_size_bytes         histogram (DefaultSizeBuckets)
//	baton_http_requests_in_flight          gauge, of the worker that answers the scrape
//
// Of the process model (without a master: generation 0, no events):
//
//	baton_reloads_total{kind,trigger,outcome}   counter: reloads, restarts, respawns
//	baton_canary_reloads_total{verdict}         counter: canary reloads, promoted or rolled_back
//	baton_reload_handoff_seconds                histogram: trigger to new worker ready
//	baton_worker_generation                     gauge: the serving worker's
//	baton_worker_crashes_total                  counter: workers that died unasked
//	baton_worker_respawns_total                 counter: workers started after a crash
//	baton_draining_workers                      gauge: old workers still draining
//	baton_draining_connections                  gauge: their open connections
//	baton_master_resident_memory_bytes          gauge
//	baton_worker_resident_memory_bytes          gauge: the worker that answers
//
// and the Prometheus client's own go_* and process_* metrics of the worker
// that answers (these do start again at each reload: they describe one
// process).
//
// # Reloads
//
// The request counters and histograms are counted in each worker and
// reported to the master (baton.CarriedTotals): at every scrape, every
// second while a worker drains, and once when its drain is over. The
// master keeps each worker's last report and the sum of the workers gone,
// and answers a report with the sum over every worker; a scrape serves
// those sums. Values that only grow, summed, only grow: a scrape never
// shows less than one before it, also while an old and a new worker
// overlap, and once the old worker has ended the sums are exact. A worker
// killed (kill -9, a crash) keeps the counts of its last report.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/obshook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func init() {
	obshook.EnableMetrics = func(s any, pattern string) { Enable(s.(*baton.Server), pattern) }
}

// Default histogram buckets.
var (
	// DefaultDurationBuckets are the bounds of the request duration
	// histogram, in seconds: Prometheus's defaults.
	DefaultDurationBuckets = prometheus.DefBuckets
	// DefaultSizeBuckets are the bounds of the response size histogram,
	// in bytes: 100 B to 10 MB.
	DefaultSizeBuckets = []float64{100, 1000, 10e3, 100e3, 1e6, 10e6}
)

// Metrics is the instrumentation of one server. It is safe for
// concurrent use.
type Metrics struct {
	server string
	reg    *prometheus.Registry // what is not carried over reloads

	carried  *prometheus.Registry // what is: the request counters and histograms
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// Enable counts the requests of s and serves the metrics at pattern
// (baton.DefaultMetricsPattern if empty), behind the admin page's access
// rules (baton.ServerConfig.Admin: a token, or the networks it allows).
// Call it before Start, once per server.
func Enable(s *baton.Server, pattern string) *Metrics {
	if pattern == "" {
		pattern = baton.DefaultMetricsPattern
	}
	m := New(s.Name())
	s.UseRoute(m.Route)
	s.BindHandler("GET:"+pattern, s.AdminGuard(baton.WrapHandler(m.Handler())))
	baton.CarryCounters(m.counters)
	obshook.Enabled(s, "metrics")
	return m
}

// New returns the instrumentation of the server named server, for a
// program that wires it itself (Route, Handler). Enable is New with the
// wiring.
func New(server string) *Metrics {
	labels := []string{"server", "method", "route", "status"}
	m := &Metrics{
		server:  server,
		reg:     prometheus.NewRegistry(),
		carried: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_http_requests_total",
			Help: helpOf("baton_http_requests_total"),
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_http_request_duration_seconds",
			Help:    helpOf("baton_http_request_duration_seconds"),
			Buckets: DefaultDurationBuckets,
		}, labels),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "baton_http_response_size_bytes",
			Help:    helpOf("baton_http_response_size_bytes"),
			Buckets: DefaultSizeBuckets,
		}, labels),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "baton_http_requests_in_flight",
			Help:        "Requests being answered by the worker that answers this scrape.",
			ConstLabels: prometheus.Labels{"server": server},
		}),
	}
	m.carried.MustRegister(m.requests, m.duration, m.size)
	m.reg.MustRegister(m.inFlight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry of the metrics that are not carried over
// reloads, where the program may register its own collectors; Handler
// serves them too.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Route returns the middleware that counts the requests of the route
// pattern, for baton.Server.UseRoute.
func (m *Metrics) Route(pattern string) baton.HandlerFunc {
	rs := &routeSeries{m: m, route: routeLabel(pattern)}
	return rs.serve
}

// routeSeries holds the series of one route, by method and status, so
// that a request finds its own without hashing its labels.
type routeSeries struct {
	m     *Metrics
	route string
	mu    sync.Mutex                            // for writers of byKey
	byKey atomic.Pointer[map[uint32]*seriesSet] // copied on write
}

// seriesSet is the series of one method and status of a route.
type seriesSet struct {
	requests prometheus.Counter
	duration prometheus.Observer
	size     prometheus.Observer
}

func (rs *routeSeries) serve(r *baton.Request) {
	start := time.Now()
	rs.m.inFlight.Inc()
	defer rs.done(r, start)
	r.Middleware.Next()
}

// done counts the request once its chain has returned, or panicked: a
// panic is counted as the 500 it becomes.
func (rs *routeSeries) done(r *baton.Request, start time.Time) {
	dur := time.Since(start)
	rs.m.inFlight.Dec()
	status := r.Response.Status()
	p := recover()
	if p != nil {
		status = http.StatusInternalServerError
	}
	mi := methodIndex(r.Method)
	set := rs.series(mi, status)
	set.requests.Inc()
	set.duration.Observe(dur.Seconds())
	set.size.Observe(float64(r.Response.Written() + int64(r.Response.BufferLength())))
	if p != nil {
		panic(p)
	}
}

func (rs *routeSeries) series(mi, status int) *seriesSet {
	key := uint32(mi)<<16 | uint32(status&0xffff)
	if mp := rs.byKey.Load(); mp != nil {
		if s := (*mp)[key]; s != nil {
			return s
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := rs.byKey.Load()
	if old != nil {
		if s := (*old)[key]; s != nil {
			return s
		}
	}
	lv := []string{rs.m.server, methods[mi], rs.route, strconv.Itoa(status)}
	s := &seriesSet{
		requests: rs.m.requests.WithLabelValues(lv...),
		duration: rs.m.duration.WithLabelValues(lv...),
		size:     rs.m.size.WithLabelValues(lv...),
	}
	next := make(map[uint32]*seriesSet, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[key] = s
	rs.byKey.Store(&next)
	return s
}

// methods are the values of the method label; the last stands for any
// other, so that a client cannot make series of methods of its own.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "OTHER",
}

func methodIndex(m string) int {
	for i, x := range methods[:len(methods)-1] {
		if m == x {
			return i
		}
	}
	return len(methods) - 1
}

// routeLabel returns the route label of a pattern: its path, without the
// method list ("GET,POST:/a" is "/a"), or the name of the unmatched.
func routeLabel(pattern string) string {
	for i := 0; i+1 < len(pattern); i++ {
		if pattern[i] == '/' {
			break
		}
		if pattern[i] == ':' && pattern[i+1] == '/' {
			return pattern[i+1:]
		}
	}
	return pattern
}
