//go:build linux

package baton_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/proctest"
)

// canaryAnswer is one request of the canary load: the status and the pid
// that answered, or how it failed.
type canaryAnswer struct {
	status int
	pid    int
	fail   string
}

// canaryLoad sends GET /pid over a new connection each time from clients
// goroutines, without retries, until stop is called.
type canaryLoad struct {
	mu      sync.Mutex
	answers []canaryAnswer
	done    chan struct{}
	wg      sync.WaitGroup
}

func startCanaryLoad(port, clients int) *canaryLoad {
	l := &canaryLoad{done: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 15 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/pid", port)
	for range clients {
		l.wg.Go(func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				a := canaryAnswer{}
				resp, err := client.Get(url)
				if err != nil {
					a.fail = failureKind(err)
				} else {
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					a.status = resp.StatusCode
					a.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
					if err != nil {
						a.fail = "body " + failureKind(err)
					}
				}
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *canaryLoad) stop() []canaryAnswer {
	close(l.done)
	l.wg.Wait()
	return l.answers
}

// canaryLine finds the figures in the master's log line of a verdict.
var canaryLine = regexp.MustCompile(`msg="baton: canary (promoted|rolled back)".* reason="([^"]*)" share=([0-9.]+) new_requests=(\d+) new_error_rate=([0-9.]+) new_p99=(\S+) old_requests=(\d+) old_error_rate=([0-9.]+) old_p99=(\S+)`)

// TestCanaryReload deploys a new build of testdata/app under load, with
// the configuration's canary section in force, and checks the verdict: a
// build that answers 500 on a fifth of requests is rolled back by the
// error rule, one 200 ms slower by the latency rule, a good one is
// promoted. Reloads come by signal and through Server.Reload. Through it
// all no request fails, except those the bad build answered with 500.
func TestCanaryReload(t *testing.T) {
	if testing.Short() {
		t.Skip("three canary windows under load")
	}
	tests := []struct {
		name     string
		mode     string
		api      bool // Server.Reload(baton.Canary(...)) rather than SIGUSR1
		promoted bool
		reason   string
	}{
		{name: "500 on a fifth of requests is rolled back", mode: "err20", reason: "error rate"},
		{name: "200 ms slower is rolled back by the latency rule", mode: "slow", api: true, reason: "p99"},
		{name: "a good build is promoted", mode: "", api: true, promoted: true, reason: "within thresholds"},
	}
	good := build(t, "./testdata/app")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "app")
			install(t, good, bin)
			cfg := filepath.Join(dir, "config.yaml")
			os.WriteFile(cfg, []byte("graceful:\n  canary:\n    window: 3s\n    share: 0.3\n    maxErrorRate: 0.05\n    maxP99: 150ms\n"), 0o600)
			port := freePort(t)
			p := startProgram(t, bin, port, "BATON_CONFIG="+cfg)
			old := p.WaitServing(0, 30*time.Second)
			install(t, build(t, "./testdata/app", "mode="+tt.mode, "greeting=v2"), bin)

			l := startCanaryLoad(port, 6)
			var verdict struct {
				Err     string
				Verdict baton.CanaryVerdict
			}
			if tt.api {
				resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/canary", port), "", nil)
				if err != nil {
					t.Fatalf("POST /canary: %v", err)
				}
				json.NewDecoder(resp.Body).Decode(&verdict)
				resp.Body.Close()
			} else {
				p.Signal(syscall.SIGUSR1)
			}
			p.waitLog("baton: canary "+map[bool]string{true: "promoted", false: "rolled back"}[tt.promoted], 60*time.Second)
			lines := p.Log.Matching("baton: canary ")
			var m []string
			for _, line := range lines {
				if m = canaryLine.FindStringSubmatch(line); m != nil {
					break
				}
			}
			if m == nil || !strings.Contains(m[2], tt.reason) {
				t.Fatalf("verdict line %q, want reason %q; canary lines:\n%s", m, tt.reason, strings.Join(lines, "\n"))
			}
			started := p.Log.Matching("baton: canary started")
			var nu int
			if len(started) == 1 {
				fmt.Sscanf(started[0][strings.Index(started[0], "new_pid="):], "new_pid=%d", &nu)
			}
			if nu == 0 {
				t.Fatalf("no canary start with the new pid in the log: %q", started)
			}
			want := old
			if tt.promoted {
				want = nu
				p.WaitServing(old, 30*time.Second)
			}
			// Let the load meet the survivor alone for a moment.
			waitFor(t, "the loser to exit", 30*time.Second, func() bool { return proctest.Gone(map[int]int{old: nu, nu: old}[want]) })
			for range 20 {
				if pid, err := p.WorkerPID(); err != nil || pid != want {
					t.Fatalf("after the verdict GET /pid = %d, %v; want %d", pid, err, want)
				}
			}
			answers := l.stop()

			if tt.api {
				v := verdict.Verdict
				if v.Promoted != tt.promoted || !strings.Contains(v.Reason, tt.reason) || v.New.PID != nu || v.Old.PID != old {
					t.Errorf("Server.Reload's verdict %+v (err %q), want promoted %v for %q, new %d, old %d", v, verdict.Err, tt.promoted, tt.reason, nu, old)
				}
				if (verdict.Err == "") != tt.promoted {
					t.Errorf("Server.Reload's error %q, want one only on a rollback", verdict.Err)
				}
			}
			var byNew, byOld, bad500 int
			fails := map[string]int{}
			for _, a := range answers {
				switch {
				case a.fail != "":
					fails[a.fail]++
				case a.status == http.StatusInternalServerError && a.pid == nu && tt.mode == "err20":
					bad500++
				case a.status != http.StatusOK:
					fails["status "+strconv.Itoa(a.status)]++
				}
				switch a.pid {
				case nu:
					byNew++
				case old:
					byOld++
				}
			}
			if len(fails) > 0 {
				t.Errorf("failed requests other than the bad build's 500s: %v", fails)
			}
			if tt.mode == "err20" && bad500 == 0 {
				t.Errorf("the bad build answered no 500: the load never reached it")
			}
			t.Logf("%s: %s (%s); share of new connections achieved %s (asked 0.30); new %s req, 5xx rate %s, p99 %s; old %s req, 5xx rate %s, p99 %s; load %d requests (new %d, old %d), %d answered 500 by the bad build, %d other failures",
				tt.name, m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], len(answers), byNew, byOld, bad500, len(fails))
		})
	}
}

// TestAdminCanaryButton posts the admin page's Canary reload to
// examples/admin with a short window and no other traffic: the new worker
// answers too little to be judged, is promoted as inconclusive, and the
// verdict comes back in the answer and in the history.
func TestAdminCanaryButton(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "admin")
	install(t, build(t, "./examples/admin"), bin)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("graceful:\n  canary:\n    window: 1s\n"), 0o600)
	p := startProgram(t, bin, freePort(t), "BATON_CONFIG="+cfg)
	w1 := p.WaitServing(0, 30*time.Second)
	at := time.Now()
	code, body, err := p.Post("/debug/admin/canary")
	if err != nil || code != 200 || !strings.Contains(body, "canary promoted: inconclusive") {
		t.Fatalf("POST /debug/admin/canary = %d %q %v", code, body, err)
	}
	if took := time.Since(at); took < time.Second {
		t.Errorf("answered after %v, before the 1s window ended", took)
	}
	w2 := p.WaitServing(w1, 30*time.Second)
	_, status, _ := p.Get("/debug/admin/status")
	var st struct {
		WorkerPID int `json:"worker_pid"`
		Promoted  int `json:"canary_promoted"`
		History   []struct {
			Trigger    string               `json:"trigger"`
			Canary     *baton.CanaryVerdict `json:"canary"`
			CanaryText string               `json:"canary_text"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(status), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, status)
	}
	if st.WorkerPID != w2 || st.Promoted != 1 || len(st.History) == 0 || st.History[0].Canary == nil ||
		st.History[0].Canary.New.PID != w2 || !strings.HasPrefix(st.History[0].CanaryText, "promoted: inconclusive") {
		t.Errorf("status after the canary = %s", status)
	}
}
