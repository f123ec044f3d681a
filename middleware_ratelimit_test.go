package baton

import (
	"net/netip"
	"testing"
	"time"
)

// TestRateLimitBounded checks that the clients tracked never pass
// MaxClients, however many come, and that a sweep drops idle ones.
func TestRateLimitBounded(t *testing.T) {
	l, err := newRateLimiter(RateLimitConfig{Rate: 1, Burst: 1, MaxClients: 64, Idle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 10_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.reserve(a, now)
	}
	total := 0
	for i := range l.shards {
		n := len(l.shards[i].clients)
		if n > l.max {
			t.Errorf("shard %d holds %d clients, more than its %d", i, n, l.max)
		}
		total += n
	}
	if total > 64+rateShards || total == 0 {
		t.Fatalf("%d clients tracked for MaxClients 64", total)
	}
	// A sweep with every client idle past the limit empties the shards.
	for i := range l.shards {
		sh := &l.shards[i]
		sh.sweep(monoNow()+l.idle, l.idle)
		if len(sh.clients) != 0 {
			t.Errorf("shard %d: %d clients after a sweep of idle ones", i, len(sh.clients))
		}
	}
}
