package baton_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/redistest"
	"github.com/baton-go/baton/session/redisstore"
	"github.com/redis/go-redis/v9"
)

// sessionStores are the built-in stores, each made fresh for a test.
var sessionStores = []struct {
	name string
	make func(t *testing.T) baton.SessionStore
}{
	{"file", func(t *testing.T) baton.SessionStore { return baton.NewFileStore(privateDir(t)) }},
	{"memory", func(t *testing.T) baton.SessionStore { return baton.NewMemoryStore() }},
	{"redis", func(t *testing.T) baton.SessionStore {
		rs := redistest.Start(t)
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { rdb.Close() })
		return redisstore.New(rdb, "")
	}},
}

// privateDir returns a directory of the test that only this user may
// use, as a FileStore requires: t.TempDir makes them 0755.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sessionServer starts a server with sessions in st and these routes:
//
//	/set?k=&v=     Set
//	/get?k=        Get, as JSON
//	/remove?k=     Remove
//	/all?k=a,b     Get of each key, as JSON
//	/regen         RegenerateID
//	/destroy       Destroy
//	/id            ID
//	/panic?k=&v=   Set, then panic
func sessionServer(t *testing.T, st baton.SessionStore) (*baton.Server, *syncBuffer) {
	t.Helper()
	s := newServer(t)
	logs := new(syncBuffer)
	c := s.Config()
	c.Logger = newTextLogger(logs)
	c.Session.Store = st
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/set", func(r *baton.Request) {
		if err := r.Session.Set(r.Query("k"), r.Query("v")); err != nil {
			r.Response.WriteError(err)
		}
	})
	s.BindHandler("/get", func(r *baton.Request) { r.Response.WriteJson(r.Session.Get(r.Query("k"))) })
	s.BindHandler("/remove", func(r *baton.Request) { r.Session.Remove(r.Query("k")) })
	s.BindHandler("/all", func(r *baton.Request) {
		m := map[string]any{}
		for _, k := range strings.Split(r.Query("k"), ",") {
			m[k] = r.Session.Get(k)
		}
		r.Response.WriteJson(m)
	})
	s.BindHandler("/regen", func(r *baton.Request) {
		if err := r.Session.RegenerateID(); err != nil {
			r.Response.WriteError(err)
		}
	})
	s.BindHandler("/destroy", func(r *baton.Request) {
		if err := r.Session.Destroy(); err != nil {
			r.Response.WriteError(err)
		}
	})
	s.BindHandler("/id", func(r *baton.Request) { r.Response.Write(r.Session.ID()) })
	s.BindHandler("/panic", func(r *baton.Request) {
		r.Session.Set(r.Query("k"), r.Query("v"))
		panic("boom")
	})
	return s, logs
}

// client talks to a test server with a cookie jar, like a browser.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// get returns the body of GET path, failing the test on a status other
// than 200.
func (c *client) get(path string) string {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// cookie returns the session cookie the client holds, or "".
func (c *client) cookie() string {
	u, _ := http.NewRequest("GET", c.base, nil)
	for _, ck := range c.hc.Jar.Cookies(u.URL) {
		if ck.Name == baton.DefaultSessionCookie {
			return ck.Value
		}
	}
	return ""
}

// setCookie replaces the client's session cookie with id.
func (c *client) setCookie(id string) {
	u, _ := http.NewRequest("GET", c.base, nil)
	c.hc.Jar.SetCookies(u.URL, []*http.Cookie{{Name: baton.DefaultSessionCookie, Value: id, Path: "/"}})
}

func TestSession(t *testing.T) {
	for _, store := range sessionStores {
		t.Run(store.name, func(t *testing.T) {
			s, _ := sessionServer(t, store.make(t))
			c := newClient(t, startServer(t, s))
			steps := []struct {
				path, want string
			}{
				{"/get?k=user", "null"},
				{"/id", ""},
				{"/set?k=user&v=ann", ""},
				{"/get?k=user", `"ann"`},
				{"/set?k=role&v=admin", ""},
				{"/all?k=user,role", `{"role":"admin","user":"ann"}`},
				{"/remove?k=role", ""},
				{"/all?k=user,role", `{"role":null,"user":"ann"}`},
				{"/set?k=baton.t&v=x", ""}, // reserved: 500, checked below
			}
			for _, st := range steps[:len(steps)-1] {
				if got := c.get(st.path); got != st.want {
					t.Errorf("GET %s = %q, want %q", st.path, got, st.want)
				}
			}
			id := c.cookie()
			if len(id) != 22 {
				t.Errorf("session id %q, want 22 base64url characters (128 bits)", id)
			}
			if got := c.get("/id"); got != id {
				t.Errorf("ID() = %q, want the cookie's %q", got, id)
			}
			resp, _ := c.hc.Get(c.base + "/set?k=baton.t&v=x")
			resp.Body.Close()
			if resp.StatusCode != 500 {
				t.Errorf("Set of a reserved key: %d, want 500", resp.StatusCode)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	s, _ := sessionServer(t, baton.NewMemoryStore())
	c := s.Config()
	c.Session.CookieName = "sid"
	c.Session.TTL = 2 * time.Hour
	s.SetConfig(c)
	tests := []struct {
		name, target string
		want         string // Set-Cookie, with the id replaced by ID
	}{
		{"not used: no cookie", "/id", ""},
		{"read only: no cookie", "/get?k=a", ""},
		{"set and removed: no session", "/remove?k=a", ""},
		{"created", "/set?k=a&v=1", "sid=ID; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax"},
		{"a panic saves nothing", "/panic?k=a&v=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, "GET", tt.target, nil)
			got := rec.Header().Get("Set-Cookie")
			if v, _, ok := strings.Cut(got, ";"); ok {
				got = strings.Replace(got, strings.TrimPrefix(v, "sid="), "ID", 1)
			}
			if got != tt.want {
				t.Errorf("GET %s: Set-Cookie %q, want %q", tt.target, got, tt.want)
			}
		})
	}
	if n := s.Config().Session.Store.(*baton.MemoryStore).Len(); n != 1 {
		t.Errorf("store holds %d sessions, want 1 (the one created)", n)
	}
}

func TestSessionRegenerateID(t *testing.T) {
	for _, store := range sessionStores {
		t.Run(store.name, func(t *testing.T) {
			s, _ := sessionServer(t, store.make(t))
			c := newClient(t, startServer(t, s))
			c.get("/set?k=user&v=ann")
			old := c.cookie()
			c.get("/regen")
			id := c.cookie()
			if id == old || len(id) != 22 {
				t.Fatalf("id after RegenerateID = %q (was %q), want a new one", id, old)
			}
			if got := c.get("/get?k=user"); got != `"ann"` {
				t.Errorf("user under the new id = %s, want \"ann\"", got)
			}
			c.setCookie(old)
			if got := c.get("/get?k=user"); got != "null" {
				t.Errorf("user under the old id = %s, want null: the old id must be dead", got)
			}
			// The dead id was not adopted either: a new session gets a new id.
			c.get("/set?k=x&v=1")
			if now := c.cookie(); now == old || now == id {
				t.Errorf("session created with a stale cookie got id %q, want a fresh one", now)
			}
		})
	}
}

func TestSessionDestroy(t *testing.T) {
	for _, store := range sessionStores {
		t.Run(store.name, func(t *testing.T) {
			s, _ := sessionServer(t, store.make(t))
			base := startServer(t, s)
			c := newClient(t, base)
			c.get("/set?k=user&v=ann")
			old := c.cookie()
			resp, err := c.hc.Get(base + "/destroy")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
				t.Errorf("Destroy: Set-Cookie %q, want the cookie expired", sc)
			}
			if c.cookie() != "" {
				t.Errorf("client still holds a session cookie after Destroy")
			}
			c.setCookie(old)
			if got := c.get("/get?k=user"); got != "null" {
				t.Errorf("user after Destroy = %s, want null", got)
			}
		})
	}
}

// TestSessionConcurrentWrites sends many requests of one session at once,
// each setting its own key: every key must survive.
func TestSessionConcurrentWrites(t *testing.T) {
	for _, store := range sessionStores {
		t.Run(store.name, func(t *testing.T) {
			s, _ := sessionServer(t, store.make(t))
			c := newClient(t, startServer(t, s))
			c.get("/set?k=start&v=1")
			const n = 40
			var wg sync.WaitGroup
			keys := []string{"start"}
			for i := range n {
				keys = append(keys, fmt.Sprint("k", i))
				wg.Go(func() {
					resp, err := c.hc.Get(fmt.Sprintf("%s/set?k=k%d&v=%d", c.base, i, i))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				})
			}
			wg.Wait()
			got := c.get("/all?k=" + strings.Join(keys, ","))
			for i := range n {
				if !strings.Contains(got, fmt.Sprintf(`"k%d":"%d"`, i, i)) {
					t.Errorf("key k%d lost among %d concurrent writes: %s", i, n, got)
				}
			}
		})
	}
}

func TestSessionCorruptFile(t *testing.T) {
	store := baton.NewFileStore(privateDir(t))
	s, logs := sessionServer(t, store)
	c := newClient(t, startServer(t, s))
	c.get("/set?k=user&v=ann")
	id := c.cookie()
	if err := os.WriteFile(filepath.Join(store.Dir(), id+".json"), []byte(`{"expires":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.get("/get?k=user"); got != "null" {
		t.Errorf("user from a corrupt file = %s, want null (an empty session)", got)
	}
	if !strings.Contains(logs.String(), "session corrupt") {
		t.Errorf("log lacks a line about the corrupt session:\n%s", logs)
	}
	c.get("/set?k=user&v=bob")
	if c.cookie() == id {
		t.Error("session started after a corrupt one kept its id")
	}
	if got := c.get("/get?k=user"); got != `"bob"` {
		t.Errorf("user of the new session = %s, want \"bob\"", got)
	}
}

func TestSessionStoreExpiry(t *testing.T) {
	for _, store := range sessionStores {
		t.Run(store.name, func(t *testing.T) {
			st := store.make(t)
			ctx := context.Background()
			if err := st.Save(ctx, "abc", map[string]any{"n": 1}, 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			data, err := st.Load(ctx, "abc")
			if err != nil || fmt.Sprint(data) != "map[n:1]" {
				t.Fatalf("Load = %v, %v; want map[n:1]", data, err)
			}
			waitFor(t, "the session to expire", 10*time.Second, func() bool {
				data, err := st.Load(ctx, "abc")
				return data == nil && err == nil
			})
			if fs, ok := st.(*baton.FileStore); ok {
				if err := fs.Sweep(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(fs.Dir(), "abc.json")); !os.IsNotExist(err) {
					t.Errorf("expired file after Sweep: %v, want it removed", err)
				}
			}
		})
	}
}

func TestSessionValues(t *testing.T) {
	s := newServer(t)
	s.SetSessionStore(baton.NewMemoryStore())
	s.BindHandler("/set", func(r *baton.Request) {
		r.Session.Set("int", 42)
		r.Session.Set("big", int64(math.MaxInt64))
		r.Session.Set("list", []string{"a"})
		if err := r.Session.Set("bad", make(chan int)); err == nil {
			r.Response.Write("Set of a channel: no error")
		}
		r.Response.Write(r.Session.GetInt("int"), " ", r.Session.GetString("int"))
	})
	s.BindHandler("/get", func(r *baton.Request) {
		r.Response.Writef("%d %s %v %T", r.Session.GetInt("int"), r.Session.GetString("big"),
			r.Session.Get("list"), r.Session.Get("int"))
	})
	rec := serve(t, s, "GET", "/set", nil)
	if rec.Body.String() != "42 42" {
		t.Errorf("in the request that set them: %q, want %q", rec.Body.String(), "42 42")
	}
	rec = serve(t, s, "GET", "/get", nil, "Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
	if want := "42 9223372036854775807 [a] json.Number"; rec.Body.String() != want {
		t.Errorf("read back: %q, want %q", rec.Body.String(), want)
	}
}
