package baton

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStore keeps sessions in the memory of the process. Every reload
// and restart starts a new process and so loses every session: use it for
// tests, or for a program that does not reload. Values are stored
// JSON-encoded, so a session reads back as it would from any store. The
// zero value is an empty store ready to use; it is safe for concurrent use.
type MemoryStore struct {
	mu        sync.Mutex
	m         map[string]memorySession
	nextSweep time.Time
}

type memorySession struct {
	data    []byte
	expires time.Time
}

var _ SessionUpdater = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return new(MemoryStore) }

// Len returns how many sessions the store holds, expired ones not yet
// swept included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Load implements SessionStore.
func (s *MemoryStore) Load(ctx context.Context, id string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(id)
}

func (s *MemoryStore) loadLocked(id string) (map[string]any, error) {
	e, ok := s.m[id]
	if !ok || !time.Now().Before(e.expires) {
		return nil, nil
	}
	data, err := decodeSession(e.data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSessionCorrupt, err)
	}
	return data, nil
}

// Save implements SessionStore.
func (s *MemoryStore) Save(ctx context.Context, id string, data map[string]any, ttl time.Duration) error {
	return s.Update(ctx, id, ttl, func(map[string]any) map[string]any { return data })
}

// Update implements SessionUpdater.
func (s *MemoryStore) Update(ctx context.Context, id string, ttl time.Duration, fn func(map[string]any) map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _ := s.loadLocked(id)
	next := fn(cur)
	if next == nil {
		return nil
	}
	b, err := encodeSession(next)
	if err != nil {
		return fmt.Errorf("baton: session %s: %w", id, err)
	}
	now := time.Now()
	if s.m == nil {
		s.m = make(map[string]memorySession)
	}
	s.m[id] = memorySession{data: b, expires: now.Add(ttl)}
	if now.After(s.nextSweep) {
		s.nextSweep = now.Add(time.Minute)
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
	}
	return nil
}

// Delete implements SessionStore.
func (s *MemoryStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
