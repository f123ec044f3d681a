// Package sessiontest holds what the tests of every session store share.
package sessiontest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Store is the part of a session store the shared tests use; baton's
// SessionStore has it.
type Store interface {
	Load(ctx context.Context, id string) (map[string]any, error)
	Update(ctx context.Context, id string, ttl time.Duration, fn func(map[string]any) map[string]any) error
}

// ConcurrentUpdates runs n Updates of one session at once, alternating
// between a and b (two stores on the same data, as two processes would
// have), each adding a key of its own, and fails t unless every key is
// kept: a store that loads and saves without guarding the pair loses some.
func ConcurrentUpdates(t testing.TB, a, b Store, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			err := st.Update(ctx, "sid", time.Hour, func(cur map[string]any) map[string]any {
				if cur == nil {
					cur = map[string]any{}
				}
				cur[fmt.Sprint("k", i)] = i
				return cur
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	data, err := a.Load(ctx, "sid")
	if err != nil || len(data) != n {
		t.Errorf("after %d concurrent updates through two stores: %d keys, %v; want %d", n, len(data), err, n)
	}
}
