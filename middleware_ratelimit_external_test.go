package baton_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/baton-go/baton"
)

func TestRateLimit(t *testing.T) {
	type hit struct {
		remote string
		xff    string // X-Forwarded-For
		code   int
	}
	const proxy = "10.0.0.1:4000" // trusted
	tests := []struct {
		name string
		conf baton.RateLimitConfig
		hits []hit
	}{
		{"burst then 429", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 2}, []hit{
			{"192.0.2.1:1", "", 200}, {"192.0.2.1:2", "", 200}, {"192.0.2.1:3", "", 429},
		}},
		{"clients apart", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 1}, []hit{
			{"192.0.2.1:1", "", 200}, {"192.0.2.2:1", "", 200}, {"192.0.2.1:1", "", 429}, {"192.0.2.2:1", "", 429},
		}},
		{"an untrusted peer's X-Forwarded-For is ignored", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 1}, []hit{
			{"192.0.2.1:1", "198.51.100.1", 200}, {"192.0.2.1:1", "198.51.100.2", 429},
		}},
		{"a trusted proxy's clients apart", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 1}, []hit{
			{proxy, "198.51.100.1", 200}, {proxy, "198.51.100.2", 200}, {proxy, "198.51.100.1", 429},
			{proxy, "203.0.113.9, 198.51.100.2", 429}, // the rightmost untrusted hop counts
		}},
		{"one IPv6 /64 is one client", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 1}, []hit{
			{"[2001:db8:1:2::1]:1", "", 200}, {"[2001:db8:1:2::ffff]:1", "", 429}, {"[2001:db8:1:3::1]:1", "", 200},
		}},
		{"IPv6 per address", baton.RateLimitConfig{Rate: 1.0 / 3600, Burst: 1, IPv6Prefix: 128}, []hit{
			{"[2001:db8::1]:1", "", 200}, {"[2001:db8::2]:1", "", 200}, {"[2001:db8::1]:1", "", 429},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			c := s.Config()
			c.TrustedProxies = []string{"10.0.0.0/8"}
			if err := s.SetConfig(c); err != nil {
				t.Fatal(err)
			}
			s.Use(baton.RateLimit(tt.conf))
			s.BindHandler("/", echo("ok"))
			for i, h := range tt.hits {
				req := httptest.NewRequest("GET", "/", nil)
				req.RemoteAddr = h.remote
				if h.xff != "" {
					req.Header.Set("X-Forwarded-For", h.xff)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != h.code {
					t.Fatalf("request %d from %s (X-Forwarded-For %q): %d, want %d", i, h.remote, h.xff, rec.Code, h.code)
				}
				if h.code == http.StatusTooManyRequests {
					if ra := rec.Header().Get("Retry-After"); ra != "3600" {
						t.Errorf("request %d: Retry-After %q, want 3600", i, ra)
					}
				} else if rec.Body.String() != "ok" {
					t.Errorf("request %d: body %q", i, rec.Body)
				}
			}
		})
	}
}

func TestRateLimitRefusesNoRate(t *testing.T) {
	for _, r := range []float64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RateLimit(Rate %v) did not panic", r)
				}
			}()
			baton.RateLimit(baton.RateLimitConfig{Rate: r})
		}()
	}
}
