//go:build linux

package baton_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// TestProductionExample runs examples/production under reloads: its
// metrics count on across them, its access lines carry the caller's trace
// ID, and its metrics and profiles need the admin token.
func TestProductionExample(t *testing.T) {
	if testing.Short() {
		t.Skip("reloads take a few seconds")
	}
	const (
		token   = "s3cret"
		reloads = 2
		perGen  = 20
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	bin := build(t, "./examples/production")
	p := startProgram(t, bin, freePort(t), "ADMIN_TOKEN="+token)
	cur := p.WaitServing(0, 30*time.Second)
	do := func(path, auth string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", p.URL(path), nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sent := 0
	for gen := 0; gen <= reloads; gen++ {
		for i := range perGen {
			parent := fmt.Sprintf("00-%s-%016x-01", traceID, gen*100+i+1)
			if code, body := do(fmt.Sprintf("/user/%d", i), "", "traceparent", parent); code != 200 || !strings.Contains(body, traceID) {
				t.Fatalf("GET /user/%d: %d %s, want 200 with the trace ID", i, code, body)
			}
			sent++
		}
		if gen < reloads {
			old := cur
			p.Signal(syscall.SIGUSR1)
			cur = p.WaitServing(old, 30*time.Second)
			waitFor(t, fmt.Sprintf("old worker %d to be reaped", old), 30*time.Second, func() bool { return proctest.Reaped(old) })
		}
	}
	code, body := do("/metrics", token)
	if code != 200 {
		t.Fatalf("GET /metrics with the token: %d %s", code, body)
	}
	if got, _ := proctest.Metric(body, "baton_http_requests_total", "route=/user/:id", "status=200"); got != float64(sent) {
		t.Errorf("baton_http_requests_total{route=/user/:id} = %v after %d reloads, want %d", got, reloads, sent)
	}
	if gen, _ := proctest.Metric(body, "baton_worker_generation"); gen != reloads+1 {
		t.Errorf("baton_worker_generation = %v, want %d", gen, reloads+1)
	}
	p.WaitLog("trace_id="+traceID, 10*time.Second)
	if code, body := do("/user/9", "", "Accept-Encoding", "identity"); code != 200 || !strings.Contains(body, `"request":"`) {
		t.Errorf("GET /user/9: %d %s, want a request ID", code, body)
	}
	for _, tc := range []struct {
		path, auth string
		code       int
	}{
		{"/metrics", "", 401},
		{"/debug/pprof/heap", "", 401},
		{"/debug/pprof/heap", token, 200},
		{"/debug/admin/pprof/goroutine?debug=1", token, 200},
		{"/healthz", "", 200},
	} {
		if code, body := do(tc.path, tc.auth); code != tc.code {
			t.Errorf("GET %s (token %q): %d %.100s, want %d", tc.path, tc.auth, code, body, tc.code)
		}
	}
}
