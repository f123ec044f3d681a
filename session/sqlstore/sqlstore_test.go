package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/sessiontest"
	"github.com/baton-go/baton/session/sqlstore"
	_ "modernc.org/sqlite"
)

// openDB opens a SQLite file of the test, as one process would.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLoadSaveDelete(t *testing.T) {
	st := sqlstore.New(openDB(t, filepath.Join(t.TempDir(), "s.db")), sqlstore.SQLite)
	ctx := context.Background()
	if data, err := st.Load(ctx, "none"); data != nil || err != nil {
		t.Fatalf("Load of a missing id = %v, %v; want nil, nil", data, err)
	}
	if err := st.Save(ctx, "abc", map[string]any{"n": 1, "s": "x"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if data, err := st.Load(ctx, "abc"); err != nil || fmt.Sprint(data) != "map[n:1 s:x]" {
		t.Fatalf("Load = %v, %v; want map[n:1 s:x]", data, err)
	}
	if err := st.Save(ctx, "abc", map[string]any{"n": 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if data, _ := st.Load(ctx, "abc"); fmt.Sprint(data) != "map[n:2]" {
		t.Fatalf("Load after a second Save = %v, want map[n:2]", data)
	}
	if err := st.Delete(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if data, err := st.Load(ctx, "abc"); data != nil || err != nil {
		t.Fatalf("Load after Delete = %v, %v; want nil, nil", data, err)
	}
	// An Update that finds the session deleted sees nil and, returning
	// nil, writes nothing.
	var saw map[string]any = map[string]any{}
	st.Update(ctx, "abc", time.Hour, func(cur map[string]any) map[string]any { saw = cur; return nil })
	if saw != nil {
		t.Errorf("Update after Delete saw %v, want nil", saw)
	}
}

func TestExpiry(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	st := sqlstore.New(db, sqlstore.SQLite)
	ctx := context.Background()
	if err := st.Save(ctx, "abc", map[string]any{"n": 1}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := st.Load(ctx, "abc")
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session did not expire")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// An expired row is not revived by an Update that writes nothing, is
	// replaced by one that writes, and is removed by Sweep.
	st.Save(ctx, "old", map[string]any{"n": 1}, time.Millisecond)
	for data, _ := st.Load(ctx, "old"); data != nil; data, _ = st.Load(ctx, "old") {
		time.Sleep(5 * time.Millisecond)
	}
	if err := st.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow("SELECT COUNT(*) FROM " + sqlstore.DefaultTable + " WHERE id = 'old'").Scan(&n)
	if n != 0 {
		t.Errorf("expired row after Sweep: %d, want 0", n)
	}
	st.Update(ctx, "abc", time.Hour, func(cur map[string]any) map[string]any { return map[string]any{"fresh": true} })
	if data, _ := st.Load(ctx, "abc"); fmt.Sprint(data) != "map[fresh:true]" {
		t.Errorf("Update over an expired row: %v, want map[fresh:true]", data)
	}
}

// TestUpdateTwoProcesses runs Updates of one session through two stores,
// each with its own connection pool to one database file, as two
// instances: only the version check keeps every change.
func TestUpdateTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a := sqlstore.New(openDB(t, path), sqlstore.SQLite)
	b := sqlstore.New(openDB(t, path), sqlstore.SQLite)
	ctx := context.Background()
	a.Load(ctx, "init") // creates the table before the race
	sessiontest.ConcurrentUpdates(t, a, b, 40)
}

func TestCorrupt(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	st := sqlstore.New(db, sqlstore.SQLite)
	ctx := context.Background()
	st.Save(ctx, "bad", map[string]any{}, time.Hour)
	db.Exec("UPDATE "+sqlstore.DefaultTable+" SET data = '{not json' WHERE id = ?", "bad")
	if _, err := st.Load(ctx, "bad"); !errors.Is(err, baton.ErrSessionCorrupt) {
		t.Errorf("Load of corrupt data: %v, want ErrSessionCorrupt", err)
	}
	if err := st.Update(ctx, "bad", time.Hour, func(cur map[string]any) map[string]any {
		if cur != nil {
			t.Errorf("Update of corrupt data saw %v, want nil", cur)
		}
		return map[string]any{"ok": true}
	}); err != nil {
		t.Fatal(err)
	}
	if data, _ := st.Load(ctx, "bad"); fmt.Sprint(data) != "map[ok:true]" {
		t.Errorf("after rewriting corrupt data: %v", data)
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	for _, tt := range []struct {
		name    string
		c       baton.SessionFileConfig
		wantErr string
	}{
		{"sqlite", baton.SessionFileConfig{Addr: path, Options: map[string]any{"driver": "sqlite"}}, ""},
		{"no driver", baton.SessionFileConfig{Addr: path}, "driver and addr"},
		{"unlinked driver", baton.SessionFileConfig{Addr: path, Options: map[string]any{"driver": "nosuch"}}, "is the driver imported"},
		{"bad dialect", baton.SessionFileConfig{Addr: path, Options: map[string]any{"driver": "sqlite", "dialect": "oracle"}}, "dialect"},
		{"bad table", baton.SessionFileConfig{Addr: path, Options: map[string]any{"driver": "sqlite", "table": "x; DROP"}}, "plain identifier"},
		{"unknown key", baton.SessionFileConfig{Addr: path, Options: map[string]any{"driver": "sqlite", "dsn": "x"}}, `unknown key "dsn"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sqlstore.Open(tt.c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer st.(*sqlstore.Store).Close()
				ctx := context.Background()
				if err := st.Save(ctx, "x", map[string]any{"a": 1}, time.Hour); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%+v) = %v, want an error containing %q", tt.c, err, tt.wantErr)
			}
		})
	}
}
