package metrics_test

import (
	"net/http"
	"testing"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// discardWriter keeps nothing, so that the harness does not dominate.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMetrics serves one route with a parameter: without metrics
// and with baton's, with a baton handler; and without metrics and wrapped
// in prometheus/client_golang's own promhttp.InstrumentHandlerCounter and
// InstrumentHandlerDuration, with a standard http.Handler, which those
// wrap (labels code and method, as they take them; baton's count the
// route too, and the response size).
//
//	go test -run '^$' -bench BenchmarkMetrics -benchmem -count 6 ./metrics
func BenchmarkMetrics(b *testing.B) {
	handler := func(r *baton.Request) { r.Response.Write("hello, world\n") }
	stdHandler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hello, world\n")) })
	rows := []struct {
		name  string
		build func() *baton.Server
	}{
		{"none", func() *baton.Server {
			s := baton.New()
			s.BindHandler("GET:/user/{id}", handler)
			return s
		}},
		{"baton", func() *baton.Server {
			s := baton.New()
			metrics.Enable(s, "/metrics")
			s.BindHandler("GET:/user/{id}", handler)
			return s
		}},
		{"none-http.Handler", func() *baton.Server {
			s := baton.New()
			s.Handle("GET:/user/{id}", stdHandler)
			return s
		}},
		{"promhttp-http.Handler", func() *baton.Server {
			// NOTE: wrapped once, at registration. Through
			// baton.WrapMiddleware the wrappers would be built again
			// for every request, which costs a hundred times more.
			s := baton.New()
			reg := prometheus.NewRegistry()
			c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"code", "method"})
			d := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "duration_seconds", Help: "h"}, []string{"code", "method"})
			reg.MustRegister(c, d)
			s.Handle("GET:/user/{id}", promhttp.InstrumentHandlerCounter(c, promhttp.InstrumentHandlerDuration(d, stdHandler)))
			return s
		}},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			s := row.build()
			s.SetAccessLogEnabled(false)
			proto, _ := http.NewRequest("GET", "/user/42", nil)
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				req := *proto
				clear(w.h)
				s.ServeHTTP(w, &req)
			}
		})
	}
}
