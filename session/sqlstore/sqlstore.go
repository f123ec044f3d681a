// Package sqlstore keeps baton's sessions in an SQL database through
// database/sql, for instances that share a database but no Redis. It
// imports no driver: the program links the one it uses.
//
//	db, _ := sql.Open("sqlite", "/var/lib/app/sessions.db?_pragma=busy_timeout(5000)")
//	s.SetSessionStore(sqlstore.New(db, sqlstore.SQLite))
//
// or, once this package and a driver are imported, from the configuration
// file:
//
//	session:
//	  store: sql
//	  driver: pgx            # a database/sql driver name the program links
//	  dialect: postgres      # sqlite (default), postgres or mysql
//	  addr: postgres://...   # the driver's data source name
//	  table: baton_sessions  # DefaultTable if empty
//	  ttl: 12h
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton"
)

// DefaultTable is the table of a Store whose Table is empty.
const DefaultTable = "baton_sessions"

// DefaultMaxRetries is how many times Update tries again when another
// process changed the session between its read and its write.
const DefaultMaxRetries = 50

// sweepInterval is how often saves look for expired rows to delete.
const sweepInterval = 10 * time.Minute

// ErrConflict is returned by Update when the session kept changing under
// it for MaxRetries attempts.
var ErrConflict = errors.New("sqlstore: session changed concurrently too often")

// Dialect is the flavour of SQL of a database.
type Dialect int

// The dialects a Store speaks.
const (
	SQLite   Dialect = iota // ? placeholders, INSERT ... ON CONFLICT DO NOTHING
	Postgres                // $1 placeholders, INSERT ... ON CONFLICT DO NOTHING
	MySQL                   // ? placeholders, INSERT IGNORE
)

// Store is a baton.SessionStore and baton.SessionUpdater in one table of
// an SQL database: a row per session with its JSON, its expiry (Unix
// milliseconds) and a version. Load ignores expired rows; saves delete
// them, at most every ten minutes, and Sweep does on demand.
//
// Update, through which baton saves the changes of every request, is an
// optimistic transaction that needs no lock and no isolation level: it
// reads the row and its version, merges, and writes with UPDATE ... WHERE
// version = the one read (or INSERT, which fails on an existing id). If
// another process wrote or deleted the row meanwhile, no row is affected
// and Update starts again from a fresh read, so concurrent requests of one
// session keep each other's changes and a destroyed session is not
// revived. It tries at most MaxRetries times.
//
// Create a Store with New; it creates its table at its first use. A
// Store is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	own     bool // Close closes db

	// MaxRetries bounds the tries of Update. If zero, DefaultMaxRetries.
	MaxRetries int

	initMu    sync.Mutex
	inited    bool
	nextSweep atomic.Int64
	q         queries
}

type queries struct {
	load, update, insert, delete, sweep string
}

var _ baton.SessionUpdater = (*Store)(nil)

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New returns a Store in table DefaultTable of db. Close does not close
// db.
func New(db *sql.DB, d Dialect) *Store {
	st, _ := NewTable(db, d, DefaultTable)
	return st
}

// NewTable returns a Store in the named table, which must be a plain SQL
// identifier.
func NewTable(db *sql.DB, d Dialect, table string) (*Store, error) {
	if table == "" {
		table = DefaultTable
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("sqlstore: table %q is not a plain identifier", table)
	}
	st := &Store{db: db, dialect: d, table: table}
	p := func(i int) string {
		if d == Postgres {
			return fmt.Sprintf("$%d", i)
		}
		return "?"
	}
	insert := "INSERT INTO %s (id, data, expires, version) VALUES (%s, %s, %s, 1) ON CONFLICT (id) DO NOTHING"
	if d == MySQL {
		insert = "INSERT IGNORE INTO %s (id, data, expires, version) VALUES (%s, %s, %s, 1)"
	}
	st.q = queries{
		load:   fmt.Sprintf("SELECT data, expires, version FROM %s WHERE id = %s", table, p(1)),
		update: fmt.Sprintf("UPDATE %s SET data = %s, expires = %s, version = version + 1 WHERE id = %s AND version = %s", table, p(1), p(2), p(3), p(4)),
		insert: fmt.Sprintf(insert, table, p(1), p(2), p(3)),
		delete: fmt.Sprintf("DELETE FROM %s WHERE id = %s", table, p(1)),
		sweep:  fmt.Sprintf("DELETE FROM %s WHERE expires <= %s", table, p(1)),
	}
	return st, nil
}

func init() {
	baton.RegisterSessionStore("sql", Open)
}

// Open makes a Store from the session section of the configuration file:
// the options driver (required), dialect (sqlite, postgres or mysql) and
// table, and addr, the driver's data source name. Close closes the
// database it opened.
func Open(c baton.SessionFileConfig) (baton.SessionStore, error) {
	driver, dialect, table := "", SQLite, ""
	for k, v := range c.Options {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("sqlstore: %s must be a string", k)
		}
		switch k {
		case "driver":
			driver = s
		case "table":
			table = s
		case "dialect":
			switch s {
			case "sqlite":
				dialect = SQLite
			case "postgres":
				dialect = Postgres
			case "mysql":
				dialect = MySQL
			default:
				return nil, fmt.Errorf("sqlstore: dialect %q is not sqlite, postgres or mysql", s)
			}
		default:
			return nil, fmt.Errorf("sqlstore: unknown key %q (known: store, addr, ttl, cookieName, driver, dialect, table)", k)
		}
	}
	if driver == "" || c.Addr == "" {
		return nil, errors.New("sqlstore: driver and addr (the data source name) are required")
	}
	if table == "" {
		table = c.Prefix + DefaultTable
	}
	db, err := sql.Open(driver, c.Addr) // connects at the first use
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w (is the driver imported?)", err)
	}
	st, err := NewTable(db, dialect, table)
	if err != nil {
		db.Close()
		return nil, err
	}
	st.own = true
	return st, nil
}

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if s.own {
		return s.db.Close()
	}
	return nil
}

// init creates the table at the first use; a failure is tried again at
// the next.
func (s *Store) init(ctx context.Context) error {
	s.initMu.Lock()
	defer s.initMu.Unlock()
	if s.inited {
		return nil
	}
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id VARCHAR(128) PRIMARY KEY, data TEXT NOT NULL, expires BIGINT NOT NULL, version BIGINT NOT NULL)", s.table)
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("sqlstore: create table %s: %w", s.table, err)
	}
	s.inited = true
	return nil
}

// row reads id: its data (nil if missing or expired) and version (0 if
// missing).
func (s *Store) row(ctx context.Context, id string) (map[string]any, int64, error) {
	if err := s.init(ctx); err != nil {
		return nil, 0, err
	}
	var data string
	var expires, version int64
	err := s.db.QueryRowContext(ctx, s.q.load, id).Scan(&data, &expires, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: load: %w", err)
	}
	if time.Now().UnixMilli() >= expires {
		return nil, version, nil
	}
	m, err := decode(id, data)
	return m, version, err
}

// Load implements baton.SessionStore.
func (s *Store) Load(ctx context.Context, id string) (map[string]any, error) {
	m, _, err := s.row(ctx, id)
	return m, err
}

// Save implements baton.SessionStore.
func (s *Store) Save(ctx context.Context, id string, data map[string]any, ttl time.Duration) error {
	return s.Update(ctx, id, ttl, func(map[string]any) map[string]any { return data })
}

// Delete implements baton.SessionStore.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.init(ctx); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.delete, id); err != nil {
		return fmt.Errorf("sqlstore: delete: %w", err)
	}
	return nil
}

// Update implements baton.SessionUpdater; see Store. fn may run more than
// once, each time with fresh data; corrupt data is passed to it as nil.
func (s *Store) Update(ctx context.Context, id string, ttl time.Duration, fn func(map[string]any) map[string]any) error {
	tries := s.MaxRetries
	if tries <= 0 {
		tries = DefaultMaxRetries
	}
	for i := 0; i < tries; i++ {
		cur, version, err := s.row(ctx, id)
		if errors.Is(err, baton.ErrSessionCorrupt) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		next := fn(cur)
		if next == nil {
			return nil
		}
		b, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("sqlstore: save: %w", err)
		}
		expires := time.Now().Add(max(ttl, time.Millisecond)).UnixMilli()
		var res sql.Result
		if version == 0 {
			res, err = s.db.ExecContext(ctx, s.q.insert, id, string(b), expires)
		} else {
			res, err = s.db.ExecContext(ctx, s.q.update, string(b), expires, id, version)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: save: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: save: %w", err)
		} else if n == 1 {
			s.maybeSweep(ctx)
			return nil
		}
		// Another process wrote or deleted the row after the read.
		t := time.NewTimer(time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 5))))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sqlstore: update: %w", ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%w: %s, %d tries", ErrConflict, id, tries)
}

// Sweep deletes the expired rows.
func (s *Store) Sweep(ctx context.Context) error {
	if err := s.init(ctx); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.sweep, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("sqlstore: sweep: %w", err)
	}
	return nil
}

func (s *Store) maybeSweep(ctx context.Context) {
	now := time.Now().UnixNano()
	next := s.nextSweep.Load()
	if now < next || !s.nextSweep.CompareAndSwap(next, now+int64(sweepInterval)) {
		return
	}
	if next == 0 {
		return // the first save only starts the clock
	}
	s.Sweep(context.WithoutCancel(ctx))
}

// decode reads the JSON of a session as baton's own stores do, numbers
// as json.Number.
func decode(id, data string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: sql session %s: %w", baton.ErrSessionCorrupt, id, err)
	}
	if m == nil {
		m = make(map[string]any)
	}
	return m, nil
}
