package baton

import (
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/julienschmidt/httprouter"
)

// HandlerFunc handles a request. It serves as both handler and middleware:
// a middleware calls r.Middleware.Next() to run the rest of the chain, and
// its code after Next runs once the handler has returned.
type HandlerFunc func(r *Request)

// allMethods are the methods a pattern without a method prefix answers.
var allMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// route is one registration: a pattern bound to a handler in a group.
type route struct {
	pattern string // as the user wrote it, with the group prefix
	path    string // ":name" and "*name" segments, "{name}" inside one
	segs    []segment
	methods []string
	targets []string // the methods it is in the tree for
	site    string   // file:line of the registration
	group   *RouterGroup
	handler HandlerFunc
}

// router checks registrations and builds the tree requests are served
// from: httprouter's while it can hold every route, else baton's own
// (tree.go), which also holds a static segment beside a parameter and
// parameters inside a segment.
//
// The serving tree is built in one go at the first request, and built
// anew for a route registered after that, then swapped in: requests never
// see a tree being changed. Built in one go, its nodes, the handlers and
// the chains sit together in memory rather than among the garbage of
// registration, which keeps a lookup in fewer cache lines.
type router struct {
	s        *Server
	mu       sync.Mutex
	root     *RouterGroup
	routes   []*route
	byMethod map[string]map[string]*route // method -> shape of the path -> route
	// reg holds every route while httprouter can hold them all: it is
	// how register learns that it cannot. From the first route it
	// refuses (or one with a parameter inside a segment), own is set, reg
	// is dropped, and the serving table is baton's own tree. It is
	// dropped too once the serving tree is built, and made again from
	// routes for a route registered after that.
	reg  *httprouter.Router
	own  bool
	tree atomic.Pointer[table]
	dev  httprouter.Handle // development mode's own requests

	builtin atomic.Pointer[MiddlewareConfig] // ServerConfig.Middleware, set by setConfig

	notFound *route // unmatched requests: static files, then 404
	notAllow *route // 405
	options  *route // OPTIONS the router answers, through the server's middleware

	perRoute []func(pattern string) HandlerFunc // UseRoute's
	enabled  map[string]bool                    // "metrics", "tracing", "pprof" once on (config_observe.go)

	api []apiOperation // the typed handlers, for the OpenAPI document
}

func newRouter(s *Server) *router {
	rt := &router{s: s, byMethod: make(map[string]map[string]*route), reg: httprouter.New()}
	rt.root = &RouterGroup{s: s}
	rt.notFound = &route{pattern: "(not found)", group: rt.root, handler: serveNotFound}
	rt.notAllow = &route{pattern: "(method not allowed)", group: rt.root, handler: func(r *Request) {
		r.Response.WriteStatus(http.StatusMethodNotAllowed)
	}}
	// The router sets Allow; the answer is a 200 with no body, unless the
	// server's middleware (CORS, for a preflight) answers otherwise.
	rt.options = &route{pattern: "(options)", group: rt.root, handler: func(*Request) {}}
	return rt
}

func serveNotFound(r *Request) {
	if st := r.Server.static.Load(); st != nil && st.serve(r) {
		return
	}
	r.Response.WriteStatus(http.StatusNotFound)
}

// compiled reports whether the serving tree exists, after which Use is
// refused.
func (rt *router) compiled() bool { return rt.tree.Load() != nil }

// compile returns the serving tree, building it at the first request.
func (rt *router) compile() *table {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if t := rt.tree.Load(); t != nil {
		return t // another first request built it meanwhile
	}
	t := rt.build()
	rt.tree.Store(t)
	// The serving tree holds the routes now; the registration copy is
	// made again, by probe, only if a route comes after this.
	rt.reg = nil
	return t
}

// table is what requests are served from: httprouter when it can hold
// every route, which is most tables, else baton's own tree (tree.go).
// Exactly one of hr and own is set.
type table struct {
	hr  *httprouter.Router
	own *tree
}

// build makes a serving tree of every route, each with its chain of the
// middleware of its groups. rt.mu must be held.
func (rt *router) build() *table {
	routes := append(rt.routes[:len(rt.routes):len(rt.routes)], rt.notFound, rt.notAllow, rt.options)
	builtin := rt.builtinMiddleware() // ServerConfig.Middleware, ahead of Use's
	n := 0
	for _, r := range routes {
		n += len(rt.perRoute) + len(builtin) + r.group.chainLen() + 1
	}
	chains := make([]HandlerFunc, 0, n)
	serves := make([]httprouter.Handle, len(routes))
	for i, r := range routes {
		start := len(chains)
		// UseRoute's outermost (metrics and tracing see what the
		// built-in middleware answers), then ServerConfig.Middleware.
		for _, f := range rt.perRoute {
			if h := f(r.pattern); h != nil {
				chains = append(chains, h)
			}
		}
		chains = append(chains, builtin...)
		chains = r.group.appendChain(chains, r.handler)
		serves[i] = rt.s.handler(chains[start:len(chains):len(chains)])
	}
	notFound, notAllow, options := serves[len(routes)-3], serves[len(routes)-2], serves[len(routes)-1]
	nf := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		notFound(w, req, nil)
	})
	na := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		notAllow(w, req, nil)
	})
	// Without server middleware the router answers OPTIONS by itself, as
	// it always has; with it, the middleware sees the request, so that
	// CORS can answer a preflight of a route bound for GET alone.
	var opt http.Handler
	if len(builtin)+rt.root.chainLen() > 0 {
		opt = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			options(w, req, nil)
		})
	}
	if rt.dev == nil {
		rt.dev = rt.s.handler(devChain)
	}
	if rt.own {
		t := newTree()
		for i, r := range rt.routes {
			for _, m := range r.targets {
				t.handle(m, r.segs, serves[i])
			}
		}
		t.notFound, t.notAllowed, t.options = nf, na, opt
		return &table{own: t}
	}
	t := httprouter.New()
	for i, r := range rt.routes {
		for _, m := range r.targets {
			t.Handle(m, r.path, serves[i])
		}
	}
	t.NotFound, t.MethodNotAllowed, t.GlobalOPTIONS = nf, na, opt
	return &table{hr: t}
}

// RouterGroup is a set of routes sharing a path prefix and middleware.
// Groups nest; a group's middleware runs after its parent's. A RouterGroup
// is configured during registration, before the server starts.
type RouterGroup struct {
	s      *Server
	parent *RouterGroup
	prefix string
	mw     []HandlerFunc
	result ResultWriter // nil: the parent's (api_result.go)
}

// chainLen returns the number of middleware of g and its ancestors.
func (g *RouterGroup) chainLen() int {
	n := 0
	for ; g != nil; g = g.parent {
		n += len(g.mw)
	}
	return n
}

// appendChain appends to c the middleware of g and its ancestors,
// outermost first, followed by h.
func (g *RouterGroup) appendChain(c []HandlerFunc, h HandlerFunc) []HandlerFunc {
	var groups []*RouterGroup
	for x := g; x != nil; x = x.parent {
		groups = append(groups, x)
	}
	for i := len(groups) - 1; i >= 0; i-- {
		c = append(c, groups[i].mw...)
	}
	return append(c, h)
}

// Use adds middleware to the group: native HandlerFuncs that call
// r.Middleware.Next(), or standard ones converted by WrapMiddleware. It
// applies to every route of the group, registered before or after.
func (g *RouterGroup) Use(mw ...HandlerFunc) {
	g.s.router.mu.Lock()
	defer g.s.router.mu.Unlock()
	if g.s.router.compiled() {
		panic(fmt.Sprintf("baton: Use at %s after the server started serving", callSite()))
	}
	g.mw = append(g.mw, mw...)
}

// Group creates a sub-group with the given path prefix, calls f with it if f
// is not nil, and returns it.
func (g *RouterGroup) Group(prefix string, f func(*RouterGroup)) *RouterGroup {
	p := ""
	if prefix != "" && prefix != "/" {
		methods, path, err := parsePattern(prefix)
		if err != nil || methods != nil {
			if err == nil {
				err = fmt.Errorf("a group prefix takes no method")
			}
			panic(&RouteError{Pattern: prefix, Site: callSite(), Reason: err.Error()})
		}
		p = strings.TrimSuffix(path, "/")
	}
	sub := &RouterGroup{s: g.s, parent: g, prefix: joinPath(g.prefix, p)}
	if f != nil {
		f(sub)
	}
	return sub
}

// BindHandler registers h for pattern, relative to the group's prefix. A
// pattern is an optional method list and a path: "/user/:id", "/user/{id}",
// "/page/{id}.html", "GET:/static/*path", "GET,POST:/form". Without a
// method it answers every method; GET also answers HEAD. Static segments,
// parameters and catch-alls may share a position, the most specific
// winning ("/user/new" before "/user/:id"). A pattern that matches the
// same paths as one already registered for a method panics, naming both
// patterns and where each was registered.
//
// h is a HandlerFunc or a func(*Request), or a typed handler,
// func(context.Context, *XReq) (*XRes, error) (see Bind): then the
// pattern gives the route, its methods those of XReq's Meta if it names
// none, and a Meta path, if any, must be the pattern's path. A value of
// another type panics naming it.
func (g *RouterGroup) BindHandler(pattern string, h any) {
	g.bindHandler(pattern, h, callSite())
}

// bindHandler registers a handler or a typed handler.
func (g *RouterGroup) bindHandler(pattern string, h any, site string) {
	if f, ok := toHandler(h); ok {
		if err := g.s.router.register(g, pattern, f, site); err != nil {
			panic(err)
		}
		return
	}
	if isTypedFunc(h) {
		g.bindTypedFunc(pattern, h, site)
		return
	}
	panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
		"handler of type %s: want a baton.HandlerFunc, a func(*baton.Request) or a func(context.Context, *XReq) (*XRes, error)", typeName(h))})
}

// Handle registers a standard http.Handler for pattern. Path parameters are
// available to it through (*http.Request).PathValue.
func (g *RouterGroup) Handle(pattern string, h http.Handler) {
	if err := g.s.router.register(g, pattern, stdHandler(h), callSite()); err != nil {
		panic(err)
	}
}

func stdHandler(h http.Handler) HandlerFunc {
	return func(r *Request) {
		for _, p := range r.params {
			r.Request.SetPathValue(p.Key, p.Value)
		}
		h.ServeHTTP(r.Response.Writer(), r.Request)
	}
}

// BindHandler registers h on the server's root group; see
// RouterGroup.BindHandler.
func (s *Server) BindHandler(pattern string, h any) {
	s.router.root.bindHandler(pattern, h, callSite())
}

// Handle registers a standard http.Handler on the server's root group; see
// RouterGroup.Handle.
func (s *Server) Handle(pattern string, h http.Handler) {
	if err := s.router.register(s.router.root, pattern, stdHandler(h), callSite()); err != nil {
		panic(err)
	}
}

// Use adds middleware that runs for every request of the server, including
// those no route matches.
func (s *Server) Use(mw ...HandlerFunc) { s.router.root.Use(mw...) }

// Group creates a route group with the given prefix on the server; see
// RouterGroup.Group.
func (s *Server) Group(prefix string, f func(*RouterGroup)) *RouterGroup {
	return s.router.root.Group(prefix, f)
}

// RouteError describes a registration that cannot be accepted. BindHandler
// and Handle panic with it; it names both patterns of a conflict and where
// each was registered.
type RouteError struct {
	Pattern  string // the pattern being registered
	Site     string // file:line of its registration
	Existing string // the pattern it conflicts with, if any
	ExSite   string // file:line of that registration
	Reason   string // why the two cannot be held together, or what is malformed
}

// Error implements error.
func (e *RouteError) Error() string {
	if e.Existing == "" {
		return fmt.Sprintf("baton: route %q (%s): %s", e.Pattern, e.Site, e.Reason)
	}
	return fmt.Sprintf("baton: route %q (%s) conflicts with %q (%s): %s",
		e.Pattern, e.Site, e.Existing, e.ExSite, e.Reason)
}

// parsePattern splits "GET,POST:/a/{b}" into methods and a path in which a
// {name} filling its segment is written :name and one inside a segment
// ("{id}.html") stays as it is. It reports an error for an unknown method,
// a path not starting with "/", or a malformed {name}; parseSegments
// checks the rest.
func parsePattern(pattern string) (methods []string, path string, err error) {
	path = pattern
	if i := strings.Index(pattern, ":/"); i > 0 && !strings.Contains(pattern[:i], "/") {
		for _, m := range strings.Split(pattern[:i], ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" || strings.IndexFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0 {
				return nil, "", fmt.Errorf("invalid method %q", m)
			}
			if m == "ALL" {
				methods = nil
				break
			}
			if !contains(methods, m) {
				methods = append(methods, m)
			}
		}
		path = pattern[i+1:]
	}
	if path == "" || path[0] != '/' {
		return nil, "", fmt.Errorf("path must begin with '/'")
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch c {
		case '{':
			end := strings.IndexByte(path[i:], '}')
			if end < 0 {
				return nil, "", fmt.Errorf("unclosed '{' at offset %d", i)
			}
			name := path[i+1 : i+end]
			if name == "" || strings.ContainsAny(name, "{/:*") {
				return nil, "", fmt.Errorf("invalid parameter name %q", name)
			}
			if n := i + end + 1; path[i-1] == '/' && (n == len(path) || path[n] == '/') {
				b.WriteByte(':')
				b.WriteString(name)
			} else {
				b.WriteString(path[i : i+end+1])
			}
			i += end
		case '}':
			return nil, "", fmt.Errorf("unmatched '}' at offset %d", i)
		default:
			b.WriteByte(c)
		}
	}
	return methods, b.String(), nil
}

// shape returns the path with parameter names erased, so that "/u/:id" and
// "/u/:name" compare equal, and "/{a}.html" and "/{b}.html".
func shape(path string) string {
	if !strings.ContainsAny(path, ":*{") {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		b.WriteByte(c)
		switch c {
		case ':', '*':
			for i+1 < len(path) && path[i+1] != '/' {
				i++
			}
		case '{':
			for i+1 < len(path) && path[i+1] != '}' {
				i++
			}
		}
	}
	return b.String()
}

// register is the error-returning core of BindHandler and Handle.
func (rt *router) register(g *RouterGroup, pattern string, h HandlerFunc, site string) error {
	if h == nil {
		return &RouteError{Pattern: pattern, Site: site, Reason: "nil handler"}
	}
	methods, path, err := parsePattern(pattern)
	if err != nil {
		return &RouteError{Pattern: pattern, Site: site, Reason: err.Error()}
	}
	full := joinPath(g.prefix, path)
	segs, err := parseSegments(full)
	if err != nil {
		return &RouteError{Pattern: pattern, Site: site, Reason: err.Error()}
	}
	sh := shape(full)
	shown := full
	if len(methods) > 0 {
		shown = strings.Join(methods, ",") + ":" + full
	}
	r := &route{pattern: shown, path: full, segs: segs, methods: methods, site: site, group: g, handler: h}
	targets := methods
	if len(targets) == 0 {
		targets = allMethods
	}
	implicitHead := false
	if len(methods) > 0 && contains(methods, http.MethodGet) && !contains(methods, http.MethodHead) {
		targets = append(append([]string(nil), targets...), http.MethodHead)
		implicitHead = true
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	// Check every method first so that a failed registration leaves the
	// router as it was.
	for _, m := range targets {
		if implicitHead && m == http.MethodHead {
			if old := rt.byMethod[m][sh]; old != nil {
				continue // an explicit HEAD route wins over the implicit one
			}
		}
		if err := rt.check(m, r); err != nil {
			return err
		}
	}
	for _, m := range targets {
		if implicitHead && m == http.MethodHead && rt.byMethod[m][sh] != nil {
			continue
		}
		rt.probe(m, r)
		r.targets = append(r.targets, m)
		if rt.byMethod[m] == nil {
			rt.byMethod[m] = make(map[string]*route)
		}
		rt.byMethod[m][sh] = r
	}
	rt.routes = append(rt.routes, r)
	if rt.compiled() {
		// Requests are being served: they go on with the tree they have
		// until the new one is swapped in.
		rt.tree.Store(rt.build())
	}
	return nil
}

// check reports whether r can join the method's routes. Two routes
// conflict only when they have the same shape, parameter names aside:
// every request one matches the other matches too. Any other pair is held,
// the more specific segment winning (tree.go).
func (rt *router) check(method string, r *route) error {
	if old := rt.byMethod[method][shape(r.path)]; old != nil {
		reason := "both match the same paths"
		if old.path != r.path {
			reason = "same path with different parameter names"
		}
		return &RouteError{Pattern: r.pattern, Site: r.site, Existing: old.pattern, ExSite: old.site,
			Reason: reason + " for " + method}
	}
	return nil
}

// probe adds r to rt.reg while httprouter holds every route; from the
// first route it cannot hold, the table is served from baton's own tree.
// r has passed check, so httprouter's panic means only that it cannot
// hold the pair (a static segment beside a parameter, say), not that the
// pattern is wrong.
func (rt *router) probe(method string, r *route) {
	if rt.own {
		return
	}
	for _, s := range r.segs {
		if s.kind == segParam && s.key != ":" {
			rt.own, rt.reg = true, nil // a parameter inside a segment
			return
		}
	}
	defer func() {
		if p := recover(); p != nil {
			rt.own, rt.reg = true, nil
		}
	}()
	if rt.reg == nil {
		// A route after the first request: the routes so far go into a
		// new registration copy first.
		rt.reg = httprouter.New()
		for _, old := range rt.routes {
			for _, m := range old.targets {
				rt.reg.Handle(m, old.path, nopHandle)
			}
		}
	}
	rt.reg.Handle(method, r.path, nopHandle)
}

func nopHandle(http.ResponseWriter, *http.Request, httprouter.Params) {}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinPath(prefix, path string) string {
	if prefix == "" {
		return path
	}
	if path == "" || path == "/" {
		if strings.HasSuffix(path, "/") && !strings.HasSuffix(prefix, "/") {
			return prefix + "/"
		}
		return prefix
	}
	return strings.TrimSuffix(prefix, "/") + "/" + strings.TrimPrefix(path, "/")
}

// pkgDir is the directory of this package's source, to skip its frames when
// naming the caller of a registration.
var pkgDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// callSite returns file:line of the first caller outside this package's
// non-test files.
func callSite() string {
	var pcs [16]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if filepath.Dir(f.File) != pkgDir || strings.HasSuffix(f.File, "_test.go") {
			return filepath.Base(f.File) + ":" + fmt.Sprint(f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// WrapMiddleware converts a standard func(http.Handler) http.Handler
// middleware into a HandlerFunc for Use, so the ecosystem's middleware plugs
// in unchanged. The rest of the chain runs as its next handler; if the
// middleware wraps the ResponseWriter (to compress, say), what the chain
// writes goes through that wrapper.
func WrapMiddleware(mw func(http.Handler) http.Handler) HandlerFunc {
	return func(r *Request) {
		outer := r.Response
		sw := outer.Writer()
		next := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.Request = req
			if w == sw {
				r.Middleware.Next()
				return
			}
			inner := &Response{w: w, req: r}
			r.Response = inner
			defer func() { r.Response = outer }()
			r.Middleware.Next()
			inner.finish()
		})
		mw(next).ServeHTTP(sw, r.Request)
	}
}
