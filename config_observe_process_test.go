//go:build linux

package baton_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestObserveFromConfig turns metrics, pprof (by GoFrame's keys) and
// tracing on from config.yaml alone, the OTLP exporter pointed at a
// receiver this test runs: the span of a request arrives there, named by
// its route and with the service the file names.
func TestObserveFromConfig(t *testing.T) {
	spans := make(chan string, 16)
	coll := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := new(collectortrace.ExportTraceServiceRequest)
		if err := proto.Unmarshal(b, req); err != nil {
			t.Errorf("export: %v", err)
		}
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					spans <- service + " " + sp.GetName() + " " + fmt.Sprintf("%x", sp.GetTraceId())
				}
			}
		}
	}))
	defer coll.Close()

	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, cfg, fmt.Sprintf(`server:
  address: "127.0.0.1:%d"
  admin: {allowLocal: true}
  metrics: {enabled: true}
  pprofEnabled: true
  tracing:
    enabled: true
    service: from-config
    endpoint: %s
`, port, coll.URL))
	p := startProgram(t, build(t, "./testdata/obsconfig"), port, "PORT=", "BATON_CONFIG="+cfg)
	p.WaitServing(0, 30*time.Second)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", p.URL("/pid"), nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "from-config GET /pid " + traceID
	deadline := time.After(30 * time.Second) // the batcher exports every 5 s
	for found := false; !found; {
		select {
		case s := <-spans:
			found = s == want
		case <-deadline:
			t.Fatalf("no span %q exported", want)
		}
	}
	code, body, err := p.Get("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	if n, _ := proctest.Metric(body, "baton_http_requests_total", "route=/pid"); n < 1 {
		t.Errorf("no request of /pid counted:\n%s", body)
	}
	if code, body, _ := p.Get("/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine: %d %.100s", code, body)
	}
}
