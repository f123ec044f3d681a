//go:build linux

// Package lbtest puts a real load balancer, HAProxy, in front of the
// programs of a process test: [Start] runs haproxy on free loopback ports
// with an active HTTP health check of every backend, and stops it by pid
// when the test ends (through internal/proctest). Tests that need it call
// [Require] first: without haproxy they skip, unless BATON_HAPROXY_TESTS=1
// makes it mandatory (as .ci/run does, after installing Debian's haproxy).
package lbtest

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// EnvRequire set to "1" makes a missing haproxy fail the tests that need
// it instead of skipping them.
const EnvRequire = "BATON_HAPROXY_TESTS"

// Require returns the path of haproxy, or skips the test (fails it with
// EnvRequire=1) when there is none.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		for _, p := range []string{"/usr/sbin/haproxy", "/usr/local/sbin/haproxy"} {
			if _, serr := os.Stat(p); serr == nil {
				return p
			}
		}
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("haproxy not found and %s=1: install it (apt-get install haproxy)", EnvRequire)
		}
		t.Skipf("haproxy not found: install it (apt-get install haproxy) to run this test; %s=1 makes it mandatory", EnvRequire)
	}
	return path
}

// Config describes the balancer.
type Config struct {
	// Backends are the addresses ("127.0.0.1:8080") of the servers, named
	// s0, s1, ... in HAProxy's status.
	Backends []string
	// HealthPath is the path of the active health check; default
	// "/healthz". A server is down after Fall failed checks in a row and
	// up again after Rise good ones, one check every Interval.
	HealthPath string
	Interval   time.Duration // default 100ms
	Fall, Rise int           // default 2 and 1
}

// Balancer is a running haproxy.
type Balancer struct {
	*proctest.Program
	cfg       Config
	statsPort int
}

// Start runs haproxy in front of cfg.Backends, in the foreground of its
// own process group, and returns once its frontend accepts. The frontend
// is b.URL(path); b.Status tells what HAProxy thinks of each server.
func Start(t testing.TB, cfg Config) *Balancer {
	t.Helper()
	bin := Require(t)
	if cfg.HealthPath == "" {
		cfg.HealthPath = "/healthz"
	}
	if cfg.Interval == 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Fall == 0 {
		cfg.Fall = 2
	}
	if cfg.Rise == 0 {
		cfg.Rise = 1
	}
	front, stats := proctest.FreePort(t), proctest.FreePort(t)
	var servers strings.Builder
	for i, addr := range cfg.Backends {
		fmt.Fprintf(&servers, "    server s%d %s check\n", i, addr)
	}
	conf := fmt.Sprintf(`global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout http-keep-alive 10s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    balance roundrobin
    option httpchk GET %s
    http-check expect status 200
    default-server inter %dms fall %d rise %d
%s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, front, cfg.HealthPath, cfg.Interval.Milliseconds(), cfg.Fall, cfg.Rise, servers.String(), stats)
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Balancer{cfg: cfg, statsPort: stats}
	b.Program = proctest.Start(t, proctest.Config{Argv: []string{bin, "-db", "-f", path}, Dir: dir, Port: front})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := b.Status(); err == nil {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not serve its status within 10s")
		}
		select {
		case <-b.Exited():
			t.Fatalf("haproxy exited: %v\n%s", b.Cmd.ProcessState, b.Log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Status returns HAProxy's state of each backend server by name ("s0":
// "UP", "DOWN", "UP 1/2", ...).
func (b *Balancer) Status() (map[string]string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", b.statsPort))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("haproxy: empty status")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimPrefix(strings.TrimSpace(h), "# ")] = i
	}
	px, sv, st := col["pxname"], col["svname"], col["status"]
	out := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) > st && row[px] == "be" && row[sv] != "BACKEND" {
			out[row[sv]] = row[st]
		}
	}
	return out, nil
}

// WaitStatus waits up to d until server name's state begins with want
// ("UP", "DOWN") and fails the test otherwise.
func (b *Balancer) WaitStatus(t testing.TB, name, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last map[string]string
	for {
		st, err := b.Status()
		if err == nil && strings.HasPrefix(st[name], want) {
			return
		}
		last = st
		if time.Now().After(deadline) {
			t.Fatalf("haproxy: %s not %s within %v (status %v, err %v)", name, want, d, last, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
