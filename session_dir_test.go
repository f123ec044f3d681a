//go:build unix

package baton_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

// plantedID is the session id another user's planted file answers to.
const plantedID = "PLANTEDplantedPLANTED0"

// otherUID is a user other than the one running the tests.
const otherUID = 65534

// defaultStoreServer returns a server keeping its sessions in the default
// store, with every place the default store may live inside a directory
// of the test, and the directory the store is to use. The routes are
// /user (the "user" of the session) and /login (sets it to "ann").
func defaultStoreServer(t *testing.T) (*baton.Server, string) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("STATE_DIRECTORY", tmp)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	s := newServer(t)
	s.BindHandler("/user", func(r *baton.Request) { r.Response.Write(r.Session.GetString("user")) })
	s.BindHandler("/login", func(r *baton.Request) {
		if err := r.Session.Set("user", "ann"); err != nil {
			r.Response.WriteError(err)
		}
	})
	return s, filepath.Join(tmp, "baton-sessions-"+s.Name())
}

// plant writes, in dir, a session file that makes plantedID an admin.
func plant(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, plantedID+".json")
	body := fmt.Sprintf(`{"expires":%d,"data":{"user":"admin"}}`, time.Now().Add(time.Hour).UnixMilli())
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// chownOther gives path to otherUID, or skips the test when this user may
// not.
func chownOther(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, otherUID, otherUID); err != nil {
		t.Skipf("cannot make %s another user's (uid %d) without root: %v", path, otherUID, err)
	}
}

// sessionUser returns the user that session id gets from s, served as a
// mounted handler (no Start).
func sessionUser(t *testing.T, s *baton.Server, id string) string {
	t.Helper()
	rec := serve(t, s, "GET", "/user", nil, "Cookie", baton.DefaultSessionCookie+"="+id)
	return rec.Body.String()
}

// wantStartRefused starts s and checks that it fails naming dir and why.
func wantStartRefused(t *testing.T, s *baton.Server, dir, why string) {
	t.Helper()
	s.SetAddr("127.0.0.1:0")
	err := s.Start()
	if err == nil {
		s.Shutdown()
		t.Errorf("Start with the session directory %s = nil, want an error (%s)", dir, why)
		return
	}
	t.Logf("Start: %v", err)
	if !errors.Is(err, baton.ErrUnsafeSessionDir) {
		t.Errorf("Start = %q, want an error wrapping ErrUnsafeSessionDir", err)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), why) {
		t.Errorf("Start = %q, want it to name %s and %q", err, dir, why)
	}
}

// wantNoLogin checks that the planted id is no admin, and that a real
// login writes nothing into dir.
func wantNoLogin(t *testing.T, s *baton.Server, dir string) {
	t.Helper()
	if got := sessionUser(t, s, plantedID); got == "admin" {
		t.Errorf("the planted session id logs in as %q", got)
	}
	before, _ := os.ReadDir(dir)
	serve(t, s, "GET", "/login", nil)
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("a login wrote into the refused directory %s: %d entries, then %d", dir, len(before), len(after))
	}
}

func TestSessionDirOfAnotherUser(t *testing.T) {
	s, dir := defaultStoreServer(t)
	file := plant(t, dir)
	chownOther(t, file)
	chownOther(t, dir)
	wantStartRefused(t, s, dir, fmt.Sprintf("owned by uid %d", otherUID))
	wantNoLogin(t, s, dir)
}

func TestSessionDirOpenToOthers(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o755, 0o750, 0o701} {
		t.Run(fmt.Sprintf("%#o", mode), func(t *testing.T) {
			s, dir := defaultStoreServer(t)
			plant(t, dir)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			wantStartRefused(t, s, dir, fmt.Sprintf("mode %#o", mode))
			wantNoLogin(t, s, dir)
		})
	}
}

func TestSessionDirSymlink(t *testing.T) {
	s, dir := defaultStoreServer(t)
	real := filepath.Join(t.TempDir(), "real")
	plant(t, real)
	if err := os.Symlink(real, dir); err != nil {
		t.Fatal(err)
	}
	wantStartRefused(t, s, dir, "symbolic link")
	wantNoLogin(t, s, real)
}

func TestSessionFilePlanted(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, dir string)
	}{
		{"symlink", func(t *testing.T, dir string) {
			target := plant(t, filepath.Join(t.TempDir(), "elsewhere"))
			if err := os.Symlink(target, filepath.Join(dir, plantedID+".json")); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's", func(t *testing.T, dir string) {
			chownOther(t, plant(t, dir))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := defaultStoreServer(t)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, dir)
			startServer(t, s)
			if got := sessionUser(t, s, plantedID); got == "admin" {
				t.Errorf("the planted session file logs in as %q", got)
			}
			rec := serve(t, s, "GET", "/login", nil)
			if rec.Code != http.StatusOK {
				t.Errorf("a login beside the planted file = %d, want 200", rec.Code)
			}
		})
	}
}

// TestSessionDirDefault checks where the default store lives and that it
// makes its directory for this user alone.
func TestSessionDirDefault(t *testing.T) {
	tests := []struct {
		name string
		env  func(tmp string) []string // pairs of name, value
		dir  func(tmp, server string) string
	}{
		{"STATE_DIRECTORY", func(tmp string) []string {
			return []string{"STATE_DIRECTORY", filepath.Join(tmp, "a") + ":" + filepath.Join(tmp, "b")}
		}, func(tmp, server string) string {
			return filepath.Join(tmp, "a", "baton-sessions-"+server)
		}},
		{"cache", func(tmp string) []string {
			return []string{"STATE_DIRECTORY", "", "XDG_CACHE_HOME", filepath.Join(tmp, "cache")}
		}, func(tmp, server string) string {
			cache, err := os.UserCacheDir()
			if err != nil {
				t.Fatal(err)
			}
			return filepath.Join(cache, "baton", "sessions-"+server)
		}},
		{"temporary", func(tmp string) []string {
			return []string{"STATE_DIRECTORY", "", "XDG_CACHE_HOME", "", "HOME", ""}
		}, func(tmp, server string) string {
			if _, err := os.UserCacheDir(); err == nil {
				t.Skip("this platform has a user cache directory without $HOME")
			}
			return filepath.Join(tmp, fmt.Sprintf("baton-sessions-%s-%d", server, os.Geteuid()))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			kv := tt.env(tmp)
			for i := 0; i+1 < len(kv); i += 2 {
				t.Setenv(kv[i], kv[i+1])
			}
			s := newServer(t)
			s.BindHandler("/login", func(r *baton.Request) { r.Session.Set("user", "ann") })
			dir := tt.dir(tmp, s.Name())
			c := newClient(t, startServer(t, s))
			c.get("/login")
			fi, err := os.Lstat(filepath.Join(dir, c.cookie()+".json"))
			if err != nil {
				t.Fatalf("session file: %v", err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("session file mode %v, want no permission for others", fi.Mode().Perm())
			}
			di, err := os.Lstat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !di.IsDir() || di.Mode().Perm() != 0o700 {
				t.Errorf("session directory %s: mode %v, want a directory of mode 0700", dir, di.Mode())
			}
		})
	}
}

// explicitDirServer returns a server keeping its sessions in dir, with
// the routes of defaultStoreServer.
func explicitDirServer(t *testing.T, dir string, skipCheck bool) *baton.Server {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	c.Session.Dir = dir
	c.Session.InsecureSkipDirCheck = skipCheck
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/user", func(r *baton.Request) { r.Response.Write(r.Session.GetString("user")) })
	s.BindHandler("/login", func(r *baton.Request) {
		if err := r.Session.Set("user", "ann"); err != nil {
			r.Response.WriteError(err)
		}
	})
	return s
}

func TestSessionDirExplicit(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		real := t.TempDir()
		plant(t, real)
		dir := filepath.Join(t.TempDir(), "sessions")
		if err := os.Symlink(real, dir); err != nil {
			t.Fatal(err)
		}
		s := explicitDirServer(t, dir, false)
		wantStartRefused(t, s, dir, "symbolic link")
		wantNoLogin(t, s, real)
	})
	t.Run("world-writable", func(t *testing.T) {
		dir := t.TempDir()
		plant(t, dir)
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		s := explicitDirServer(t, dir, false)
		wantStartRefused(t, s, dir, "mode 0777")
		wantNoLogin(t, s, dir)
	})
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "sessions")
		s := explicitDirServer(t, dir, false)
		c := newClient(t, startServer(t, s))
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			t.Errorf("Start made %s (%v): it is made at the first save", dir, err)
		}
		c.get("/login")
		if got := c.get("/user"); got != "ann" {
			t.Errorf("user after login = %q, want \"ann\"", got)
		}
		if fi, err := os.Lstat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("session directory after a save: %v, %v; want mode 0700", fi, err)
		}
	})
	t.Run("unchecked", func(t *testing.T) {
		real := t.TempDir()
		if err := os.Chmod(real, 0o755); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "sessions")
		if err := os.Symlink(real, dir); err != nil {
			t.Fatal(err)
		}
		s := explicitDirServer(t, dir, true)
		c := newClient(t, startServer(t, s))
		c.get("/login")
		if got := c.get("/user"); got != "ann" {
			t.Errorf("user after login = %q, want \"ann\"", got)
		}
		if _, err := os.Stat(filepath.Join(real, c.cookie()+".json")); err != nil {
			t.Errorf("session file not in the linked directory: %v", err)
		}
	})
}

// TestFileStoreUnsafeDir uses a FileStore on its own: every use fails on
// a directory open to others, and works once it is fixed.
func TestFileStoreUnsafeDir(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	st := baton.NewFileStore(dir)
	ctx := context.Background()
	if data, err := st.Load(ctx, plantedID); !errors.Is(err, baton.ErrUnsafeSessionDir) {
		t.Errorf("Load = %v, %v; want an error wrapping ErrUnsafeSessionDir", data, err)
	}
	if err := st.Save(ctx, "x", map[string]any{"a": 1}, time.Hour); !errors.Is(err, baton.ErrUnsafeSessionDir) {
		t.Errorf("Save = %v, want an error wrapping ErrUnsafeSessionDir", err)
	}
	if err := st.Sweep(); !errors.Is(err, baton.ErrUnsafeSessionDir) {
		t.Errorf("Sweep = %v, want an error wrapping ErrUnsafeSessionDir", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := st.Load(ctx, plantedID)
	if err != nil || data["user"] != "admin" {
		t.Errorf("Load once the directory is 0700 = %v, %v; want the user's own file read", data, err)
	}
}
