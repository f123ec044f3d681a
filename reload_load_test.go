//go:build linux

package baton_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// A load client speaks HTTP/1.1 itself and never retries: every refused,
// reset or cut request and every non-2xx answer is counted.
type loadClient struct {
	kind string // "keep-alive", "new-conn", "idle-pooled"
	addr string
	path string
	conn net.Conn
	br   *bufio.Reader
}

type sample struct {
	at   time.Time // when the answer (or the failure) came
	lat  time.Duration
	pid  int
	fail string
}

func (c *loadClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *loadClient) do() sample {
	start := time.Now()
	s := c.request()
	s.at = time.Now()
	s.lat = s.at.Sub(start)
	return s
}

func (c *loadClient) request() sample {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			return sample{fail: "dial " + failureKind(err)}
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	c.conn.SetDeadline(time.Now().Add(15 * time.Second))
	hdr := ""
	if c.kind == "new-conn" {
		hdr = "Connection: close\r\n"
	}
	if _, err := fmt.Fprintf(c.conn, "GET %s HTTP/1.1\r\nHost: load\r\n%s\r\n", c.path, hdr); err != nil {
		c.close()
		return sample{fail: "write " + failureKind(err)}
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return sample{fail: "read " + failureKind(err)}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.close()
		return sample{fail: "body " + failureKind(err)}
	}
	if resp.Close || c.kind == "new-conn" {
		c.close()
	}
	if resp.StatusCode/100 != 2 {
		return sample{fail: "status " + strconv.Itoa(resp.StatusCode)}
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(body)))
	return sample{pid: pid}
}

// load runs clients until stop is closed and returns their samples by kind.
type load struct {
	mu      sync.Mutex
	samples map[string][]sample
	wg      sync.WaitGroup
	stop    chan struct{}
}

func startLoad(addr, path string, perKind int, maxDur time.Duration) *load {
	return startLoadKinds(addr, path, []string{"keep-alive", "new-conn", "idle-pooled"}, perKind, maxDur)
}

// startLoadKinds is startLoad with a choice of client kinds.
func startLoadKinds(addr, path string, kinds []string, perKind int, maxDur time.Duration) *load {
	l := &load{samples: make(map[string][]sample), stop: make(chan struct{})}
	deadline := time.Now().Add(maxDur)
	for _, kind := range kinds {
		for i := 0; i < perKind; i++ {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				c := &loadClient{kind: kind, addr: addr, path: path}
				defer c.close()
				var mine []sample
				for n := 0; n < 1_000_000 && time.Now().Before(deadline); n++ {
					select {
					case <-l.stop:
						n = 1_000_000
						continue
					default:
					}
					mine = append(mine, c.do())
					if kind == "idle-pooled" {
						select {
						case <-l.stop:
						case <-time.After(time.Second):
						}
					}
				}
				l.mu.Lock()
				l.samples[kind] = append(l.samples[kind], mine...)
				l.mu.Unlock()
			}()
		}
	}
	return l
}

func (l *load) finish() map[string][]sample {
	close(l.stop)
	l.wg.Wait()
	return l.samples
}

func percentile(lats []time.Duration, p float64) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	i := int(float64(len(lats)-1) * p)
	return lats[i]
}

func latencies(ss []sample, keep func(sample) bool) []time.Duration {
	var l []time.Duration
	for _, s := range ss {
		if s.fail == "" && keep(s) {
			l = append(l, s.lat)
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l
}

// TestReloadUnderLoad reloads examples/hello 20 times under 24 concurrent
// clients of three kinds and requires that no request fails. Its log is
// the reload benchmark: run it with -v to see the figures.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("reload under load takes about half a minute")
	}
	const reloads = 20
	bin := build(t, "./examples/hello")
	port := freePort(t)
	p := startProgram(t, bin, port)
	cur := p.WaitServing(0, 30*time.Second)

	l := startLoad(fmt.Sprintf("127.0.0.1:%d", port), "/pid", 8, 3*time.Minute)
	type reload struct {
		at       time.Time
		old, new int
	}
	var history []reload
	var fdFirst, maxKids int
	var masterRSS, masterAnon, workerRSS, workerAnon int
	for i := 0; i < reloads; i++ {
		old := cur
		at := time.Now()
		p.Signal(syscall.SIGUSR1)
		cur = p.WaitServing(old, 30*time.Second)
		history = append(history, reload{at: at, old: old, new: cur})
		waitFor(t, fmt.Sprintf("old worker %d to exit and be reaped", old), 60*time.Second, func() bool {
			if k := len(proctest.Children(p.PID)); k > maxKids {
				maxKids = k
			}
			return proctest.Reaped(old)
		})
		if z := proctest.Zombies(p.PID); len(z) > 0 {
			t.Errorf("after reload %d (old %d, new %d) the master has zombie children %v", i+1, old, cur, z)
		}
		if i == 0 {
			fdFirst = proctest.FDCount(p.PID)
		}
		// Pace the reloads (this is load shape, not a readiness wait): the
		// idle pooled clients send once a second, so a cycle of 1.3 s
		// leaves their connections idle on the worker being drained.
		time.Sleep(time.Until(at.Add(1300 * time.Millisecond)))
		mr, ma := proctest.RSS(p.PID)
		wr, wa := proctest.RSS(cur)
		masterRSS, masterAnon = max(masterRSS, mr), max(masterAnon, ma)
		workerRSS, workerAnon = max(workerRSS, wr), max(workerAnon, wa)
	}
	fdLast := proctest.FDCount(p.PID)
	byKind := l.finish()

	if proctest.Gone(p.PID) {
		t.Fatalf("master %d died", p.PID)
	}
	if k := proctest.Children(p.PID); len(k) != 1 || k[0].PID != cur {
		t.Errorf("master's children after the reloads = %v, want only the worker %d", k, cur)
	}
	if maxKids > 2 {
		t.Errorf("the master had %d children at once: reloads left two old workers", maxKids)
	}
	if fdLast != fdFirst {
		t.Errorf("master fds after reload 1 = %d, after reload %d = %d: a leak", fdFirst, reloads, fdLast)
	}

	// The figures.
	var all []sample
	var report strings.Builder
	fmt.Fprintf(&report, "%d reloads of examples/hello under load (master pid %d constant)\n", reloads, p.PID)
	fmt.Fprintf(&report, "%-12s %8s %8s %10s %10s %10s   failures\n", "clients", "requests", "failed", "p50", "p99", "max")
	failed := 0
	for _, kind := range []string{"keep-alive", "new-conn", "idle-pooled"} {
		ss := byKind[kind]
		all = append(all, ss...)
		kinds := map[string]int{}
		for _, s := range ss {
			if s.fail != "" {
				kinds[s.fail]++
				failed++
			}
		}
		lat := latencies(ss, func(sample) bool { return true })
		fmt.Fprintf(&report, "%-12s %8d %8d %10v %10v %10v   %v\n", kind, len(ss), len(ss)-len(lat),
			percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond),
			percentile(lat, 1).Round(time.Microsecond), kinds)
		if len(lat) == 0 {
			t.Errorf("%s clients completed no request", kind)
		}
	}
	lat := latencies(all, func(sample) bool { return true })
	after := latencies(all, func(s sample) bool {
		for _, r := range history {
			if !s.at.Before(r.at) && s.at.Sub(r.at) < time.Second {
				return true
			}
		}
		return false
	})
	fmt.Fprintf(&report, "%-12s %8d %8d %10v %10v %10v\n", "all", len(all), failed,
		percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond))
	fmt.Fprintf(&report, "%-12s %8d %8s %10v %10v %10v\n", "1s after", len(after), "",
		percentile(after, .5).Round(time.Microsecond), percentile(after, .99).Round(time.Microsecond), percentile(after, 1).Round(time.Microsecond))
	var handoffs []time.Duration
	for _, r := range history {
		first := time.Time{}
		for _, s := range all {
			if s.pid == r.new && (first.IsZero() || s.at.Before(first)) {
				first = s.at
			}
		}
		if !first.IsZero() {
			handoffs = append(handoffs, first.Sub(r.at))
		}
	}
	sort.Slice(handoffs, func(i, j int) bool { return handoffs[i] < handoffs[j] })
	fmt.Fprintf(&report, "hand-off, signal to first answer by the new worker: p50 %v, max %v\n",
		percentile(handoffs, .5).Round(time.Millisecond), percentile(handoffs, 1).Round(time.Millisecond))
	fmt.Fprintf(&report, "resident memory (max seen): master %d KiB (%d KiB private), worker %d KiB (%d KiB private); master fds %d -> %d\n",
		masterRSS, masterAnon, workerRSS, workerAnon, fdFirst, fdLast)
	t.Log("\n" + report.String())
	if failed > 0 {
		t.Errorf("%d requests failed across %d reloads", failed, reloads)
	}
}
