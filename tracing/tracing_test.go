package tracing_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// traced returns a server traced into an in-memory exporter, and its log.
func traced(t *testing.T) (*baton.Server, *tracetest.InMemoryExporter, *syncBuffer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	s := baton.New()
	log := new(syncBuffer)
	s.SetLogger(slog.New(slog.NewTextHandler(log, nil)))
	if _, err := tracing.Enable(s, tracing.Config{Provider: tp}); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("GET:/user/{id}", func(r *baton.Request) {
		// The handler's own spans are children of the server span.
		_, span := trace.SpanFromContext(r.Context()).TracerProvider().Tracer("app").Start(r.Context(), "load user")
		span.End()
		r.Response.Write("user " + r.Get("id"))
	})
	s.BindHandler("POST:/boom", func(r *baton.Request) { panic("boom") })
	s.BindHandler("/fail", func(r *baton.Request) { r.Response.WriteStatus(503) })
	return s, exp, log
}

func serve(s http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "192.0.2.7:4000"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestServerSpan names the span by the route, with the conventions'
// attributes, and the trace ID goes in the access log line.
func TestServerSpan(t *testing.T) {
	s, exp, log := traced(t)
	if rec := serve(s, "GET", "/user/42", "User-Agent", "probe/1"); rec.Code != 200 {
		t.Fatalf("GET /user/42: %d", rec.Code)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the handler's and the server's", len(spans))
	}
	inner, srv := spans[0], spans[1]
	if srv.Name != "GET /user/:id" || srv.SpanKind != trace.SpanKindServer {
		t.Errorf("server span %q kind %v, want \"GET /user/:id\" server", srv.Name, srv.SpanKind)
	}
	if inner.Parent.SpanID() != srv.SpanContext.SpanID() {
		t.Errorf("the handler's span is not a child of the server span")
	}
	a := attrs(srv)
	for k, want := range map[attribute.Key]string{
		"http.request.method": "GET", "http.route": "/user/:id", "url.path": "/user/42",
		"client.address": "192.0.2.7", "user_agent.original": "probe/1", "url.scheme": "http",
	} {
		if got := a[k].AsString(); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if a["http.response.status_code"].AsInt64() != 200 {
		t.Errorf("http.response.status_code = %v", a["http.response.status_code"])
	}
	id := srv.SpanContext.TraceID().String()
	if !strings.Contains(log.String(), "trace_id="+id) {
		t.Errorf("access log has no trace_id=%s:\n%s", id, log)
	}
}

// TestTraceContextPropagated continues the caller's trace.
func TestTraceContextPropagated(t *testing.T) {
	s, exp, _ := traced(t)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	serve(s, "GET", "/user/1", "traceparent", parent)
	spans := exp.GetSpans()
	srv := spans[len(spans)-1]
	if got := srv.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace ID %s, want the caller's", got)
	}
	if got := srv.Parent.SpanID().String(); got != "00f067aa0ba902b7" || !srv.Parent.IsRemote() {
		t.Errorf("parent %s (remote %v), want the caller's span", got, srv.Parent.IsRemote())
	}
}

// TestSpanOutcomes: errors, panics and unmatched requests.
func TestSpanOutcomes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		name         string
		status       int64
		err          bool
		route        bool
	}{
		{"GET", "/fail", "GET /fail", 503, true, true},
		{"POST", "/boom", "POST /boom", 500, true, true},
		{"GET", "/nowhere/7", "GET", 404, false, false},
		{"BREW", "/fail", "HTTP", 405, false, false},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			s, exp, _ := traced(t)
			serve(s, tc.method, tc.path)
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			sp := spans[0]
			a := attrs(sp)
			_, hasRoute := a["http.route"]
			if sp.Name != tc.name || a["http.response.status_code"].AsInt64() != tc.status ||
				(sp.Status.Code == codes.Error) != tc.err || hasRoute != tc.route {
				t.Errorf("span %q status %v %v route %v, want %q %d error %v route %v",
					sp.Name, a["http.response.status_code"], sp.Status, hasRoute, tc.name, tc.status, tc.err, tc.route)
			}
		})
	}
}

// TestOTLPFromConfig builds the OTLP exporter from a TracingConfig, as
// the configuration file gives it, and receives its export on a local
// collector.
func TestOTLPFromConfig(t *testing.T) {
	got := make(chan *collectortrace.ExportTraceServiceRequest, 4)
	coll := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Authorization") != "Bearer t0k" {
			t.Errorf("export to %s with Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(r.Body)
		req := new(collectortrace.ExportTraceServiceRequest)
		if err := proto.Unmarshal(b, req); err != nil {
			t.Errorf("export: %v", err)
		}
		got <- req
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(nil)
	}))
	defer coll.Close()
	s := baton.New()
	s.SetAccessLogEnabled(false)
	tr, err := tracing.Enable(s, tracing.Config{TracingConfig: baton.TracingConfig{
		Service: "shop", Endpoint: strings.TrimPrefix(coll.URL, "http://"), Insecure: true,
		Headers: map[string]string{"Authorization": "Bearer t0k"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/cart", func(r *baton.Request) { r.Response.Write("ok") })
	serve(s, "GET", "/cart")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		rs := req.GetResourceSpans()
		if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || len(rs[0].GetScopeSpans()[0].GetSpans()) != 1 {
			t.Fatalf("export %v", req)
		}
		if name := rs[0].GetScopeSpans()[0].GetSpans()[0].GetName(); name != "GET /cart" {
			t.Errorf("exported span %q", name)
		}
		service := ""
		for _, kv := range rs[0].GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		if service != "shop" {
			t.Errorf("service.name %q, want shop", service)
		}
	default:
		t.Fatal("nothing exported by Shutdown")
	}
}

// TestBadTracingConfig refuses what cannot be built.
func TestBadTracingConfig(t *testing.T) {
	for _, c := range []baton.TracingConfig{
		{Endpoint: "collector:4318", SampleRatio: 2},
		{Endpoint: "http://[::1"},
	} {
		if _, err := tracing.Enable(baton.New(), tracing.Config{TracingConfig: c}); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
