//go:build linux

package baton_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/lbtest"
	"github.com/baton-go/baton/internal/redistest"
)

// fleetUsers is how many users the fleet test logs in; every third one
// opens a new connection per request, the others keep theirs alive.
const fleetUsers = 9

// fleetPhase counts the requests of one phase of the fleet test.
type fleetPhase struct {
	ok, failed, lost atomic.Int64 // lost: the session was gone or had lost a hit
	mu               sync.Mutex
	kinds            map[string]int
	first            string
}

func (f *fleetPhase) fail(kind string, lost bool) {
	if lost {
		f.lost.Add(1)
	} else {
		f.failed.Add(1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kinds[kind]++
	if f.first == "" {
		f.first = kind
	}
}

func (f *fleetPhase) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := make([]string, 0, len(f.kinds))
	for k, n := range f.kinds {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d requests, %d failed, %d lost sessions %v", f.ok.Load()+f.failed.Load()+f.lost.Load(), f.failed.Load(), f.lost.Load(), kinds)
}

// TestFleetBehindHAProxy runs three instances of examples/fleet behind
// HAProxy (health check of /healthz every 100ms), with their sessions in
// one Redis. Logged-in users, on keep-alive and on new connections, count
// hits in their sessions through the balancer while (a) each instance in
// turn reloads (SIGUSR1, waiting for "reload complete"), then (b) each in
// turn stops with the lame duck (SIGTERM; /healthz 503 for 1s, then the
// drain) and starts again. No request may fail, and every session must
// keep every hit: each answer of POST /hit is the count the client
// expects.
func TestFleetBehindHAProxy(t *testing.T) {
	lbtest.Require(t)
	rs := redistest.Start(t)
	bin := build(t, "./examples/fleet")
	const n = 3
	ports := make([]int, n)
	cfgs := make([]string, n)
	backends := make([]string, n)
	for i := range n {
		ports[i] = freePort(t)
		backends[i] = fmt.Sprintf("127.0.0.1:%d", ports[i])
		cfgs[i] = filepath.Join(t.TempDir(), "config.yaml")
		writeConfig(t, cfgs[i], fmt.Sprintf("server:\n  accessLog: false\n"+
			"graceful:\n  lameDuck: 1s\n"+
			"session:\n  store: redis\n  addr: %s\n  prefix: \"fleet:\"\n  ttl: 1h\n", rs.Addr))
	}
	start := func(i int) *program {
		p := startProgram(t, bin, ports[i], "BATON_CONFIG="+cfgs[i])
		p.WaitServing(0, 30*time.Second)
		return p
	}
	insts := make([]*program, n)
	for i := range n {
		insts[i] = start(i)
	}
	lb := lbtest.Start(t, lbtest.Config{Backends: backends})
	for i := range n {
		lb.WaitStatus(t, fmt.Sprint("s", i), "UP", 10*time.Second)
	}

	var phase atomic.Pointer[fleetPhase]
	newPhase := func() *fleetPhase {
		f := &fleetPhase{kinds: map[string]int{}}
		phase.Store(f)
		return f
	}
	newPhase()
	var sent atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	hits := make([]int, fleetUsers)
	clients := make([]*http.Client, fleetUsers)
	for u := range fleetUsers {
		jar, _ := cookiejar.New(nil)
		tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: u%3 == 2}
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: tr}
		clients[u] = c
		t.Cleanup(tr.CloseIdleConnections)
		user := fmt.Sprint("user", u)
		if code, body := post(t, c, lb.URL("/login?user="+user)); code != 200 {
			t.Fatalf("login of %s through HAProxy: %d %q", user, code, body)
		}
		wg.Go(func() {
			end := time.Now().Add(3 * time.Minute) // bounded, whatever happens
			for time.Now().Before(end) {
				select {
				case <-done:
					return
				default:
				}
				f := phase.Load()
				sent.Add(1)
				resp, err := c.Post(lb.URL("/hit"), "", nil)
				if err != nil {
					f.fail(failureKind(err), false)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch got := strings.TrimSpace(string(b)); {
				case resp.StatusCode == http.StatusUnauthorized:
					f.fail("session lost", true)
				case resp.StatusCode != http.StatusOK:
					f.fail(fmt.Sprintf("status %d", resp.StatusCode), false)
				case got != strconv.Itoa(hits[u]+1):
					// A hit of an answered request is missing (or counted
					// twice): the session lost a change.
					f.fail(fmt.Sprintf("hit count %s, want %d", got, hits[u]+1), true)
					hits[u], _ = strconv.Atoi(got)
				default:
					hits[u]++
					f.ok.Add(1)
				}
			}
		})
	}
	waitSent := func(k int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for start := sent.Load(); sent.Load() < start+k; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("load stalled: fewer than %d requests in 30s", k)
			}
		}
	}
	waitSent(200)

	// (a) Rolling reload.
	reload := newPhase()
	began := time.Now()
	for i, p := range insts {
		before := len(p.Log.Matching("reload complete"))
		p.Signal(syscall.SIGUSR1)
		p.Log.WaitFor(t, 30*time.Second, before+1, "reload complete")
		lb.WaitStatus(t, fmt.Sprint("s", i), "UP", 10*time.Second)
		waitSent(100)
	}
	reloadTook := time.Since(began)

	// (b) Rolling restart with the lame duck.
	restart := newPhase()
	began = time.Now()
	for i, p := range insts {
		p.Signal(syscall.SIGTERM)
		if code := p.WaitExit(40 * time.Second); code != 0 {
			t.Errorf("instance %d exited with %d after SIGTERM, want 0", i, code)
		}
		if len(p.Log.Matching("lame duck")) == 0 {
			t.Errorf("instance %d stopped without a lame duck:\n%s", i, p.Log)
		}
		insts[i] = start(i)
		lb.WaitStatus(t, fmt.Sprint("s", i), "UP", 10*time.Second)
		waitSent(100)
	}
	restartTook := time.Since(began)
	after := newPhase()
	waitSent(100)
	close(done)
	wg.Wait()

	for _, row := range []struct {
		name string
		f    *fleetPhase
		took time.Duration
	}{{"rolling reload", reload, reloadTook}, {"rolling restart", restart, restartTook}, {"after", after, 0}} {
		t.Logf("%s (%v): %s", row.name, row.took.Round(time.Millisecond), row.f)
		if row.f.failed.Load() > 0 || row.f.lost.Load() > 0 {
			t.Errorf("%s: %s; first: %s", row.name, row.f, row.f.first)
		}
		if row.f.ok.Load() == 0 {
			t.Errorf("%s: no request answered", row.name)
		}
	}
	// Every session is still there on every instance (the cookie jar sends
	// the session cookie to any port of 127.0.0.1).
	for u, c := range clients {
		for i, addr := range backends {
			resp, err := c.Get("http://" + addr + "/me")
			if err != nil {
				t.Errorf("GET /me of user%d from instance %d: %v", u, i, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != fmt.Sprint("user", u) {
				t.Errorf("GET /me of user%d from instance %d = %d %q, want user%d", u, i, resp.StatusCode, b, u)
			}
		}
	}
}

// post sends an empty POST and returns the status and body.
func post(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
