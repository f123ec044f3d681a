package tracing_test

import (
	"net/http"
	"testing"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardWriter keeps nothing, so that the harness does not dominate.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkTracing serves one route with a parameter: without tracing and
// with baton's, with a baton handler; and without tracing and wrapped in
// otelhttp.NewHandler, with a standard http.Handler, which that wraps.
// Both trace into the same SDK provider, every span sampled and recorded,
// none exported.
//
//	go test -run '^$' -bench BenchmarkTracing -benchmem -count 6 ./tracing
func BenchmarkTracing(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
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
			if _, err := tracing.Enable(s, tracing.Config{Provider: tp}); err != nil {
				b.Fatal(err)
			}
			s.BindHandler("GET:/user/{id}", handler)
			return s
		}},
		{"none-http.Handler", func() *baton.Server {
			s := baton.New()
			s.Handle("GET:/user/{id}", stdHandler)
			return s
		}},
		{"otelhttp-http.Handler", func() *baton.Server {
			s := baton.New()
			s.Handle("GET:/user/{id}", otelhttp.NewHandler(stdHandler, "/user/{id}", otelhttp.WithTracerProvider(tp)))
			return s
		}},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			s := row.build()
			s.SetAccessLogEnabled(false)
			proto, _ := http.NewRequest("GET", "/user/42", nil)
			proto.RemoteAddr = "192.0.2.7:4000"
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
