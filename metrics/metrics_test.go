package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/metrics"
)

// server returns a server with metrics on and three routes, and the
// client's view of it; local admits loopback clients to the metrics.
func server(t *testing.T, local bool) *httptest.Server {
	t.Helper()
	s := baton.New()
	c := s.Config()
	c.Admin.AllowLocal = local
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.EnableMetrics()
	s.BindHandler("GET:/user/{id}", func(r *baton.Request) { r.Response.Write("user " + r.Get("id")) })
	s.BindHandler("POST:/boom", func(r *baton.Request) { panic("boom") })
	s.BindHandler("/big", func(r *baton.Request) {
		r.Response.Write(strings.Repeat("x", 5000))
		r.Response.Flush()
		r.Response.Write(strings.Repeat("y", 5000))
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsByRoute counts requests by method, route pattern (never the
// path; the router writes "{id}" as ":id") and status, with their
// durations and sizes.
func TestMetricsByRoute(t *testing.T) {
	ts := server(t, true)
	for _, p := range []string{"/user/1", "/user/2", "/user/3"} {
		get(t, "GET", ts.URL+p)
	}
	get(t, "GET", ts.URL+"/no/such/a")
	get(t, "GET", ts.URL+"/no/such/b")
	get(t, "DELETE", ts.URL+"/user/1")
	get(t, "POST", ts.URL+"/boom")
	get(t, "GET", ts.URL+"/big")
	get(t, "BREW", ts.URL+"/big")
	code, body := get(t, "GET", ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, tc := range []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"by pattern", "baton_http_requests_total", []string{"method=GET", "route=/user/:id", "status=200"}, 3},
		{"unmatched", "baton_http_requests_total", []string{"method=GET", "route=(not found)", "status=404"}, 2},
		{"wrong method", "baton_http_requests_total", []string{"method=DELETE", "route=(method not allowed)", "status=405"}, 1},
		{"panic", "baton_http_requests_total", []string{"method=POST", "route=/boom", "status=500"}, 1},
		{"other method", "baton_http_requests_total", []string{"method=OTHER", "route=(method not allowed)"}, 1},
		{"durations", "baton_http_request_duration_seconds_count", []string{"route=/user/:id"}, 3},
		{"streamed size", "baton_http_response_size_bytes_sum", []string{"method=GET", "route=/big"}, 10000},
		{"size buckets", "baton_http_response_size_bytes_bucket", []string{"method=GET", "route=/big", "le=1000"}, 0},
		{"in flight: the scrape", "baton_http_requests_in_flight", nil, 1},
		{"no master", "baton_worker_generation", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := proctest.Metric(body, tc.metric, tc.labels...)
			if !ok || got != tc.want {
				t.Errorf("%s%v = %v (found %v), want %v", tc.metric, tc.labels, got, ok, tc.want)
			}
		})
	}
	if strings.Contains(body, "/user/1") || strings.Contains(body, "/no/such") {
		t.Errorf("a raw path is a label:\n%s", body)
	}
	if _, ok := proctest.Metric(body, "go_goroutines"); !ok {
		t.Errorf("no go_goroutines in\n%s", body)
	}
}

// TestMetricsGuarded: the metrics have the admin page's access rules.
func TestMetricsGuarded(t *testing.T) {
	ts := server(t, false)
	if code, body := get(t, "GET", ts.URL+"/metrics"); code != http.StatusForbidden {
		t.Errorf("GET /metrics without AllowLocal nor token: %d %s, want 403", code, body)
	}
}

// TestEnableMetricsTwice: a second Enable on one server conflicts.
func TestEnableMetricsTwice(t *testing.T) {
	s := baton.New()
	metrics.Enable(s, "/m")
	defer func() {
		if recover() == nil {
			t.Error("no panic for a second metrics endpoint at the same pattern")
		}
	}()
	metrics.Enable(s, "/m")
}
