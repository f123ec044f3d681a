package baton

import (
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton/internal/watch"
)

// Defaults for ServerConfig fields left at their zero value.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultSendTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxBodySize       = 8 << 20
	DefaultIdleGrace         = 3 * time.Second
	DefaultServerName        = "default"
)

// Sentinel errors returned by the server. Callers compare with errors.Is.
var (
	// ErrNoAddress is returned by Start when a server has nothing to listen on.
	ErrNoAddress = errors.New("baton: no address to listen on (use SetPort or SetAddr)")
	// ErrServerStarted is returned by Start on a server that was already started.
	ErrServerStarted = errors.New("baton: server already started")
	// ErrServerClosed is returned by Start on a server that has been shut down.
	ErrServerClosed = errors.New("baton: server closed")
	// ErrNoMaster is returned by Reload and Restart when the process runs
	// without a master (graceful mode off, or under go test).
	ErrNoMaster = errors.New("baton: no master process (graceful mode is off)")
	// ErrReloadNotSupported is returned by Reload on platforms without the
	// master/worker process model when a restart cannot be arranged either.
	ErrReloadNotSupported = errors.New("baton: reload not supported on this platform")
	// ErrTemplateNotFound is returned, wrapped with the name, by
	// Response.WriteTpl for a name no file of the view tree has.
	ErrTemplateNotFound = errors.New("baton: template not found")
	// ErrSessionCorrupt is what a SessionStore wraps in the error of Load for
	// data it cannot decode. The session is then started afresh (under a new
	// id) and the error is logged, rather than answering 500.
	ErrSessionCorrupt = errors.New("baton: session data corrupt")
	// ErrUnsafeSessionDir is what the errors of a FileStore wrap when its
	// directory is not this user's alone (a symbolic link, another user's,
	// or open to the group or others), so that sessions could be read or
	// planted there. Server.Start returns it for the store of the server.
	ErrUnsafeSessionDir = errors.New("baton: session directory unsafe")
	// ErrWebSocketOrigin is wrapped by the error of Request.WebSocket for a
	// cross-origin request that WebSocketConfig.AllowedOrigins does not
	// allow; the client got 403.
	ErrWebSocketOrigin = errors.New("baton: websocket origin not allowed")
	// ErrResponseCommitted is wrapped by the error of Request.WebSocket
	// when the response was already sent (after Flush, say).
	ErrResponseCommitted = errors.New("baton: response already sent")
)

// ServerConfig holds every setting of a Server. The zero value is useful:
// each field documents what a zero means. The SetXxx methods of Server are
// thin setters over this struct.
type ServerConfig struct {
	// Addr lists the plain HTTP addresses, such as ":8199" or "127.0.0.1:0".
	Addr []string
	// HTTPSAddr lists the HTTPS addresses. They are served only when
	// HTTPSCertFile and HTTPSKeyFile are set.
	HTTPSAddr []string
	// HTTPSCertFile and HTTPSKeyFile name the PEM certificate and key. They are
	// read at Start, so every new worker of a reload reads them afresh.
	HTTPSCertFile, HTTPSKeyFile string

	// ServerRoot is the directory static files are served from when no route
	// matches. If empty, only StaticPaths and SearchPaths are served, if
	// set.
	ServerRoot string
	// SearchPaths are further directories served like ServerRoot, searched
	// in order after it: the first that has the file requested serves it.
	SearchPaths []string
	// StaticPaths are directories served under a URL prefix (Path below
	// /static, say), searched before ServerRoot, the longest prefix first.
	// A file a static path lacks is looked for in the next one and then in
	// ServerRoot and SearchPaths. Routes still come first.
	StaticPaths []StaticPath
	// IndexFiles are tried, in order, for a request naming a directory.
	// If nil, DefaultIndexFiles ("index.html", then "index.htm") is used.
	IndexFiles []string
	// DirectoryListing enables listing a directory that has no index file.
	// If false, such a request gets 403.
	DirectoryListing bool
	// Rewrites maps request paths to the paths they are served as, before
	// routing: "/" to "/index.html", say. A path must match exactly; the
	// query string is kept. Paths and targets start with "/" and targets
	// have no query. If empty, paths are not rewritten.
	Rewrites map[string]string
	// ServeDotFiles serves the files below the static directories
	// (ServerRoot, SearchPaths, StaticPaths) whose path has a segment
	// starting with a dot (.env, .git/config, a/.hidden/x). If false,
	// requests for them get 404, as if they were absent, whatever the
	// spelling of the path (%2e, "//", "a/../.env"), and listings do not
	// show them; only the top-level .well-known directory (ACME
	// challenges, security.txt) is served, without its own dotfiles.
	// Routes and Response.ServeFile are not affected.
	ServeDotFiles bool

	// ReadHeaderTimeout bounds the time to read request headers, which cuts
	// off slowloris clients. If zero, DefaultReadHeaderTimeout is used.
	//
	// Read timeouts are checked every 100 ms rather than by a timer armed
	// on the socket at every request, which cost a tenth of the CPU of a
	// small request. On plain HTTP connections the header and idle
	// timeouts fire up to two tenths of a second late, never early; a
	// read timeout (ReadTimeout, or on HTTPS any of the three) of a second
	// or more fires up to a tenth of a second late.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request. If zero,
	// DefaultReadTimeout is used; a negative value means no limit.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time to write a response. If zero there is no
	// limit, so that streams and downloads are not cut.
	WriteTimeout time.Duration
	// SendTimeout bounds how long a write may make no progress: a
	// connection whose client takes nothing of a pending response for that
	// long is closed, and the handler's write fails, as with nginx's
	// send_timeout. It bounds the pause, not the response, so downloads,
	// streams and WebSockets that keep moving are never cut; it applies to
	// HTTP/1 and HTTP/2 connections, plain or TLS, and to hijacked ones
	// whatever write deadlines they set. If zero, DefaultSendTimeout is
	// used; a negative value means no limit.
	//
	// Like the read timeouts it is checked every 100 ms, and fires up to
	// three tenths of a second late, never early. On Linux any byte the
	// client acknowledges is progress. Elsewhere progress is the end of a
	// write, which is passed to the socket in pieces of at most 64 KiB,
	// and a blocked one goes on only once a third of the socket's buffer
	// has drained: a client must take that much within SendTimeout.
	SendTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection may stay idle. If
	// zero, DefaultIdleTimeout is used.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of request headers. If zero,
	// DefaultMaxHeaderBytes is used.
	MaxHeaderBytes int
	// MaxBodySize bounds the size of a request body; a larger body gets 413.
	// If zero, DefaultMaxBodySize is used; a negative value means no limit.
	MaxBodySize int64

	// DrainTimeout bounds a graceful shutdown or the drain of an old worker:
	// connections still open at its end are closed, WebSockets included. If
	// zero, the duration in the environment variable BATON_DRAIN_TIMEOUT
	// ("45s") is used if it is set and valid, else DefaultDrainTimeout; the
	// master reads the same variable.
	DrainTimeout time.Duration
	// ReadyTimeout bounds how long the master waits for a new worker to
	// report ready during a reload. If zero, DefaultReadyTimeout is used.
	ReadyTimeout time.Duration
	// LameDuck is how long the program goes on serving after it is told
	// to stop (SIGTERM), with the health check (EnableHealth) answering
	// 503 and everything else as before, before it drains: time for a
	// load balancer to take it out of rotation. The largest of the
	// running servers' applies; if zero, "graceful: {lameDuck: 5s}" in
	// the configuration file or BATON_LAME_DUCK, else none. A reload has
	// none. See lameduck.go.
	LameDuck time.Duration
	// IdleGrace is how long a keep-alive connection must stay idle during a
	// drain before it is closed: a client that sends within it is answered
	// (with Connection: close) rather than cut. If zero, DefaultIdleGrace is used.
	IdleGrace time.Duration

	// Logger receives the error log and, unless AccessLogDisabled, one line
	// per request. If nil, a text logger on stderr is used, at LogLevel.
	Logger *slog.Logger
	// LogLevel is the level of the default logger: "debug", "info",
	// "warn" or "error". If empty, "info" is used. It does not affect a
	// Logger set in code.
	LogLevel string
	// AccessLogDisabled turns the access log off.
	AccessLogDisabled bool
	// ErrorStackDisabled leaves the stack out of the error log line of a
	// handler that panicked. If false, the line has the stack.
	ErrorStackDisabled bool

	// TrustedProxies lists the networks (CIDR, such as "10.0.0.0/8", or
	// single addresses) of the reverse proxies in front of the server. Of
	// a request whose peer is one of them, the client is the one that
	// ClientIPHeader names: the rightmost address there that is not itself
	// a trusted proxy. If empty, every proxy header is ignored and the
	// client is the connection's peer. The client shows in the access log,
	// in Request.GetClientIp and in the admin page's access rules.
	TrustedProxies []string
	// ClientIPHeader is the one header in which the trusted proxies name
	// the client: "X-Forwarded-For", "X-Real-IP" or "Forwarded" (RFC 7239).
	// The others are never read, so that a client cannot pass one that a
	// proxy leaves untouched. If empty, X-Forwarded-For is used.
	ClientIPHeader string
	// AllowedHosts lists the host names, besides IP addresses and
	// localhost, that a request may carry in its Host header where baton
	// admits it for being local: the admin page without a token, and the
	// WebSocket same-origin rule on a loopback connection. A name with a
	// leading dot (".example.com") stands for itself and every name below
	// it. Other names are refused there, which defeats DNS rebinding.
	AllowedHosts []string

	// Middleware turns on the middleware shipped with baton for every
	// request (config_middleware.go). If zero, none. It is read when the
	// server starts serving.
	Middleware MiddlewareConfig

	// Admin controls access to the admin page (EnableAdmin).
	Admin AdminConfig

	// WebSocket holds the settings of Request.WebSocket: allowed origins,
	// read limit, keep-alive pings and timeouts. Its zero value is useful.
	WebSocket WebSocketConfig

	// OnListen, if set, is called with each bound address once the server
	// accepts on it; tests on port 0 use it to learn the port.
	OnListen func(network string, addr net.Addr)

	// ViewPath is the directory Response.WriteTpl reads templates from. If
	// empty, DefaultViewPath is used. A directory that does not exist is an
	// empty tree. See ViewFS.
	ViewPath string
	// ViewFS, if set, is read for templates instead of ViewPath: an
	// embed.FS (through fs.Sub), say, so that the binary carries its views.
	ViewFS fs.FS
	// ViewAutoReload makes the server look, at most every 100ms, whether a
	// template file changed, and parse the tree again if one did, so that
	// template edits show without a rebuild. It is also on while the
	// worker is in development mode. If false, templates are parsed once.
	ViewAutoReload bool
	// ViewFuncs are functions added to ViewFuncs for the templates. If nil,
	// the templates have the built-in ones only.
	ViewFuncs template.FuncMap

	// Cookie holds the attributes of the cookies the server sets.
	Cookie CookieConfig
	// Session configures sessions: cookie name, idle lifetime, store.
	Session SessionConfig
}

// StaticPath is a directory served under a URL prefix: Path's a/b.css
// answers Prefix+"/a/b.css". Prefix is a clean absolute path ("/static");
// a trailing slash is ignored.
type StaticPath struct {
	Prefix string
	Path   string
}

// Server is a named HTTP and HTTPS server with routing, middleware, static
// files and graceful shutdown. Get one with GetServer (or g.Server in the
// facade) and configure it before Start; configuration after Start has no
// effect on listeners already open.
//
// Goroutine safety: route registration and configuration are meant to
// happen before Start and are guarded by a mutex; ServeHTTP is safe for
// concurrent use. A Server may not be started again after Shutdown.
type Server struct {
	name string

	mu       sync.Mutex
	cfg      ServerConfig
	state    serverState
	httpSrvs []*http.Server // plain, then TLS
	lns      []*listener
	serveWG  sync.WaitGroup
	done     chan struct{} // closed once the server has fully stopped
	finished sync.Once
	stopErr  error

	drainStart time.Time

	codeSet  map[string]bool // ServerConfig fields set by code, which the file does not override
	fileErr  error           // a value of the file's section that could not be applied, for Start
	level    slog.LevelVar
	router   *router
	logp     atomic.Pointer[slog.Logger]
	pid      int
	access   atomic.Bool // requests timed: access log on, or a canary window (canary.go)
	logLine  atomic.Bool // access log on: lines written
	bodyMax  atomic.Int64
	static   atomic.Pointer[staticFS]
	rewrites atomic.Pointer[map[string]string] // nil: no rewrite
	trust    atomic.Pointer[proxyTrust]        // nil: no trusted proxy
	conns    connTracker
	draining atomic.Bool
	drainCh  chan struct{} // closed when a drain starts
	drainMu  sync.Mutex
	onDrain  []func()
	tlsCert  atomic.Pointer[tls.Certificate]
	certW    *watch.Files
	views    atomic.Pointer[viewCache]
	sessions atomic.Pointer[sessionManager]
	hooks    atomic.Pointer[hookSet] // nil: no hook nor status handler

	logFields []logField // AddAccessLogField's, set before Start
	apiDoc    apiDoc     // SetOpenApiPath, SetSwaggerPath
}

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateDraining
	stateStopped
)

var _ http.Handler = (*Server)(nil)

func newServer(name string) *Server {
	s := &Server{
		name:    name,
		done:    make(chan struct{}),
		drainCh: make(chan struct{}),
		pid:     os.Getpid(),
	}
	s.router = newRouter(s)
	s.access.Store(true)
	s.logLine.Store(true)
	s.bodyMax.Store(DefaultMaxBodySize)
	s.logp.Store(newTextLogger(&s.level))
	s.views.Store(newViewCache(s.cfg))
	s.sessions.Store(newSessionManager(s.name, s.cfg))
	if name != "" {
		// The configuration file's section for this server, if any; code
		// calls made later override it.
		s.applyFileSection()
	}
	return s
}

// applyFileSection applies the configuration file's section of the
// server. A server root that cannot be opened is left out, the rest of
// the section applies, and Start returns the error, with the file, line
// and key, unless code sets a server root of its own first.
func (s *Server) applyFileSection() {
	c, err := fileConfig(s.name)
	if err != nil {
		return // Start returns the file's error
	}
	ferr := fileRootError(s.name, &c)
	if ferr != nil {
		c.ServerRoot = ""
	}
	if err := s.setConfig(c, false); err != nil {
		ferr = errors.Join(ferr, err)
	}
	s.mu.Lock()
	s.fileErr = ferr
	s.mu.Unlock()
}

// defaultLogger is the logger of code outside a server, the master's
// included: unbuffered, since the master may exit at any point.
func defaultLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// Name returns the server's registry name.
func (s *Server) Name() string { return s.name }

// Config returns a copy of the server's configuration.
func (s *Server) Config() ServerConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// SetConfig replaces the server's configuration. Fields that take effect per
// request (logger, access log, body limit, server root, views, cookies,
// sessions) apply at once, and the templates are parsed again at their next
// use; listener and timeout settings apply at the next Start. The fields it
// changes are settings of code, which the configuration file no longer
// overrides.
func (s *Server) SetConfig(c ServerConfig) error { return s.setConfig(c, true) }

func (s *Server) setConfig(c ServerConfig, fromCode bool) error {
	rewrites, err := checkRewrites(c.Rewrites)
	if err != nil {
		return fmt.Errorf("baton: server %q: %w", s.name, err)
	}
	st, err := openStatic(&c)
	if err != nil {
		return err
	}
	trusted := c.TrustedProxies
	if len(trusted) == 0 {
		trusted = c.Admin.TrustedProxies
	}
	trust, err := newProxyTrust(trusted, c.ClientIPHeader)
	if err != nil {
		st.close()
		return fmt.Errorf("baton: server %q: %w", s.name, err)
	}
	if _, err := parseNetworks(c.Admin.Allow); err != nil {
		st.close()
		return fmt.Errorf("baton: server %q: admin allow: %w", s.name, err)
	}
	var level slog.Level
	if c.LogLevel != "" {
		if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
			st.close()
			return fmt.Errorf("baton: server %q: log level: %w", s.name, err)
		}
	}
	if _, _, err := c.Middleware.handlers(); err != nil {
		st.close()
		return fmt.Errorf("baton: server %q: middleware: %w", s.name, err)
	}
	s.mu.Lock()
	if fromCode {
		if s.codeSet == nil {
			s.codeSet = make(map[string]bool)
		}
		for _, f := range changedFields(&s.cfg, &c) {
			s.codeSet[f] = true
		}
	}
	s.cfg = c
	s.mu.Unlock()
	s.level.Set(level)
	if c.Logger != nil {
		s.logp.Store(c.Logger)
	} else {
		s.logp.Store(newTextLogger(&s.level))
	}
	s.logLine.Store(!c.AccessLogDisabled)
	s.access.Store(!c.AccessLogDisabled || canaryObs.Load() != nil)
	s.trust.Store(trust)
	mw := c.Middleware
	s.router.builtin.Store(&mw)
	limit := c.MaxBodySize
	if limit == 0 {
		limit = DefaultMaxBodySize
	}
	s.bodyMax.Store(limit)
	if old := s.static.Swap(st); old != nil {
		old.close()
	}
	s.rewrites.Store(rewrites)
	s.views.Store(newViewCache(c))
	s.sessions.Store(newSessionManager(s.name, c))
	return nil
}

func (s *Server) update(f func(c *ServerConfig)) {
	c := s.Config()
	f(&c)
	if err := s.SetConfig(c); err != nil {
		panic(err)
	}
}

// SetPort makes the server listen for plain HTTP on every given port, on all
// interfaces. It replaces addresses set before.
func (s *Server) SetPort(ports ...int) {
	s.update(func(c *ServerConfig) { c.Addr = portAddrs(ports) })
}

// SetAddr makes the server listen for plain HTTP on the given addresses, such
// as "127.0.0.1:8199" or ":0". It replaces addresses set before.
func (s *Server) SetAddr(addrs ...string) {
	s.update(func(c *ServerConfig) { c.Addr = append([]string(nil), addrs...) })
}

// EnableHTTPS serves HTTPS (HTTP/1.1 and HTTP/2) with the given PEM files on
// the addresses set by SetHTTPSPort or SetHTTPSAddr.
func (s *Server) EnableHTTPS(certFile, keyFile string) {
	s.update(func(c *ServerConfig) { c.HTTPSCertFile, c.HTTPSKeyFile = certFile, keyFile })
}

// SetHTTPSPort makes the server listen for HTTPS on every given port.
func (s *Server) SetHTTPSPort(ports ...int) {
	s.update(func(c *ServerConfig) { c.HTTPSAddr = portAddrs(ports) })
}

// SetHTTPSAddr makes the server listen for HTTPS on the given addresses.
func (s *Server) SetHTTPSAddr(addrs ...string) {
	s.update(func(c *ServerConfig) { c.HTTPSAddr = append([]string(nil), addrs...) })
}

// SetServerRoot serves the static files below dir for requests no route
// matches. It panics if dir cannot be opened, as a registration does.
func (s *Server) SetServerRoot(dir string) {
	s.update(func(c *ServerConfig) { c.ServerRoot = dir })
}

// AddSearchPath serves the static files below dir too, after ServerRoot
// and the search paths added before; see ServerConfig.SearchPaths. It
// panics if dir cannot be opened, as a registration does.
func (s *Server) AddSearchPath(dir string) {
	s.update(func(c *ServerConfig) { c.SearchPaths = append(slices.Clone(c.SearchPaths), dir) })
}

// AddStaticPath serves the static files below dir under the URL prefix
// ("/static"); see ServerConfig.StaticPaths. The rules of ServerRoot
// hold: no path leaves dir, and dotfiles are not served unless
// ServeDotFiles is set. It panics if prefix is not a clean absolute path
// or dir cannot be opened, as a registration does.
func (s *Server) AddStaticPath(prefix, dir string) {
	s.update(func(c *ServerConfig) {
		c.StaticPaths = append(slices.Clone(c.StaticPaths), StaticPath{Prefix: prefix, Path: dir})
	})
}

// SetIndexFiles sets the files tried, in order, for a request naming a
// directory; see ServerConfig.IndexFiles.
func (s *Server) SetIndexFiles(names []string) {
	s.update(func(c *ServerConfig) { c.IndexFiles = slices.Clone(names) })
}

// SetIndexFolder is SetDirectoryListing, under GoFrame's name.
func (s *Server) SetIndexFolder(on bool) { s.SetDirectoryListing(on) }

// SetRewrite serves requests for the path uri as if they were for target,
// before routing; see ServerConfig.Rewrites. It panics if either is not a
// path starting with "/" or target has a query, as a registration does.
func (s *Server) SetRewrite(uri, target string) {
	s.SetRewriteMap(map[string]string{uri: target})
}

// SetRewriteMap adds the rewrites of m, each as SetRewrite does.
func (s *Server) SetRewriteMap(m map[string]string) {
	s.update(func(c *ServerConfig) {
		rw := maps.Clone(c.Rewrites)
		if rw == nil {
			rw = make(map[string]string, len(m))
		}
		maps.Copy(rw, m)
		c.Rewrites = rw
	})
}

// checkRewrites checks the rewrites of a configuration and returns the
// map the request path reads: a copy, or nil when there is none.
func checkRewrites(m map[string]string) (*map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for from, to := range m {
		if !strings.HasPrefix(from, "/") || !strings.HasPrefix(to, "/") || strings.ContainsAny(to, "?#") {
			return nil, fmt.Errorf("baton: rewrite %q to %q: want two paths starting with /, the target without a query", from, to)
		}
	}
	rw := maps.Clone(m)
	return &rw, nil
}

// SetDirectoryListing turns the listing of directories without an index
// file on or off (off by default).
func (s *Server) SetDirectoryListing(on bool) {
	s.update(func(c *ServerConfig) { c.DirectoryListing = on })
}

// SetLogger sets the logger for the error and access logs.
func (s *Server) SetLogger(l *slog.Logger) {
	s.update(func(c *ServerConfig) { c.Logger = l })
}

// SetAccessLogEnabled turns the access log on or off (on by default).
func (s *Server) SetAccessLogEnabled(on bool) {
	s.update(func(c *ServerConfig) { c.AccessLogDisabled = !on })
}

// SetMaxBodySize sets the largest request body accepted; see
// ServerConfig.MaxBodySize.
func (s *Server) SetMaxBodySize(n int64) {
	s.update(func(c *ServerConfig) { c.MaxBodySize = n })
}

// SetDrainTimeout sets how long a graceful shutdown or drain may take.
func (s *Server) SetDrainTimeout(d time.Duration) {
	s.update(func(c *ServerConfig) { c.DrainTimeout = d })
}

func portAddrs(ports []int) []string {
	addrs := make([]string, len(ports))
	for i, p := range ports {
		addrs[i] = ":" + strconv.Itoa(p)
	}
	return addrs
}

func (s *Server) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateRunning
}

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.logp.Load() }

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
