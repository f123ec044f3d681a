package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/redistest"
	"github.com/baton-go/baton/internal/sessiontest"
	"github.com/baton-go/baton/session/redisstore"
	"github.com/redis/go-redis/v9"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUpdateTwoClients runs Updates of one session through two stores
// with clients of their own, as two instances behind a load balancer:
// only the transaction keeps every change.
func TestUpdateTwoClients(t *testing.T) {
	rs := redistest.Start(t)
	a := redisstore.New(client(t, rs.Addr), "t:")
	b := redisstore.New(client(t, rs.Addr), "t:")
	sessiontest.ConcurrentUpdates(t, a, b, 60)
}

// TestExpiryInRedis checks that the session's TTL is Redis's expiry of the
// key, so Redis removes it without a sweep, and that Update renews it.
func TestExpiryInRedis(t *testing.T) {
	rs := redistest.Start(t)
	rdb := client(t, rs.Addr)
	st := redisstore.New(rdb, "")
	ctx := context.Background()
	if err := st.Save(ctx, "abc", map[string]any{"n": 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, redisstore.DefaultPrefix+"abc").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("PTTL after Save with 1h = %v, want in (0, 1h]", ttl)
	}
	err := st.Update(ctx, "abc", 2*time.Hour, func(cur map[string]any) map[string]any { cur["m"] = 2; return cur })
	if err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, redisstore.DefaultPrefix+"abc").Val(); ttl <= time.Hour {
		t.Errorf("PTTL after Update with 2h = %v, want above 1h", ttl)
	}
	// Update returning nil writes nothing: the key keeps its value.
	if err := st.Update(ctx, "abc", time.Millisecond, func(map[string]any) map[string]any { return nil }); err != nil {
		t.Fatal(err)
	}
	if data, _ := st.Load(ctx, "abc"); fmt.Sprint(data) != "map[m:2 n:1]" {
		t.Errorf("after an Update that writes nothing: %v, want map[m:2 n:1]", data)
	}
}

// TestUpdateAfterDelete checks that an Update that finds the session gone
// (destroyed meanwhile) sees nil, and that corrupt data counts as missing.
func TestUpdateAfterDelete(t *testing.T) {
	rs := redistest.Start(t)
	rdb := client(t, rs.Addr)
	st := redisstore.New(rdb, "p:")
	ctx := context.Background()
	st.Save(ctx, "x", map[string]any{"a": 1}, time.Hour)
	st.Delete(ctx, "x")
	var saw map[string]any
	st.Update(ctx, "x", time.Hour, func(cur map[string]any) map[string]any { saw = cur; return nil })
	if saw != nil {
		t.Errorf("Update after Delete saw %v, want nil", saw)
	}
	if n := rdb.Exists(ctx, "p:x").Val(); n != 0 {
		t.Errorf("key exists after Delete and an Update writing nothing")
	}
	rdb.Set(ctx, "p:bad", "{not json", time.Hour)
	if _, err := st.Load(ctx, "bad"); !errors.Is(err, baton.ErrSessionCorrupt) {
		t.Errorf("Load of corrupt data: %v, want ErrSessionCorrupt", err)
	}
	saw = map[string]any{}
	st.Update(ctx, "bad", time.Hour, func(cur map[string]any) map[string]any { saw = cur; return nil })
	if saw != nil {
		t.Errorf("Update of corrupt data saw %v, want nil", saw)
	}
}

func TestOpen(t *testing.T) {
	for _, tt := range []struct {
		name    string
		c       baton.SessionFileConfig
		wantErr string
	}{
		{"hostport", baton.SessionFileConfig{Addr: "127.0.0.1:1"}, ""},
		{"url", baton.SessionFileConfig{Addr: "redis://127.0.0.1:1/0"}, ""},
		{"options", baton.SessionFileConfig{Addr: "h:1", Options: map[string]any{"password": "x", "db": 2}}, ""},
		{"no addr", baton.SessionFileConfig{}, "addr is empty"},
		{"bad url", baton.SessionFileConfig{Addr: "redis://h:1/x"}, "addr"},
		{"bad db", baton.SessionFileConfig{Addr: "h:1", Options: map[string]any{"db": "two"}}, "db must be"},
		{"unknown", baton.SessionFileConfig{Addr: "h:1", Options: map[string]any{"pasword": "x"}}, `unknown key "pasword"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := redisstore.Open(tt.c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open(%+v) = %v", tt.c, err)
				}
				st.(*redisstore.Store).Close()
				return
			}
			if err == nil || !contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%+v) error = %v, want one containing %q", tt.c, err, tt.wantErr)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
