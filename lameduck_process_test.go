//go:build linux

package baton_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/lbtest"
)

// TestLameDuckHealth: with "graceful: {lameDuck: 2s}" (the master's) or
// "server: {lameDuck: 2s}" (ServerConfig.LameDuck, which the worker
// reports), a SIGTERM makes /healthz answer 503 at once while the same
// worker goes on serving the rest, and the program exits after that.
func TestLameDuckHealth(t *testing.T) {
	t.Parallel()
	for _, row := range []struct{ name, graceful, server string }{
		{"graceful section", "graceful:\n  lameDuck: 2s\n", ""},
		{"server section", "", "  lameDuck: 2s\n"},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			lameDuckHealth(t, row.graceful, row.server)
		})
	}
}

func lameDuckHealth(t *testing.T, graceful, server string) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	port := freePort(t)
	writeConfig(t, cfg, fmt.Sprintf("server:\n  address: \"127.0.0.1:%d\"\n  accessLog: false\n%s%s", port, server, graceful))
	p := startProgram(t, build(t, "./testdata/app"), port, "PORT=", "BATON_CONFIG="+cfg)
	w := p.WaitServing(0, 30*time.Second)
	if code, body, err := p.Get("/healthz"); err != nil || code != http.StatusOK {
		t.Fatalf("GET /healthz before the stop = %d %q %v, want 200", code, body, err)
	}
	p.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, err := p.Get("/healthz")
		if err == nil && code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz after SIGTERM = %d %v, want 503 within 5s", code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The lame duck: everything but the health check is served as before,
	// by the same worker.
	for i := range 20 {
		code, body, err := p.Get("/pid")
		if err != nil || code != http.StatusOK || body != fmt.Sprint(w) {
			t.Fatalf("request %d during the lame duck: %d %q %v, want 200 from worker %d", i, code, body, err, w)
		}
	}
	if n := len(p.Log.Matching("lame duck: health checks fail, serving on", "for=2s")); n != 1 {
		t.Errorf("master's lame duck lines = %d, want 1:\n%s", n, p.Log)
	}
	if code := p.WaitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// lbFigures are the requests sent through HAProxy while one instance stops.
type lbFigures struct {
	ok, failed int
	kinds      map[string]int
	first      string
}

// TestLameDuckBehindHAProxy puts HAProxy, with an active health check of
// /healthz every 100ms, in front of two instances of the app, and stops
// one with SIGTERM under load from keep-alive and new-connection clients.
// With a lame duck no request fails: HAProxy sees the 503 and stops
// sending before the instance stops accepting. Without one (the second
// row, for comparison) the figures are only reported.
func TestLameDuckBehindHAProxy(t *testing.T) {
	lbtest.Require(t)
	for _, row := range []struct {
		name     string
		env      []string
		mustPass bool
	}{
		{"lameDuck 2s", []string{"BATON_LAME_DUCK=2s"}, true},
		{"no lame duck", nil, false},
	} {
		t.Run(row.name, func(t *testing.T) {
			f := stopBehindHAProxy(t, row.env)
			kinds := make([]string, 0, len(f.kinds))
			for k, n := range f.kinds {
				kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
			}
			sort.Strings(kinds)
			t.Logf("%s: %d requests through HAProxy, %d failed %v", row.name, f.ok+f.failed, f.failed, kinds)
			if row.mustPass && f.failed > 0 {
				t.Errorf("%d of %d requests failed through HAProxy while an instance stopped, first: %s",
					f.failed, f.ok+f.failed, f.first)
			}
		})
	}
}

// stopBehindHAProxy runs the scenario of TestLameDuckBehindHAProxy with
// env added to both instances.
func stopBehindHAProxy(t *testing.T, env []string) lbFigures {
	bin := build(t, "./testdata/app")
	pa, pb := freePort(t), freePort(t)
	a := startProgram(t, bin, pa, env...)
	b := startProgram(t, bin, pb, env...)
	a.WaitServing(0, 30*time.Second)
	b.WaitServing(0, 30*time.Second)
	lb := lbtest.Start(t, lbtest.Config{Backends: []string{fmt.Sprintf("127.0.0.1:%d", pa), fmt.Sprintf("127.0.0.1:%d", pb)}})
	lb.WaitStatus(t, "s0", "UP", 10*time.Second)
	lb.WaitStatus(t, "s1", "UP", 10*time.Second)

	f := lbFigures{kinds: map[string]int{}}
	var mu sync.Mutex
	var sent atomic.Int64
	done := make(chan struct{})
	keepAlive := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer keepAlive.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range 6 {
		c := keepAlive
		if i%3 == 2 {
			c = fresh
		}
		wg.Go(func() {
			// Bounded: until told to stop, at most 30s or 20000 requests.
			end := time.Now().Add(30 * time.Second)
			for n := 0; n < 20000 && time.Now().Before(end); n++ {
				select {
				case <-done:
					return
				default:
				}
				sent.Add(1)
				resp, err := c.Get(lb.URL("/pid"))
				var kind string
				if err != nil {
					kind = failureKind(err)
				} else {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						kind = fmt.Sprintf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				if kind == "" {
					f.ok++
				} else {
					f.failed++
					f.kinds[kind]++
					if f.first == "" {
						f.first = kind
					}
				}
				mu.Unlock()
			}
		})
	}
	waitSent := func(n int64) {
		deadline := time.Now().Add(20 * time.Second)
		for start := sent.Load(); sent.Load() < start+n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("load stalled: fewer than %d requests in 20s", n)
			}
		}
	}
	waitSent(300)
	stopped := time.Now()
	a.Signal(syscall.SIGTERM)
	if code := a.WaitExit(40 * time.Second); code != 0 {
		t.Errorf("stopped instance exited with %d, want 0", code)
	}
	t.Logf("the instance stopped %v after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	lb.WaitStatus(t, "s0", "DOWN", 10*time.Second)
	waitSent(300)
	close(done)
	wg.Wait()
	if strings.Contains(a.Log.String(), "lame duck") != (len(env) > 0) {
		t.Errorf("lame duck in the log = %v, want %v:\n%s", !(len(env) > 0), len(env) > 0, a.Log)
	}
	return f
}
