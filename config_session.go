package baton

import (
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The session section of the configuration file ("session:") and the
// registry of the stores it can name. A store package outside the root
// (a Redis or SQL store) registers itself from its init function, so that
// a program links only the stores it imports.

// SessionFileConfig is the session section of the configuration file, as
// a store registered with RegisterSessionStore receives it:
//
//	session:
//	  store: redis          # a registered store; empty: the default FileStore
//	  addr: 127.0.0.1:6379  # where the store is, in its own terms
//	  prefix: "app:sess:"   # a prefix of the store's keys or names
//	  ttl: 12h              # SessionConfig.TTL
//	  cookieName: sid       # SessionConfig.CookieName
//	  dir: /var/lib/app     # SessionConfig.Dir, for the default FileStore
//
// Keys the store defines beyond these (a password, a database number, a
// driver) are in Options, with their YAML values.
type SessionFileConfig struct {
	Store      string         `yaml:"store"`
	Addr       string         `yaml:"addr"`
	Prefix     string         `yaml:"prefix"`
	TTL        time.Duration  `yaml:"ttl"`
	CookieName string         `yaml:"cookieName"`
	Dir        string         `yaml:"dir"`
	Options    map[string]any `yaml:"-"`
}

// SessionStoreOpener makes a store from the session section. It is called
// at most once per distinct section, when a server first needs the store,
// and should not connect: a store connects at its first use, so that a
// process that serves nothing (the master) opens no connection. An error
// rejects the configuration.
type SessionStoreOpener func(c SessionFileConfig) (SessionStore, error)

var sessionOpeners struct {
	sync.Mutex
	m map[string]registeredOpener
}

type registeredOpener struct {
	open  SessionStoreOpener
	where string // file:line of the registration
}

// RegisterSessionStore makes the store name available to the session
// section of the configuration file ("store: name"). Store packages call it
// from their init function. Registering a name twice panics, naming both
// registrations. It is safe for concurrent use.
func RegisterSessionStore(name string, open SessionStoreOpener) {
	if name == "" || open == nil {
		panic("baton: RegisterSessionStore needs a name and an opener")
	}
	_, file, line, _ := runtime.Caller(1)
	where := fmt.Sprintf("%s:%d", file, line)
	sessionOpeners.Lock()
	defer sessionOpeners.Unlock()
	if prev, ok := sessionOpeners.m[name]; ok {
		panic(fmt.Sprintf("baton: session store %q registered at %s and again at %s", name, prev.where, where))
	}
	if sessionOpeners.m == nil {
		sessionOpeners.m = make(map[string]registeredOpener)
	}
	sessionOpeners.m[name] = registeredOpener{open: open, where: where}
}

func sessionOpener(name string) (SessionStoreOpener, []string) {
	sessionOpeners.Lock()
	defer sessionOpeners.Unlock()
	if r, ok := sessionOpeners.m[name]; ok {
		return r.open, nil
	}
	var names []string
	for n := range sessionOpeners.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, names
}

// sessionSection is the parsed session section and the store it opens,
// shared by the versions of the file that leave the section unchanged, so
// that an unrelated change keeps the store and its connections.
type sessionSection struct {
	cfg  SessionFileConfig
	open SessionStoreOpener // nil for the default FileStore

	once  sync.Once
	store SessionStore
	err   error
}

// sessionKnownKeys are the keys of SessionFileConfig.
var sessionKnownKeys = map[string]bool{"store": true, "addr": true, "prefix": true, "ttl": true, "cookieName": true, "dir": true}

// parseSessionSection decodes and checks the session section.
func parseSessionSection(path string, key, v *yaml.Node) (*sessionSection, error) {
	at := sectionNode{key: key.Value, node: v}
	if v.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: path, Line: v.Line, Key: key.Value, Msg: "must be a mapping"}
	}
	var sc SessionFileConfig
	if err := v.Decode(&sc); err != nil {
		return nil, yamlError(path, err)
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i].Value
		if sessionKnownKeys[k] {
			continue
		}
		var x any
		if err := v.Content[i+1].Decode(&x); err != nil {
			return nil, yamlError(path, err)
		}
		if sc.Options == nil {
			sc.Options = make(map[string]any)
		}
		sc.Options[k] = x
	}
	if sc.TTL < 0 {
		return nil, at.errorAt(path, "ttl", "a duration must not be negative")
	}
	ss := &sessionSection{cfg: sc}
	if sc.Store == "" || sc.Store == "file" {
		return ss, nil
	}
	open, names := sessionOpener(sc.Store)
	if open == nil {
		msg := fmt.Sprintf("store %q is not linked into this program (import its package, such as github.com/baton-go/baton/session/redisstore)", sc.Store)
		if len(names) > 0 {
			msg += "; known: file, " + strings.Join(names, ", ")
		}
		return nil, at.errorAt(path, "store", msg)
	}
	ss.open = open
	return ss, nil
}

// sameAs reports whether s and o describe the same store.
func (s *sessionSection) sameAs(o *sessionSection) bool {
	return s != nil && o != nil && reflect.DeepEqual(s.cfg, o.cfg)
}

// apply sets the session settings of the section on c, opening its store
// at the first call.
func (s *sessionSection) apply(c *ServerConfig) error {
	if s == nil {
		return nil
	}
	if s.cfg.TTL > 0 {
		c.Session.TTL = s.cfg.TTL
	}
	if s.cfg.CookieName != "" {
		c.Session.CookieName = s.cfg.CookieName
	}
	if s.cfg.Dir != "" {
		c.Session.Dir = s.cfg.Dir
	}
	if s.open == nil {
		return nil
	}
	if err := s.prepare(); err != nil {
		return err
	}
	c.Session.Store = s.store
	return nil
}

// prepare opens the store of the section, once.
func (s *sessionSection) prepare() error {
	if s == nil || s.open == nil {
		return nil
	}
	s.once.Do(func() {
		s.store, s.err = s.open(s.cfg)
		if s.err != nil {
			s.err = fmt.Errorf("baton: session store %q: %w", s.cfg.Store, s.err)
		}
	})
	return s.err
}
