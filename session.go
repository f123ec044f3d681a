package baton

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Session defaults.
const (
	// DefaultSessionCookie is the name of the session cookie.
	DefaultSessionCookie = "batonsid"
	// DefaultSessionTTL is how long a session lives without a request.
	DefaultSessionTTL = 24 * time.Hour
)

// sessionTimeKey holds, in the stored data, when the session was last
// saved (Unix milliseconds): it enforces the idle lifetime whatever the
// store, and tells when to refresh it.
const sessionTimeKey = "baton.t"

// sessionLockStripes is how many locks guard the sessions of a server
// against concurrent read-modify-writes in this process.
const sessionLockStripes = 64

// SessionConfig configures the sessions of a server. The zero value is
// useful: sessions in files of a directory of this user's (see Dir), in a
// cookie named DefaultSessionCookie, ending after DefaultSessionTTL without
// use.
type SessionConfig struct {
	// CookieName names the session cookie. If empty, DefaultSessionCookie
	// is used. Its other attributes come from ServerConfig.Cookie.
	CookieName string
	// TTL is how long a session lives without a request using it. If zero,
	// DefaultSessionTTL is used.
	TTL time.Duration
	// Store keeps the sessions. If nil, a FileStore in Dir is used.
	Store SessionStore
	// Dir is the directory of the default FileStore. If empty, it is
	// baton-sessions-<server name> in $STATE_DIRECTORY (the first one, as
	// systemd's StateDirectory= sets it), else baton/sessions-<server name>
	// in os.UserCacheDir(), else, when there is no user cache directory,
	// baton-sessions-<server name>-<uid> in os.TempDir() (no uid on
	// Windows). Whichever it is, it is checked as the FileStore doc says:
	// Server.Start fails, with ErrUnsafeSessionDir, on a directory that is
	// a symbolic link or, on Unix, belongs to another user or is open to
	// the group or others.
	Dir string
	// InsecureSkipDirCheck turns those checks off for the default
	// FileStore: Dir may then be a symbolic link, another user's or open
	// to others, and its session files may be any user's (they must still
	// be regular files). Set it only for a directory shared on purpose,
	// knowing that whoever can write to it can log in as anyone. If
	// false, the directory is checked.
	InsecureSkipDirCheck bool
}

// SessionStore keeps session data between requests, by session id. A
// session is a map of keys to values that encoding/json can encode; a
// store encodes it as JSON (or anything that gives back what json.Unmarshal
// would, with numbers as json.Number), so a value read back after a reload
// is a string, bool, json.Number, []any or map[string]any.
//
// Load returns nil and no error for an id it does not have or whose TTL
// has passed, and an error wrapping ErrSessionCorrupt for data it cannot
// decode. It returns a map the caller may change. Save replaces the data
// of id and makes it live ttl from now. Delete removes id; a missing id is
// not an error. A store must be safe for concurrent use.
//
// A Redis store is a small type: Load is GET and json.Unmarshal, Save is
// json.Marshal and SET with an expiry of ttl, Delete is DEL. A store that
// several processes share should also implement SessionUpdater, so that
// concurrent requests of one session served by different processes (such
// as two workers overlapping during a reload) do not lose each other's
// changes; without it, changes are merged under a lock of this process
// only.
type SessionStore interface {
	Load(ctx context.Context, id string) (map[string]any, error)
	Save(ctx context.Context, id string, data map[string]any, ttl time.Duration) error
	Delete(ctx context.Context, id string) error
}

// SessionUpdater is a SessionStore that changes a session atomically, even
// against other processes. Update loads id (nil if it does not exist or has
// expired; corrupt data counts as missing), calls fn with it and, unless fn
// returns nil, saves what fn returns with ttl, while holding a lock that
// excludes every other Update and Delete of id. A Redis store can use
// WATCH and MULTI, an SQL one SELECT ... FOR UPDATE. FileStore and
// MemoryStore implement it.
type SessionUpdater interface {
	SessionStore
	Update(ctx context.Context, id string, ttl time.Duration, fn func(data map[string]any) map[string]any) error
}

// sessionManager holds what the sessions and cookies of a server share.
type sessionManager struct {
	cookieName string
	ttl        time.Duration
	touchAfter time.Duration // refresh the lifetime of a session older than this
	store      SessionStore
	cookie     CookieConfig
	locks      [sessionLockStripes]sync.Mutex
	now        func() time.Time // a test seam
}

func newSessionManager(server string, c ServerConfig) *sessionManager {
	sc := c.Session
	m := &sessionManager{cookieName: sc.CookieName, ttl: sc.TTL, store: sc.Store, cookie: c.Cookie, now: time.Now}
	if m.cookieName == "" {
		m.cookieName = DefaultSessionCookie
	}
	if m.ttl <= 0 {
		m.ttl = DefaultSessionTTL
	}
	// Refreshing on every request would write on every request; refreshing
	// a minute late at most shortens a day-long idle lifetime by a minute.
	m.touchAfter = min(m.ttl/10, time.Minute)
	if m.store == nil {
		dir := sc.Dir
		if dir == "" {
			dir = defaultSessionDir(server)
		}
		fs := NewFileStore(dir)
		fs.unchecked = sc.InsecureSkipDirCheck
		m.store = fs
	}
	return m
}

// defaultSessionDir returns the directory of the default FileStore of
// server; see SessionConfig.Dir. The shared temporary directory comes
// last: there another user can take the name first, which the checks of
// the store turn into a failed start rather than a planted session.
func defaultSessionDir(server string) string {
	suffix := ""
	if server != "" {
		suffix = "-" + server
	}
	if sd, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); sd != "" {
		return filepath.Join(sd, "baton-sessions"+suffix)
	}
	if cache, err := os.UserCacheDir(); err == nil {
		return filepath.Join(cache, "baton", "sessions"+suffix)
	}
	name := "baton-sessions" + suffix
	if uid := os.Geteuid(); uid >= 0 {
		name += "-" + strconv.Itoa(uid)
	}
	return filepath.Join(os.TempDir(), name)
}

// update applies fn to the stored data of id atomically, through the store
// if it can, else under a lock of this process.
func (m *sessionManager) update(ctx context.Context, id string, fn func(map[string]any) map[string]any) error {
	if u, ok := m.store.(SessionUpdater); ok {
		return u.Update(ctx, id, m.ttl, fn)
	}
	mu := &m.locks[stripe(id, sessionLockStripes)]
	mu.Lock()
	defer mu.Unlock()
	cur, err := m.store.Load(ctx, id)
	if errors.Is(err, ErrSessionCorrupt) {
		cur, err = nil, nil
	}
	if err != nil {
		return err
	}
	next := fn(cur)
	if next == nil {
		return nil
	}
	return m.store.Save(ctx, id, next, m.ttl)
}

func stripe(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// newSessionID returns 128 random bits in base64url: 22 characters.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validSessionID reports whether id has the form newSessionID gives, so
// that no client-chosen text reaches a store (or a file name).
func validSessionID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Session is the session of the client of a request, identified by a
// random 128-bit id in a cookie. It is the Session field of a Request; the
// zero value is not usable. It is loaded from the store at its first use,
// so a request that does not use it costs nothing, and saved when the
// handler chain returns if it changed: only the keys changed are written,
// merged into what the store holds then, so that concurrent requests of
// one session keep each other's changes. A session is created (and its
// cookie set) by the first Set. A request that panics saves nothing.
//
// A session ends after SessionConfig.TTL without a request using it, or
// with Destroy. Keys beginning with "baton." are reserved.
//
// Goroutine safety: like its Request, a Session belongs to one handler
// goroutine.
type Session struct {
	r         *Request
	m         *sessionManager
	loaded    bool
	id        string          // "" until a new session gets its id
	isNew     bool            // not in the store: created by this request
	data      map[string]any  // the session as this request sees it
	changed   map[string]bool // key -> set (true) or removed (false)
	touch     bool            // refresh the lifetime even without changes
	cookieSet bool            // the cookie for id is queued or sent
	discarded bool            // the request panicked: save nothing
}

// dirty reports whether a request changed s from its zero state (bound to
// its request), so that reset can skip clearing an unused session.
//
// NOTE: every other field of Session is set only after load, which sets
// loaded first.
func (s *Session) dirty() bool { return s.loaded || s.discarded }

// load reads the session at its first use.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	m := s.r.Server.sessions.Load()
	s.m = m
	s.isNew = true
	ck, err := s.r.Request.Cookie(m.cookieName)
	if err != nil || !validSessionID(ck.Value) {
		return
	}
	id := ck.Value
	data, err := m.store.Load(s.r.Context(), id)
	switch {
	case errors.Is(err, ErrSessionCorrupt):
		s.r.Logger().Warn("baton: session corrupt, starting a new one", "err", err)
		m.store.Delete(context.WithoutCancel(s.r.Context()), id)
	case err != nil:
		// The store may be back by the end of the request: keep the id, so
		// that the changes of this request are merged into the session
		// rather than starting a new one.
		s.r.Logger().Error("baton: session load failed", "err", err)
		s.id, s.isNew = id, false
	case data != nil:
		saved, _ := takeSessionTime(data)
		age := m.now().Sub(time.UnixMilli(saved))
		if saved != 0 && age > m.ttl {
			return // expired: a store that sweeps late does not revive it
		}
		s.id, s.isNew, s.data = id, false, data
		s.touch = saved == 0 || age > m.touchAfter
	}
}

// takeSessionTime removes the save time from data and returns it.
func takeSessionTime(data map[string]any) (int64, bool) {
	v, ok := data[sessionTimeKey]
	if !ok {
		return 0, false
	}
	delete(data, sessionTimeKey)
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case float64:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// ID returns the session id, or "" if the session is not stored yet.
func (s *Session) ID() string {
	s.load()
	return s.id
}

// IsNew reports whether the session was not in the store when the request
// began (or was destroyed during it).
func (s *Session) IsNew() bool {
	s.load()
	return s.isNew
}

// Get returns the value of key, or nil. A value set during this request is
// returned as set; one read from the store is as json.Unmarshal gives it,
// with numbers as json.Number.
func (s *Session) Get(key string) any {
	s.load()
	return s.data[key]
}

// GetString returns the value of key as a string, or "" if there is none.
func (s *Session) GetString(key string) string {
	return toString(s.Get(key))
}

// GetInt returns the value of key as an int, or 0 if there is none or it
// is not an integer.
func (s *Session) GetInt(key string) int {
	switch x := s.Get(key).(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		if x == math.Trunc(x) {
			return int(x)
		}
	case json.Number:
		n, _ := strconv.Atoi(string(x))
		return n
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

// Set sets key to value. It returns an error, and changes nothing, if
// value cannot be encoded as JSON or key is reserved.
func (s *Session) Set(key string, value any) error {
	if strings.HasPrefix(key, "baton.") {
		return fmt.Errorf("baton: session key %q is reserved", key)
	}
	if _, err := json.Marshal(value); err != nil {
		return fmt.Errorf("baton: session key %q: %w", key, err)
	}
	s.load()
	if s.data == nil {
		s.data = make(map[string]any)
	}
	if s.changed == nil {
		s.changed = make(map[string]bool)
	}
	s.data[key] = value
	s.changed[key] = true
	return nil
}

// Remove deletes key from the session.
func (s *Session) Remove(key string) {
	s.load()
	if _, ok := s.data[key]; !ok && s.isNew {
		return
	}
	delete(s.data, key)
	if s.changed == nil {
		s.changed = make(map[string]bool)
	}
	s.changed[key] = false
}

// Destroy deletes the session from the store and tells the client to drop
// its cookie. A Set after it starts a new session, with a new id.
func (s *Session) Destroy() error {
	s.load()
	var err error
	if s.id != "" && !s.isNew {
		if err = s.m.store.Delete(context.WithoutCancel(s.r.Context()), s.id); err != nil {
			err = fmt.Errorf("baton: destroy session: %w", err)
		}
	}
	if s.id != "" || s.r.Cookie.Get(s.m.cookieName) != "" {
		s.r.Cookie.Remove(s.m.cookieName)
	}
	s.id, s.isNew, s.data, s.changed, s.touch, s.cookieSet = "", true, nil, nil, false, false
	return err
}

// RegenerateID moves the session to a new id and deletes the old one, so
// that an id known before (a fixation attack) is worth nothing after it:
// call it when the user logs in or gains rights.
func (s *Session) RegenerateID() error {
	s.load()
	if s.isNew {
		// Nothing is stored yet: the first save makes a fresh id anyway.
		s.id = ""
		s.cookieSet = false
		return nil
	}
	ctx := context.WithoutCancel(s.r.Context())
	old, id := s.id, newSessionID()
	var full map[string]any
	err := s.m.update(ctx, old, func(cur map[string]any) map[string]any {
		full = s.merge(cur)
		return nil
	})
	if err == nil {
		err = s.m.update(ctx, id, func(map[string]any) map[string]any { return full })
	}
	if err != nil {
		return fmt.Errorf("baton: regenerate session id: %w", err)
	}
	if err := s.m.store.Delete(ctx, old); err != nil {
		s.r.Logger().Warn("baton: delete the old session id", "err", err)
	}
	delete(full, sessionTimeKey)
	s.id, s.data, s.changed, s.touch = id, full, nil, false
	s.queueCookie()
	return nil
}

// merge applies the changes of this request to cur, the data in the store,
// and stamps the save time. A nil cur starts from nothing.
func (s *Session) merge(cur map[string]any) map[string]any {
	if cur == nil {
		cur = make(map[string]any, len(s.data)+1)
	}
	for k, set := range s.changed {
		if set {
			cur[k] = s.data[k]
		} else {
			delete(cur, k)
		}
	}
	cur[sessionTimeKey] = s.m.now().UnixMilli()
	return cur
}

// queueCookie sets the session cookie for s.id.
func (s *Session) queueCookie() {
	ck := s.r.Cookie.template(s.m.cookie)
	ck.Name, ck.Value = s.m.cookieName, s.id
	ck.MaxAge = int(s.m.ttl / time.Second)
	if ck.MaxAge == 0 {
		ck.MaxAge = 1
	}
	s.r.Cookie.add(ck)
	s.cookieSet = true
}

// creates reports whether saving would create a new session.
func (s *Session) creates() bool {
	if !s.isNew || s.discarded {
		return false
	}
	for _, set := range s.changed {
		if set {
			return true
		}
	}
	return false
}

// beforeSend runs as the response headers go out: a session created so far
// gets its id and cookie now, since its cookie cannot follow later.
func (s *Session) beforeSend() {
	if !s.loaded || !s.creates() || s.cookieSet {
		return
	}
	if s.id == "" {
		s.id = newSessionID()
	}
	s.queueCookie()
}

// save writes the changes of the request, when its handler chain has
// returned. It reports false if changes were lost.
func (s *Session) save() bool {
	if !s.loaded || s.discarded || (len(s.changed) == 0 && !s.touch) {
		return true
	}
	if s.isNew && !s.creates() {
		return true
	}
	if s.isNew && !s.cookieSet {
		if s.r.resp.committed {
			s.r.Logger().Error("baton: session started after the response was sent: not saved",
				"method", s.r.Method, "path", s.r.URL.Path)
			return false
		}
		s.beforeSend()
	} else if !s.r.resp.committed && !s.isNew {
		s.queueCookie() // the cookie lives as long as the session
	}
	isNew := s.isNew
	err := s.m.update(context.WithoutCancel(s.r.Context()), s.id, func(cur map[string]any) map[string]any {
		if cur == nil && !isNew {
			return nil // destroyed, expired or moved meanwhile: do not revive it
		}
		return s.merge(cur)
	})
	if err != nil {
		s.r.Logger().Error("baton: session save failed", "err", err, "method", s.r.Method, "path", s.r.URL.Path)
		return len(s.changed) == 0
	}
	return true
}

// SetSessionStore makes the server keep its sessions in st; see
// SessionConfig.Store.
func (s *Server) SetSessionStore(st SessionStore) {
	s.update(func(c *ServerConfig) { c.Session.Store = st })
}

// SetSessionTTL sets how long a session lives without a request; see
// SessionConfig.TTL.
func (s *Server) SetSessionTTL(d time.Duration) {
	s.update(func(c *ServerConfig) { c.Session.TTL = d })
}

// encodeSession and decodeSession are the JSON form of session data that
// the built-in stores keep.
func encodeSession(data map[string]any) ([]byte, error) {
	return json.Marshal(data)
}

func decodeSession(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = make(map[string]any)
	}
	return m, nil
}
