// Package tracing traces the requests of a baton server with
// OpenTelemetry (go.opentelemetry.io/otel): a server span per request,
// named by its method and route pattern, the W3C trace context of the
// caller continued, the trace ID in the access log line, and spans
// exported with OTLP over HTTP when an endpoint is configured.
//
//	import "github.com/baton-go/baton/tracing"
//
//	t, err := tracing.Enable(s, tracing.Config{TracingConfig: baton.TracingConfig{Endpoint: "collector:4318", Insecure: true}})
//	defer t.Shutdown(ctx)
//
// or s.EnableTracing(baton.TracingConfig{...}) with this package imported,
// or the "tracing" section of the configuration file. Only a program that
// imports this package links OpenTelemetry.
//
// The spans follow the semantic conventions of HTTP servers: name
// "GET /user/:id", kind server, http.request.method, http.route,
// url.path, url.scheme, server.address, client.address (the client as
// ServerConfig.TrustedProxies lets baton know it), user_agent.original,
// network.protocol.version and http.response.status_code; a 5xx answer
// or a panic marks the span an error. The span is in r.Context() for the
// handler's own spans.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/obshook"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

func init() {
	obshook.EnableTracing = func(s any, c any) error {
		_, err := Enable(s.(*baton.Server), Config{TracingConfig: *c.(*baton.TracingConfig)})
		return err
	}
}

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/baton-go/baton/tracing"

// Config configures Enable: baton.TracingConfig (the configuration
// file's section) and what only code can give.
type Config struct {
	baton.TracingConfig
	// Provider makes the spans. If nil, an SDK provider exporting with
	// OTLP to Endpoint is made when Endpoint is set, else the global
	// provider (otel.GetTracerProvider) is used.
	Provider trace.TracerProvider
	// Propagator reads the caller's trace context from the request. If
	// nil, W3C Trace Context and Baggage.
	Propagator propagation.TextMapPropagator
}

// Tracing is the tracing of one server.
type Tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	sdk    *sdktrace.TracerProvider // the provider Enable made, or nil
}

// Enable traces every request of s as Config says and adds trace_id to
// its access log lines. It returns an error for an Endpoint it cannot
// export to. Call it before Start, once per server.
func Enable(s *baton.Server, c Config) (*Tracing, error) {
	t, err := New(c)
	if err != nil {
		return nil, err
	}
	s.UseRoute(t.Route)
	s.AddAccessLogField("trace_id", TraceID)
	obshook.Enabled(s, "tracing")
	return t, nil
}

// New returns the tracing Config describes, for a program that wires it
// itself (Route); Enable is New with the wiring.
func New(c Config) (*Tracing, error) {
	t := &Tracing{prop: c.Propagator}
	if t.prop == nil {
		t.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	tp := c.Provider
	if tp == nil && c.Endpoint != "" {
		sdk, err := NewProvider(context.Background(), c.TracingConfig)
		if err != nil {
			return nil, err
		}
		t.sdk, tp = sdk, sdk
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t.tracer = tp.Tracer(ScopeName)
	return t, nil
}

// NewProvider returns an SDK tracer provider that exports to c.Endpoint
// with OTLP over HTTP, in batches, sampling c.SampleRatio of the traces
// started here (and every trace its caller sampled).
func NewProvider(ctx context.Context, c baton.TracingConfig) (*sdktrace.TracerProvider, error) {
	if c.Endpoint == "" {
		return nil, errors.New("baton: tracing: no endpoint")
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return nil, fmt.Errorf("baton: tracing: sampleRatio %v is not between 0 and 1", c.SampleRatio)
	}
	var opts []otlptracehttp.Option
	if strings.Contains(c.Endpoint, "://") {
		// The exporter logs a URL it cannot parse and goes on with its
		// default: refuse it here instead.
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("baton: tracing: endpoint %q is not an http(s) URL", c.Endpoint)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(c.Endpoint))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(c.Endpoint))
	}
	if c.Insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	if len(c.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(c.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("baton: tracing: OTLP exporter for %q: %w", c.Endpoint, err)
	}
	service := c.Service
	if service == "" {
		exe, _ := os.Executable()
		service = filepath.Base(exe)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return nil, fmt.Errorf("baton: tracing: resource: %w", err)
	}
	ratio := c.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	), nil
}

// Shutdown sends the spans not yet exported and stops the provider Enable
// made, if it made one. Call it once the server has stopped.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// TraceID returns the trace ID of the span in r's context, or "".
func TraceID(r *baton.Request) string {
	sc := trace.SpanContextFromContext(r.Request.Context())
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// Route returns the middleware that traces the requests of the route
// pattern, for baton.Server.UseRoute.
func (t *Tracing) Route(pattern string) baton.HandlerFunc {
	// A request no route matched has no http.route, and its span is
	// named by its method alone, as the conventions say.
	route, matched := routeOf(pattern)
	name := map[string]string{}
	for _, m := range methods {
		name[m] = strings.TrimSpace(m + " " + route)
	}
	other := strings.TrimSpace("HTTP " + route)
	attrs := 8
	if !matched {
		attrs--
	}
	return func(r *baton.Request) {
		req := r.Request
		ctx := t.prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		n, ok := name[req.Method]
		if !ok {
			n = other
		}
		scheme := "http"
		if req.TLS != nil {
			scheme = "https"
		}
		kv := make([]attribute.KeyValue, 0, attrs)
		kv = append(kv,
			semconv.HTTPRequestMethodKey.String(methodAttr(req.Method)),
			semconv.URLPath(req.URL.Path),
			semconv.URLScheme(scheme),
			semconv.ServerAddress(req.Host),
			semconv.ClientAddress(r.GetClientIp()),
			semconv.UserAgentOriginal(req.UserAgent()),
			semconv.NetworkProtocolVersion(protoVersion(req)),
		)
		if matched {
			kv = append(kv, semconv.HTTPRoute(route))
		}
		ctx, span := t.tracer.Start(ctx, n, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(kv...))
		r.Request = req.WithContext(ctx)
		defer func() {
			status := r.Response.Status()
			p := recover()
			if p != nil {
				status = http.StatusInternalServerError
				span.SetStatus(codes.Error, fmt.Sprint(p))
			} else if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			span.End()
			if p != nil {
				panic(p)
			}
		}()
		r.Middleware.Next()
	}
}

var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// methodAttr is the http.request.method of m: the method, or _OTHER for
// one HTTP does not define, as the conventions say.
func methodAttr(m string) string {
	for _, x := range methods {
		if m == x {
			return m
		}
	}
	return "_OTHER"
}

// routeOf returns the route of a pattern: its path, without the method
// list; or "" and false for the requests no route matches ("(not found)").
func routeOf(pattern string) (string, bool) {
	if strings.HasPrefix(pattern, "(") {
		return "", false
	}
	if i := strings.Index(pattern, ":/"); i > 0 && !strings.Contains(pattern[:i], "/") {
		return pattern[i+1:], true
	}
	return pattern, true
}

func protoVersion(req *http.Request) string {
	switch {
	case req.ProtoMajor == 1 && req.ProtoMinor == 1:
		return "1.1"
	case req.ProtoMajor == 2:
		return "2"
	}
	return strconv.Itoa(req.ProtoMajor) + "." + strconv.Itoa(req.ProtoMinor)
}
