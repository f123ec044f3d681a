package baton

import (
	"fmt"
	"strings"

	"github.com/baton-go/baton/internal/obshook"
)

// The observability keys of a server section: metrics, tracing and pprof,
// each enabled by the file as by its method in code. They are read when
// the server starts, so a change takes effect at the next reload; what
// code enabled stays as code enabled it.
//
//	server:
//	  metrics: {enabled: true, pattern: /metrics}
//	  pprof:   {enabled: true, pattern: /debug/pprof}   # GoFrame's pprofEnabled, pprofPattern
//	  tracing:
//	    enabled: true
//	    service: shop
//	    endpoint: collector:4318      # OTLP over HTTP; or https://host/v1/traces
//	    insecure: true
//	    headers: {Authorization: "Bearer ..."}
//	    sampleRatio: 0.1

// endpointFile is a feature served at a pattern.
type endpointFile struct {
	Enabled bool   `yaml:"enabled"`
	Pattern string `yaml:"pattern"`
}

// tracingFile is the tracing section: TracingConfig and the switch.
type tracingFile struct {
	Enabled     bool              `yaml:"enabled"`
	Service     string            `yaml:"service"`
	Endpoint    string            `yaml:"endpoint"`
	Insecure    bool              `yaml:"insecure"`
	Headers     map[string]string `yaml:"headers"`
	SampleRatio float64           `yaml:"sampleRatio"`
}

func (t *tracingFile) config() TracingConfig {
	return TracingConfig{Service: t.Service, Endpoint: t.Endpoint, Insecure: t.Insecure, Headers: t.Headers, SampleRatio: t.SampleRatio}
}

// validateObserve checks the observability keys: patterns are paths, the
// sample ratio a share, and an enabled feature's package is linked.
func (sf *serverFile) validateObserve(path string, at sectionNode) error {
	bad := func(key, msg string) error { return at.errorAt(path, key, msg) }
	for _, e := range []struct {
		key string
		f   endpointFile
	}{{"metrics.pattern", sf.Metrics}, {"pprof.pattern", sf.PProf}} {
		if e.f.Pattern != "" && !strings.HasPrefix(e.f.Pattern, "/") {
			return bad(e.key, fmt.Sprintf("%q is not a path: it starts with /", e.f.Pattern))
		}
	}
	if r := sf.Tracing.SampleRatio; r < 0 || r > 1 {
		return bad("tracing.sampleRatio", fmt.Sprintf("%v is not between 0 and 1", r))
	}
	if sf.Metrics.Enabled && obshook.EnableMetrics == nil {
		return bad("metrics.enabled", `this program does not link package metrics: import _ "github.com/baton-go/baton/metrics"`)
	}
	if sf.Tracing.Enabled && obshook.EnableTracing == nil {
		return bad("tracing.enabled", `this program does not link package tracing: import _ "github.com/baton-go/baton/tracing"`)
	}
	return nil
}

// applyObserveSection enables what the server's section of the file
// enables and code has not: called by Start, before the server serves.
func (s *Server) applyObserveSection() error {
	d := Cfg().cur.Load()
	if d.err != nil {
		return d.err
	}
	sf := d.servers[s.name]
	if sf == nil {
		return nil
	}
	s.router.mu.Lock()
	on := s.router.enabled
	s.router.mu.Unlock()
	if sf.Metrics.Enabled && !on["metrics"] {
		s.EnableMetrics(sf.Metrics.Pattern)
	}
	if sf.PProf.Enabled && !on["pprof"] {
		s.EnablePProf(sf.PProf.Pattern)
	}
	if sf.Tracing.Enabled && !on["tracing"] {
		if err := s.EnableTracing(sf.Tracing.config()); err != nil {
			return err
		}
	}
	return nil
}

// markEnabled notes that a feature is on, so that the file does not enable
// it a second time.
func (s *Server) markEnabled(feature string) {
	s.router.mu.Lock()
	defer s.router.mu.Unlock()
	if s.router.enabled == nil {
		s.router.enabled = map[string]bool{}
	}
	s.router.enabled[feature] = true
}
