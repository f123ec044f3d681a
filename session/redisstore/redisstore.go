// Package redisstore keeps baton's sessions in Redis, so that every
// instance of a program behind a load balancer sees the same sessions.
//
// Use it from code:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	s.SetSessionStore(redisstore.New(rdb, "app:sess:"))
//
// or, once the package is imported (import _ ".../session/redisstore"),
// from the configuration file:
//
//	session:
//	  store: redis
//	  addr: 127.0.0.1:6379   # or a URL: redis://user:pass@host:6379/0
//	  prefix: "app:sess:"    # DefaultPrefix if empty
//	  ttl: 12h
//	  password: ...          # optional, also db: 0
//
// A program that does not import this package does not link go-redis.
package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/baton-go/baton"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix begins the keys of a Store whose prefix is empty.
const DefaultPrefix = "baton:sess:"

// DefaultMaxRetries is how many times Update tries again when another
// client changed the session between its read and its write.
const DefaultMaxRetries = 50

// ErrConflict is returned by Update when the session kept changing under
// it for MaxRetries attempts.
var ErrConflict = errors.New("redisstore: session changed concurrently too often")

// Store is a baton.SessionStore and baton.SessionUpdater in Redis. Each
// session is one string key, the prefix and the session id, holding the
// session as JSON, with a Redis expiry of the session's TTL (PX), so Redis
// removes expired sessions by itself. Load is GET, Save is SET with PX,
// Delete is DEL.
//
// Update, through which baton saves the changes of every request, is an
// optimistic transaction: WATCH the key, GET it, merge the request's
// changes into what it holds, then MULTI, SET, EXEC. If any other client
// wrote or deleted the key after the WATCH (another request of the same
// session, on this instance or another), Redis refuses the EXEC and
// Update starts again from a fresh GET, so each request's changes are
// merged into the latest data and none is lost; a Delete (Destroy,
// RegenerateID) that lands in between is seen by the retry, which then
// does not revive the session. A Lua script could do the same in one
// round trip, but would have to merge JSON inside Redis; WATCH keeps the
// merge in Go, where baton does it for every store. Under heavy
// contention of one session, Update tries at most MaxRetries times, with a
// short random pause between tries, and then returns ErrConflict.
//
// The zero value is not usable: create a Store with New. A Store is safe
// for concurrent use, as its client is.
type Store struct {
	c      redis.UniversalClient
	prefix string
	own    bool // Close closes c

	// MaxRetries bounds the tries of Update. If zero, DefaultMaxRetries.
	MaxRetries int
}

var _ baton.SessionUpdater = (*Store)(nil)

// New returns a Store on c whose keys begin with prefix (DefaultPrefix if
// empty). Close does not close c.
func New(c redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{c: c, prefix: prefix}
}

func init() {
	baton.RegisterSessionStore("redis", Open)
}

// Open makes a Store from the session section of the configuration file:
// addr is host:port or a redis:// or rediss:// URL; the options password
// (a string) and db (a number) apply to host:port. It connects at the
// first use. Close closes the client it made.
func Open(c baton.SessionFileConfig) (baton.SessionStore, error) {
	var o *redis.Options
	switch {
	case c.Addr == "":
		return nil, errors.New("redisstore: addr is empty: give host:port or a redis:// URL")
	case strings.Contains(c.Addr, "://"):
		var err error
		if o, err = redis.ParseURL(c.Addr); err != nil {
			return nil, fmt.Errorf("redisstore: addr: %w", err)
		}
	default:
		o = &redis.Options{Addr: c.Addr}
	}
	for k, v := range c.Options {
		switch k {
		case "password":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("redisstore: password must be a string")
			}
			o.Password = s
		case "db":
			n, ok := v.(int)
			if !ok || n < 0 {
				return nil, fmt.Errorf("redisstore: db must be a number from 0")
			}
			o.DB = n
		default:
			return nil, fmt.Errorf("redisstore: unknown key %q (known: store, addr, prefix, ttl, cookieName, password, db)", k)
		}
	}
	st := New(redis.NewClient(o), c.Prefix)
	st.own = true
	return st, nil
}

// Client returns the Redis client of the store.
func (s *Store) Client() redis.UniversalClient { return s.c }

// Key returns the Redis key of session id.
func (s *Store) Key(id string) string { return s.prefix + id }

// Close closes the client if Open made it.
func (s *Store) Close() error {
	if s.own {
		return s.c.Close()
	}
	return nil
}

// Load implements baton.SessionStore.
func (s *Store) Load(ctx context.Context, id string) (map[string]any, error) {
	b, err := s.c.Get(ctx, s.Key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load: %w", err)
	}
	return decode(id, b)
}

// Save implements baton.SessionStore.
func (s *Store) Save(ctx context.Context, id string, data map[string]any, ttl time.Duration) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	if err := s.c.Set(ctx, s.Key(id), b, expiry(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: save: %w", err)
	}
	return nil
}

// Delete implements baton.SessionStore.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.c.Del(ctx, s.Key(id)).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// Update implements baton.SessionUpdater; see Store. fn may run more than
// once, each time with fresh data; corrupt data is passed to it as nil.
func (s *Store) Update(ctx context.Context, id string, ttl time.Duration, fn func(map[string]any) map[string]any) error {
	key := s.Key(id)
	tries := s.MaxRetries
	if tries <= 0 {
		tries = DefaultMaxRetries
	}
	txf := func(tx *redis.Tx) error {
		var cur map[string]any
		b, err := tx.Get(ctx, key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			cur, _ = decode(id, b) // corrupt counts as missing
		}
		next := fn(cur)
		if next == nil {
			return nil
		}
		nb, err := json.Marshal(next)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, nb, expiry(ttl))
			return nil
		})
		return err
	}
	for i := 0; i < tries; i++ {
		err := s.c.Watch(ctx, txf, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("redisstore: update: %w", err)
			}
			return nil
		}
		// Another request wrote the session meanwhile: a random pause
		// keeps the contenders from meeting again at once.
		t := time.NewTimer(time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 5))))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("redisstore: update: %w", ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%w: %s, %d tries", ErrConflict, key, tries)
}

// expiry is ttl for PX: at least a millisecond, since zero means none.
func expiry(ttl time.Duration) time.Duration {
	return max(ttl, time.Millisecond)
}

// decode reads the JSON of a session as baton's own stores do, numbers
// as json.Number.
func decode(id string, b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: redis session %s: %w", baton.ErrSessionCorrupt, id, err)
	}
	if m == nil {
		m = make(map[string]any)
	}
	return m, nil
}
