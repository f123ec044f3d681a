// Command production is a baton program with what production wants turned
// on: Prometheus metrics that keep counting across reloads, OpenTelemetry
// tracing, pprof, the admin page and a health check, and the middleware
// shipped with baton (request IDs, security headers, CSRF, compression,
// a rate limit, a timeout on the API). It serves /, /pid and /user/{id}
// on port 8199, or on $PORT.
//
//	ADMIN_TOKEN=s3cret go run ./examples/production
//	curl -H 'Authorization: Bearer s3cret' localhost:8199/metrics
//	curl -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' localhost:8199/user/7
//	go tool pprof -http=: 'http://:s3cret@localhost:8199/debug/pprof/profile?seconds=5'
//	kill -USR1 <master pid>   # reload: the counters go on from where they were
//
// The metrics, pprof and admin endpoints need ADMIN_TOKEN (as a Bearer
// token or basic-auth password); without it they admit nobody. With
// OTEL_ENDPOINT set ("collector:4318"), spans are exported with OTLP over
// HTTP (OTEL_INSECURE=1 for plain HTTP); without it each access log line
// still carries its trace_id. A config.yaml may say the same in its
// server section (see README, "Tracing").
package main

import (
	"context"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	"github.com/baton-go/baton/metrics"
	"github.com/baton-go/baton/tracing"
)

func main() {
	s := g.Server()
	c := s.Config()
	c.Admin.Token = os.Getenv("ADMIN_TOKEN")
	if err := s.SetConfig(c); err != nil {
		log.Fatal(err)
	}

	metrics.Enable(s, "/metrics")
	tr, err := tracing.Enable(s, tracing.Config{TracingConfig: baton.TracingConfig{
		Service:  "production-example",
		Endpoint: os.Getenv("OTEL_ENDPOINT"),
		Insecure: os.Getenv("OTEL_INSECURE") == "1",
	}})
	if err != nil {
		log.Fatalf("production: %v", err)
	}
	s.EnablePProf()
	s.EnableAdmin()
	s.EnableHealth()
	useMiddleware(s)

	s.BindHandler("GET:/", func(r *baton.Request) {
		r.Response.Writeln("hello from production")
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(os.Getpid())
	})
	s.Group("/user", func(g *baton.RouterGroup) {
		g.Use(apiTimeout)
		g.BindHandler("GET:/{id}", func(r *baton.Request) {
			r.Response.WriteJson(map[string]any{"id": r.Get("id"), "trace": tracing.TraceID(r),
				"request": baton.RequestIDFromContext(r.Context())})
		})
	})

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("production: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	s.Run()

	// The spans of the last requests go out before the worker exits.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr.Shutdown(ctx)
}
