package baton

import (
	"fmt"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
)

// HookName names a point of the request path where hook handlers run;
// see Server.BindHookHandler.
type HookName string

// The hook points, in the order a request passes them.
const (
	// HookBeforeServe runs after routing, before the handler chain.
	HookBeforeServe HookName = "HOOK_BEFORE_SERVE"
	// HookAfterServe runs after the handler chain.
	HookAfterServe HookName = "HOOK_AFTER_SERVE"
	// HookBeforeOutput runs before the response is sent: headers, the
	// status and the buffered body can still change.
	HookBeforeOutput HookName = "HOOK_BEFORE_OUTPUT"
	// HookAfterOutput runs after the response is sent.
	HookAfterOutput HookName = "HOOK_AFTER_OUTPUT"
)

// hookPoints are the hook names, by their index in hookSet.hooks.
var hookPoints = [...]HookName{HookBeforeServe, HookAfterServe, HookBeforeOutput, HookAfterOutput}

const (
	hookBeforeServe = iota
	hookAfterServe
	hookBeforeOutput
	hookAfterOutput
)

// hookSet is what a server runs besides the handler chain: its hooks and
// its status handlers. It is never changed once stored; a registration
// stores a changed copy, so that requests read it without a lock.
type hookSet struct {
	hooks  [len(hookPoints)][]hook
	status map[int][]HandlerFunc
}

type hook struct {
	p pathPattern
	h HandlerFunc
}

func (hs *hookSet) clone() *hookSet {
	c := &hookSet{status: make(map[int][]HandlerFunc)}
	if hs == nil {
		return c
	}
	for i := range hs.hooks {
		c.hooks[i] = hs.hooks[i][:len(hs.hooks[i]):len(hs.hooks[i])]
	}
	for k, v := range hs.status {
		c.status[k] = v[:len(v):len(v)]
	}
	return c
}

// updateHooks stores f applied to a copy of the server's hook set.
func (s *Server) updateHooks(f func(*hookSet)) {
	s.router.mu.Lock()
	defer s.router.mu.Unlock()
	hs := s.hooks.Load().clone()
	f(hs)
	s.hooks.Store(hs)
}

// BindHookHandler registers h to run at the hook point for the requests
// whose path (and method, if the pattern names any) matches pattern:
// "/*any" or "/api/*" (a trailing * matches the rest of the path,
// including nothing), "/user/:id" or "/user/{id}" (one segment). Several
// hooks of a point run in the order of registration. A hook sees the
// path parameters of the route the request matched.
//
// In a hook, Exit ends that hook alone, ExitHook also skips the hooks of
// the same point still to run, and ExitAll ends the handler chain and
// every hook still to run. A hook that panics answers a bare 500, as a
// handler does, logs the stack, and ends the hooks still to run. Hooks
// run for every request the pattern matches, routed or not (a 404 or a
// 405 included). Registration is safe while the server serves; a
// malformed pattern, a nil handler or an unknown hook name panics
// naming the registration. A server with no hook pays nothing for the
// feature.
func (s *Server) BindHookHandler(pattern string, hook HookName, h HandlerFunc) {
	s.bindHook("", pattern, hook, h, callSite())
}

// BindHookHandlerByMap registers each handler of m at its hook point for
// pattern, in the order of the hook points; see BindHookHandler.
func (s *Server) BindHookHandlerByMap(pattern string, m map[HookName]HandlerFunc) {
	site := callSite()
	for name := range m {
		if hookIndex(name) < 0 {
			panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf("unknown hook %q", name)})
		}
	}
	for _, name := range hookPoints {
		if h, ok := m[name]; ok {
			s.bindHook("", pattern, name, h, site)
		}
	}
}

// Hook registers h at the hook point for pattern, relative to the
// group's prefix, and returns the group; see Server.BindHookHandler.
func (g *RouterGroup) Hook(pattern string, hook HookName, h HandlerFunc) *RouterGroup {
	g.s.bindHook(g.prefix, pattern, hook, h, callSite())
	return g
}

func hookIndex(name HookName) int {
	for i, n := range hookPoints {
		if n == name {
			return i
		}
	}
	return -1
}

func (s *Server) bindHook(prefix, pattern string, name HookName, h HandlerFunc, site string) {
	i := hookIndex(name)
	if i < 0 {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf("unknown hook %q", name)})
	}
	if h == nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: "nil hook handler"})
	}
	p, err := parseMatchPattern(pattern)
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: err.Error()})
	}
	if prefix != "" {
		p = p.under(prefix)
	}
	s.updateHooks(func(hs *hookSet) { hs.hooks[i] = append(hs.hooks[i], hook{p: p, h: h}) })
}

// BindStatusHandler registers h to run when a response is about to be
// sent with the given status: the router's 404 or 405, or a status a
// handler set. h runs after the HookBeforeOutput hooks, with the buffer
// seen empty: what it writes replaces the body, and if it writes nothing
// the body stays as it was. The status stays unless h sets another, and h
// may set headers. Several handlers of a status run in the order of
// registration; ExitAll, ExitHook or a panic in one skips the rest. A response already sent
// (flushed or streamed) is not given to status handlers, and a status
// handler that panics answers a bare 500 and logs the stack, as a handler
// does.
//
// Status handlers run for statuses other than 200; status must be from
// 100 to 599 and not 200, and h not nil, or BindStatusHandler panics.
// Registration is safe while the server serves.
func (s *Server) BindStatusHandler(status int, h HandlerFunc) {
	s.bindStatus(status, h, callSite())
}

// BindStatusHandlerByMap registers each handler of m for its status, in
// the order of the statuses; see BindStatusHandler.
func (s *Server) BindStatusHandlerByMap(m map[int]HandlerFunc) {
	site := callSite()
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	for i := 1; i < len(codes); i++ {
		for j := i; j > 0 && codes[j] < codes[j-1]; j-- {
			codes[j], codes[j-1] = codes[j-1], codes[j]
		}
	}
	for _, c := range codes {
		s.bindStatus(c, m[c], site)
	}
}

func (s *Server) bindStatus(status int, h HandlerFunc, site string) {
	if status < 100 || status > 599 || status == http.StatusOK {
		panic(fmt.Sprintf("baton: BindStatusHandler(%d) at %s: status must be from 100 to 599 and not 200", status, site))
	}
	if h == nil {
		panic(fmt.Sprintf("baton: BindStatusHandler(%d) at %s: nil handler", status, site))
	}
	s.updateHooks(func(hs *hookSet) { hs.status[status] = append(hs.status[status], h) })
}

// ExitAll stops the handler chain as Exit does, and also every hook of
// the request still to run. Status handlers still run for the response;
// ExitAll in one of them skips the others.
func (r *Request) ExitAll() {
	r.Middleware.exitAll = true
	panic(exitSignal{})
}

// ExitHook ends the current hook and skips the hooks of the same hook
// point still to run; the request goes on. Outside a hook it is Exit.
func (r *Request) ExitHook() {
	r.Middleware.exitHook = true
	panic(exitSignal{})
}

// runHooks runs the hooks of point i whose pattern matches r, until one
// ends them.
func (r *Request) runHooks(hs *hookSet, i int) {
	list := hs.hooks[i]
	if len(list) == 0 || r.Middleware.exitAll {
		return
	}
	p := hookPath(r.URL.Path)
	for k := range list {
		if !list[k].p.match(r.Method, p) {
			continue
		}
		if r.callHook(list[k].h) {
			return
		}
	}
}

// hookPath returns the path hooks are matched against: cleaned, so that
// "/a/../admin" cannot pass a hook of "/admin/*" by its spelling.
func hookPath(p string) string {
	if strings.Contains(p, "//") || strings.Contains(p, "/.") {
		c := path.Clean(p)
		if strings.HasSuffix(p, "/") && c != "/" {
			c += "/"
		}
		return c
	}
	return p
}

// callHook runs a hook or status handler and reports whether those still
// to run are to be skipped: after ExitHook, ExitAll or a panic.
func (r *Request) callHook(h HandlerFunc) (stop bool) {
	r.Middleware.exitHook = false
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if _, ok := p.(exitSignal); ok {
			if r.Middleware.exitAll {
				r.exited = true
				stop = true
			} else if r.Middleware.exitHook {
				r.Middleware.exitHook = false
				stop = true
			}
			return
		}
		// A stack of this panic, not of one the chain had before.
		r.panicStack = debug.Stack()
		r.Server.recovered(r, p)
		r.Middleware.exitAll, r.exited = true, true
		stop = true
	}()
	h(r)
	return false
}

// beforeServe runs the HookBeforeServe hooks and reports whether the
// handler chain is to run.
func (r *Request) beforeServe(hs *hookSet) bool {
	r.runHooks(hs, hookBeforeServe)
	return !r.Middleware.exitAll
}

// beforeOutput runs what comes between the handler chain and the
// response: the HookAfterServe hooks (unless the chain panicked), the
// HookBeforeOutput hooks and the status handlers.
func (r *Request) beforeOutput(hs *hookSet, served bool) {
	if served {
		r.runHooks(hs, hookAfterServe)
	}
	r.runHooks(hs, hookBeforeOutput)
	w := &r.resp
	if len(hs.status) == 0 || w.status == 0 || w.committed || w.abort {
		return
	}
	list := hs.status[w.status]
	if len(list) == 0 {
		return
	}
	// The handlers see an empty buffer that does not share the old body's
	// bytes: what they write replaces it, and nothing written keeps it.
	old := w.buf
	w.buf = old[len(old):len(old)]
	for _, h := range list {
		if r.callHook(h) {
			break
		}
	}
	switch {
	case w.committed:
		// The handler flushed: what was written is sent.
	case len(w.buf) == 0:
		w.buf = old
	default:
		w.buf = append(old[:0], w.buf...)
	}
}

// afterOutput runs the HookAfterOutput hooks.
func (r *Request) afterOutput(hs *hookSet) { r.runHooks(hs, hookAfterOutput) }

// pathPattern matches request paths against a hook or middleware
// pattern.
type pathPattern struct {
	methods []string // nil for all
	segs    []string // of the path after its leading '/'
}

// parseMatchPattern parses a pattern of BindHookHandler or
// BindMiddleware: an optional method list and a path of static
// segments, :name or {name} segments, and a trailing *name or *.
func parseMatchPattern(pattern string) (pathPattern, error) {
	methods, p, err := parsePattern(pattern)
	if err != nil {
		return pathPattern{}, err
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "*") && i != len(segs)-1 {
			return pathPattern{}, fmt.Errorf("catch-all %q must end the path", s)
		}
		if strings.HasPrefix(s, ":") && len(s) == 1 {
			return pathPattern{}, fmt.Errorf("parameter at segment %d has no name", i+1)
		}
		if strings.ContainsAny(s, ":*") && !strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "*") {
			return pathPattern{}, fmt.Errorf("segment %q: a parameter or catch-all must be the whole segment", s)
		}
	}
	return pathPattern{methods: methods, segs: segs}, nil
}

// under returns p below a group's prefix.
func (p pathPattern) under(prefix string) pathPattern {
	pre := strings.Split(strings.Trim(prefix, "/"), "/")
	if len(p.segs) == 1 && p.segs[0] == "" {
		// The group's root: "/" under "/api" is "/api".
		return pathPattern{methods: p.methods, segs: pre}
	}
	return pathPattern{methods: p.methods, segs: append(pre[:len(pre):len(pre)], p.segs...)}
}

// match reports whether method and path (which starts with '/') match p.
func (p *pathPattern) match(method, path string) bool {
	if p.methods != nil && !contains(p.methods, method) {
		return false
	}
	rest := path[1:]
	ended := false
	for _, seg := range p.segs {
		if len(seg) > 0 && seg[0] == '*' {
			return true
		}
		if ended {
			return false
		}
		cur := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			cur, rest = rest[:j], rest[j+1:]
		} else {
			rest, ended = "", true
		}
		if len(seg) > 0 && seg[0] == ':' {
			if cur == "" {
				return false
			}
		} else if cur != seg {
			return false
		}
	}
	return ended
}
