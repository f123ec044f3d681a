package baton

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testOpens counts the stores the "test" opener made; testOpenErr, if set,
// is what it fails with.
var (
	testOpens   atomic.Int32
	testOpenErr atomic.Value // string
	testLastCfg atomic.Value // SessionFileConfig
)

func init() {
	RegisterSessionStore("test", func(c SessionFileConfig) (SessionStore, error) {
		if msg, _ := testOpenErr.Load().(string); msg != "" {
			return nil, errors.New(msg)
		}
		testOpens.Add(1)
		testLastCfg.Store(c)
		return NewMemoryStore(), nil
	})
}

func TestConfigSessionSection(t *testing.T) {
	useConfigFile(t, "session:\n"+
		"  store: test\n"+
		"  addr: 127.0.0.1:6379\n"+
		"  prefix: \"app:\"\n"+
		"  ttl: 90m\n"+
		"  cookieName: sid\n"+
		"  password: secret\n")
	s := newServer("sess")
	c := s.Config()
	if _, ok := c.Session.Store.(*MemoryStore); !ok {
		t.Fatalf("Session.Store = %T, want the store the opener made", c.Session.Store)
	}
	if c.Session.TTL != 90*time.Minute || c.Session.CookieName != "sid" {
		t.Errorf("Session = TTL %v, CookieName %q; want 90m, sid", c.Session.TTL, c.Session.CookieName)
	}
	got := testLastCfg.Load().(SessionFileConfig)
	if got.Addr != "127.0.0.1:6379" || got.Prefix != "app:" || got.Options["password"] != "secret" {
		t.Errorf("opener got %+v, want addr, prefix and the password option", got)
	}
	// A second server shares the store: one section, one store.
	if s2 := newServer("sess2"); s2.Config().Session.Store != c.Session.Store {
		t.Errorf("two servers got two stores from one section")
	}
	// Code wins over the file.
	s.SetSessionStore(NewMemoryStore())
	if s.Config().Session.Store == c.Session.Store {
		t.Errorf("SetSessionStore did not replace the file's store")
	}
}

func TestConfigSessionSectionInvalid(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"unknown store", "app: 1\nsession:\n  store: mongo\n", "config.yaml:3: session.store: store \"mongo\" is not linked into this program"},
		{"negative ttl", "session:\n  ttl: -1s\n", "config.yaml:2: session.ttl: a duration must not be negative"},
		{"not a mapping", "session: redis\n", "config.yaml:1: session: must be a mapping"},
		{"bad ttl", "session:\n  ttl: soon\n", "config.yaml:2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir() + "/config.yaml"
			writeFile(t, path, tt.text)
			_, err := parseConfig(path)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseConfig(%q) = %v, want a ConfigError containing %q", tt.text, err, tt.want)
			}
		})
	}
}

// A change of the file that leaves the session section alone keeps its
// store; a changed section opens a new one; a section whose store does not
// open is rejected and the running configuration stays.
func TestConfigSessionReload(t *testing.T) {
	path := t.TempDir() + "/config.yaml"
	writeFile(t, path, "app: 1\nsession:\n  store: test\n  addr: a:1\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c.logger = defaultLogger()
	store := func() SessionStore {
		var sc ServerConfig
		if err := c.cur.Load().session.apply(&sc); err != nil {
			t.Fatal(err)
		}
		return sc.Session.Store
	}
	first := store()
	opens := testOpens.Load()

	writeFile(t, path, "app: 2\nsession:\n  store: test\n  addr: a:1\n")
	c.reload()
	if c.GetInt("app") != 2 || store() != first || testOpens.Load() != opens {
		t.Errorf("unrelated change: app %d, same store %v, opens %d -> %d; want 2, true, no new open",
			c.GetInt("app"), store() == first, opens, testOpens.Load())
	}

	writeFile(t, path, "app: 3\nsession:\n  store: test\n  addr: b:1\n")
	c.reload()
	if store() == first {
		t.Errorf("changed section kept the old store")
	}
	second := store()

	testOpenErr.Store("no route to b:2")
	t.Cleanup(func() { testOpenErr.Store("") })
	writeFile(t, path, "app: 4\nsession:\n  store: test\n  addr: b:2\n")
	c.reload()
	if c.GetInt("app") != 3 || store() != second {
		t.Errorf("section whose store fails to open: app %d, store kept %v; want 3, true", c.GetInt("app"), store() == second)
	}
}

func TestRegisterSessionStoreTwice(t *testing.T) {
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, `session store "test" registered at`) || !strings.Contains(msg, "config_session_test.go") {
			t.Errorf("panic = %q, want both registrations named", msg)
		}
	}()
	RegisterSessionStore("test", func(SessionFileConfig) (SessionStore, error) { return nil, nil })
}
