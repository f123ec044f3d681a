package baton

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitConfig configures the RateLimit middleware.
type RateLimitConfig struct {
	// Rate is the number of requests a second each client may make in
	// the long run. It must be positive.
	Rate float64 `yaml:"rate"`
	// Burst is the number of requests a client may make at once, above
	// Rate. If zero, the whole of Rate rounded up (at least 1).
	Burst int `yaml:"burst"`
	// IPv6Prefix is the length of the IPv6 networks counted as one
	// client, since a single host is given a /64 and may use any address
	// in it. If zero, 64; 128 counts each address alone.
	IPv6Prefix int `yaml:"ipv6Prefix"`
	// MaxClients bounds the clients tracked at once, and so the memory:
	// about 200 bytes each. If zero, 100,000. When full, a new client
	// takes the place of one that has been idle longest among a few.
	MaxClients int `yaml:"maxClients"`
	// Idle is how long a client's state is kept after its last request.
	// If zero, the time its bucket takes to fill (Burst/Rate), and at
	// least a minute: after that it would have its whole burst again.
	Idle time.Duration `yaml:"idle"`
}

// DefaultRateLimitMaxClients is the RateLimitConfig.MaxClients default.
const DefaultRateLimitMaxClients = 100_000

// RateLimit returns middleware that limits each client to c.Rate requests
// a second with bursts of c.Burst, with golang.org/x/time/rate's token
// buckets: a request over the limit is answered 429 Too Many Requests,
// with Retry-After in seconds, and the chain does not run. The client is
// the address of Request.GetClientIp: the peer, or, from a trusted proxy
// (ServerConfig.TrustedProxies), the client it names; no header of
// another peer is read, so a client cannot pose as many. IPv6 clients are
// counted by /64 network (c.IPv6Prefix).
//
// The state of a client idle for c.Idle is dropped, and at most
// c.MaxClients are tracked. Each server process counts on its own: a
// reload starts the counts afresh, and several instances behind a load
// balancer each allow the rate. It panics if c.Rate is not positive.
func RateLimit(c RateLimitConfig) HandlerFunc {
	l, err := newRateLimiter(c)
	if err != nil {
		panic(err)
	}
	return l.serve
}

// rateLimiter holds the buckets of the clients, in shards to keep the
// lock of one client's request from others.
type rateLimiter struct {
	limit  rate.Limit
	burst  int
	prefix int
	idle   int64 // nanoseconds
	max    int   // clients per shard
	shards [rateShards]rateShard
}

const rateShards = 16

type rateShard struct {
	mu      sync.Mutex
	clients map[netip.Addr]*rateClient
	swept   int64 // monoNow of the last sweep
}

type rateClient struct {
	lim  *rate.Limiter
	seen int64 // monoNow of the last request
}

func newRateLimiter(c RateLimitConfig) (*rateLimiter, error) {
	if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
		return nil, errors.New("baton: RateLimit: rate must be a positive number of requests a second")
	}
	burst := c.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(c.Rate)))
	}
	prefix := c.IPv6Prefix
	if prefix <= 0 || prefix > 128 {
		prefix = 64
	}
	maxClients := c.MaxClients
	if maxClients <= 0 {
		maxClients = DefaultRateLimitMaxClients
	}
	idle := c.Idle
	if idle <= 0 {
		idle = max(time.Minute, time.Duration(float64(burst)/c.Rate*float64(time.Second)))
	}
	l := &rateLimiter{limit: rate.Limit(c.Rate), burst: burst, prefix: prefix, idle: int64(idle),
		max: max(1, (maxClients+rateShards-1)/rateShards)}
	for i := range l.shards {
		l.shards[i].clients = make(map[netip.Addr]*rateClient)
	}
	return l, nil
}

// key returns the client of r as counted: its address, an IPv6 one
// masked to the configured prefix.
func (l *rateLimiter) key(r *Request) netip.Addr {
	a, _ := r.Server.trust.Load().client(r.Request)
	if a.Is6() && l.prefix < 128 {
		if p, err := a.Prefix(l.prefix); err == nil {
			a = p.Addr()
		}
	}
	return a
}

func (l *rateLimiter) serve(r *Request) {
	key := l.key(r)
	now := time.Now()
	delay := l.reserve(key, now)
	if delay > 0 {
		secs := int64(math.Ceil(delay.Seconds()))
		h := r.Response.Header()
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		r.Response.WriteStatus(http.StatusTooManyRequests)
		return
	}
	r.Middleware.Next()
}

// reserve takes a token of key's bucket at now, and returns 0, or how
// long until one is there, taking none.
func (l *rateLimiter) reserve(key netip.Addr, now time.Time) time.Duration {
	sh := &l.shards[shardOf(key)]
	mono := monoNow()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if mono-sh.swept >= l.idle {
		sh.sweep(mono, l.idle)
	}
	c := sh.clients[key]
	if c == nil {
		if len(sh.clients) >= l.max {
			sh.evict()
		}
		c = &rateClient{lim: rate.NewLimiter(l.limit, l.burst)}
		sh.clients[key] = c
	}
	c.seen = mono
	res := c.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops the clients idle for idle.
func (sh *rateShard) sweep(mono, idle int64) {
	sh.swept = mono
	for k, c := range sh.clients {
		if mono-c.seen >= idle {
			delete(sh.clients, k)
		}
	}
}

// evict makes room in a full shard: it drops the client idle longest of
// a few (map order is random), without a sweep, so that a flood of new
// clients costs each of them a constant time.
func (sh *rateShard) evict() {
	var oldest netip.Addr
	seen := int64(math.MaxInt64)
	n := 0
	for k, c := range sh.clients {
		if c.seen < seen {
			oldest, seen = k, c.seen
		}
		if n++; n == 8 {
			break
		}
	}
	if n > 0 {
		delete(sh.clients, oldest)
	}
}

// shardOf spreads addresses over the shards.
func shardOf(a netip.Addr) int {
	b := a.As16()
	h := uint32(2166136261)
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	return int(h % rateShards)
}
