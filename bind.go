package baton

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
)

// The binding styles of GoFrame on top of BindHandler: one method per
// HTTP verb, a map of patterns, controllers whose methods become routes
// (BindObject, REST), and middleware for a pattern. Every one of them
// registers through router.register, so a conflict panics naming both
// patterns and where each was registered, as BindHandler does.

// toHandler returns v as a HandlerFunc if it has the handler shape:
// a HandlerFunc or a func(*Request).
func toHandler(v any) (HandlerFunc, bool) {
	switch h := v.(type) {
	case HandlerFunc:
		return h, true
	case func(*Request):
		return h, true
	}
	return nil, false
}

// bind registers v for pattern in g: a handler, or a controller object
// whose methods are bound as BindObject does (only those named in
// methods, if any).
func (g *RouterGroup) bind(method, pattern string, v any, methods []string, site string) {
	if method != "" {
		pattern = method + ":" + pattern
	}
	if h, ok := toHandler(v); ok {
		if len(methods) > 0 {
			panic(&RouteError{Pattern: pattern, Site: site, Reason: "method names are given for a handler, not an object"})
		}
		if err := g.s.router.register(g, pattern, h, site); err != nil {
			panic(err)
		}
		return
	}
	if isTypedFunc(v) {
		if len(methods) > 0 {
			panic(&RouteError{Pattern: pattern, Site: site, Reason: "method names are given for a handler, not an object"})
		}
		g.bindTypedFunc(pattern, v, site)
		return
	}
	if isObject(v) {
		g.bindObject(pattern, v, methods, site)
		return
	}
	panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
		"handler of type %s: want a baton.HandlerFunc, a func(*baton.Request) or a controller object", typeName(v))})
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// isObject reports whether v is a struct or a non-nil pointer to one.
func isObject(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	return rv.Kind() == reflect.Struct
}

// GET registers h for GET (and HEAD) requests to pattern; see ALL.
func (g *RouterGroup) GET(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodGet, pattern, h, methods, callSite())
	return g
}

// POST registers h for POST requests to pattern; see ALL.
func (g *RouterGroup) POST(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodPost, pattern, h, methods, callSite())
	return g
}

// PUT registers h for PUT requests to pattern; see ALL.
func (g *RouterGroup) PUT(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodPut, pattern, h, methods, callSite())
	return g
}

// PATCH registers h for PATCH requests to pattern; see ALL.
func (g *RouterGroup) PATCH(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodPatch, pattern, h, methods, callSite())
	return g
}

// DELETE registers h for DELETE requests to pattern; see ALL.
func (g *RouterGroup) DELETE(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodDelete, pattern, h, methods, callSite())
	return g
}

// HEAD registers h for HEAD requests to pattern; see ALL.
func (g *RouterGroup) HEAD(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodHead, pattern, h, methods, callSite())
	return g
}

// OPTIONS registers h for OPTIONS requests to pattern; see ALL.
func (g *RouterGroup) OPTIONS(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodOptions, pattern, h, methods, callSite())
	return g
}

// CONNECT registers h for CONNECT requests to pattern; see ALL.
func (g *RouterGroup) CONNECT(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodConnect, pattern, h, methods, callSite())
	return g
}

// TRACE registers h for TRACE requests to pattern; see ALL.
func (g *RouterGroup) TRACE(pattern string, h any, methods ...string) *RouterGroup {
	g.bind(http.MethodTrace, pattern, h, methods, callSite())
	return g
}

// ALL registers h for every method at pattern, relative to the group's
// prefix, and returns the group. h is a HandlerFunc or a func(*Request);
// it may also be a controller object, whose methods are bound under
// pattern as Server.BindObject binds them (only the methods named, if
// any are). A value of another type, or a conflict with a route
// registered before, panics naming the registration.
func (g *RouterGroup) ALL(pattern string, h any, methods ...string) *RouterGroup {
	g.bind("", pattern, h, methods, callSite())
	return g
}

// ALLMap registers each handler of m for every method at its pattern, as
// ALL does. Patterns are registered in sorted order, so that a conflict
// panics the same way at every start.
func (g *RouterGroup) ALLMap(m map[string]any) {
	site := callSite()
	for _, p := range sortedKeys(m) {
		g.bind("", p, m[p], nil, site)
	}
}

// Map registers each handler of m at its pattern, which may carry
// methods ("GET:/user" or "/user" for all), as BindHandler does.
// Patterns are registered in sorted order, so that a conflict panics the
// same way at every start.
func (g *RouterGroup) Map(m map[string]any) {
	site := callSite()
	for _, p := range sortedKeys(m) {
		g.bind("", p, m[p], nil, site)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// REST binds the methods of object named after HTTP methods (Get, Post,
// Put, Delete, Patch, Head, Options, Connect, Trace) to those methods at
// pattern, relative to the group's prefix, and returns the group; see
// Server.BindObjectRest.
func (g *RouterGroup) REST(pattern string, object any) *RouterGroup {
	g.bindObjectRest(pattern, object, callSite())
	return g
}

// Middleware adds middleware to the group, as Use does, and returns the
// group.
func (g *RouterGroup) Middleware(mw ...HandlerFunc) *RouterGroup {
	g.Use(mw...)
	return g
}

// BindObject binds the exported methods of object that have the handler
// shape, func(*Request), as routes under pattern, for the methods the
// pattern names (all if none). Each method's name becomes the last path
// segment, in lower case with a '-' before each inner capital: List
// serves pattern+"/list", ShowItem pattern+"/show-item". A pattern that
// holds {.method} gets the name there instead ("/{.method}/item"), and
// {.struct} is replaced by the type's name in the same form. A method
// named Index also serves the pattern itself, unless the pattern holds
// {.method} or {.struct}.
//
// If methods is given (each a name, or names separated by commas), only
// those methods are bound, and a name the object has no handler method
// for panics. Methods of another shape are skipped otherwise.
//
// If object has a method Init(*Request), it runs before each of its bound
// methods, and Shut(*Request) after: Exit or ExitAll in Init skips the
// method and Shut; Exit in the method still runs Shut, ExitAll does not.
// object may be a struct or a pointer to one; a struct is copied once,
// and every request shares that copy, so its fields must be safe for
// concurrent use. An object with no handler method, or a route that
// conflicts, panics naming the registration.
func (s *Server) BindObject(pattern string, object any, methods ...string) {
	s.router.root.bindObject(pattern, object, methods, callSite())
}

// BindObjectMethod binds the one method of object named method at pattern
// (as given, with no name appended unless it holds {.method}); see
// BindObject for Init and Shut.
func (s *Server) BindObjectMethod(pattern string, object any, method string) {
	site := callSite()
	ctl := controllerOf(pattern, object, site)
	name := strings.TrimSpace(method)
	h, ok := ctl.handlers[name]
	if !ok {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf("%s has no method %s(*baton.Request)", ctl.typ, name)})
	}
	p := ctl.pattern(pattern, name)
	if err := s.router.register(s.router.root, p, ctl.wrap(h), site); err != nil {
		panic(err)
	}
}

// BindObjectRest binds the methods of object named after HTTP methods
// (Get, Post, Put, Delete, Patch, Head, Options, Connect, Trace), each to
// its method at pattern: Get serves GET (and HEAD, unless there is a
// Head method), Post serves POST, and so on. Init and Shut run around
// each as BindObject describes. An object with none of these methods, or
// a route that conflicts, panics naming the registration.
func (s *Server) BindObjectRest(pattern string, object any) {
	s.router.root.bindObjectRest(pattern, object, callSite())
}

// BindMiddleware adds middleware that runs for the requests whose path
// (and method, if the pattern names any) matches pattern, such as
// "/api/*" or "GET:/user/:id": a trailing * or *name matches the rest of
// the path, including nothing, and :name or {name} one segment. It runs
// for every request of the server that matches, routed or not, in the
// order of registration among the middleware of Use, before the
// middleware of groups. Like Use, it panics once the server has started
// serving.
func (s *Server) BindMiddleware(pattern string, mw ...HandlerFunc) {
	site := callSite()
	p, err := parseMatchPattern(pattern)
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: err.Error()})
	}
	wrapped := make([]HandlerFunc, 0, len(mw))
	for _, h := range mw {
		if h == nil {
			panic(&RouteError{Pattern: pattern, Site: site, Reason: "nil middleware"})
		}
		wrapped = append(wrapped, func(r *Request) {
			if p.match(r.Method, r.URL.Path) {
				h(r)
				return
			}
			r.Middleware.Next()
		})
	}
	s.Use(wrapped...)
}

// BindMiddlewareDefault adds middleware for every request of the server;
// it is Use under GoFrame's name.
func (s *Server) BindMiddlewareDefault(mw ...HandlerFunc) { s.Use(mw...) }

// controller is an object whose handler methods are being bound.
type controller struct {
	typ        string // the type's name as the pattern's {.struct} gets it
	handlers   map[string]HandlerFunc
	names      []string // of handlers, in the type's method order
	init, shut HandlerFunc
}

// controllerOf collects the handler methods of object, or panics naming
// the registration if object is not a struct or a pointer to one.
func controllerOf(pattern string, object any, site string) *controller {
	if !isObject(object) {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
			"object of type %s: want a struct or a pointer to one", typeName(object))})
	}
	rv := reflect.ValueOf(object)
	if rv.Kind() == reflect.Struct {
		// A copy behind a pointer, so that methods of both receivers are
		// there.
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		rv = p
	}
	rt := rv.Type()
	c := &controller{typ: rt.Elem().Name(), handlers: make(map[string]HandlerFunc)}
	for i := 0; i < rt.NumMethod(); i++ {
		name := rt.Method(i).Name
		h, ok := rv.Method(i).Interface().(func(*Request))
		if !ok {
			continue
		}
		switch name {
		case "Init":
			c.init = h
		case "Shut":
			c.shut = h
		default:
			c.handlers[name] = h
			c.names = append(c.names, name)
		}
	}
	return c
}

// wrap returns h with the controller's Init and Shut around it.
func (c *controller) wrap(h HandlerFunc) HandlerFunc {
	if c.init == nil && c.shut == nil {
		return h
	}
	init, shut := c.init, c.shut
	return func(r *Request) {
		if init != nil {
			init(r) // Exit unwinds from here: neither h nor Shut runs
		}
		if shut == nil {
			h(r)
			return
		}
		r.call(h) // Exit stops h alone, and Shut runs
		if !r.Middleware.exitAll {
			shut(r)
		}
	}
}

// pattern returns the route pattern of the method name under pattern.
func (c *controller) pattern(pattern, name string) string {
	pattern = strings.ReplaceAll(pattern, "{.struct}", nameToURI(c.typ))
	return strings.ReplaceAll(pattern, "{.method}", nameToURI(name))
}

// bindObject is BindObject for a group, with ALL and the verbs.
func (g *RouterGroup) bindObject(pattern string, object any, methods []string, site string) {
	ctl := controllerOf(pattern, object, site)
	names := ctl.names
	if len(methods) > 0 {
		names = nil
		for _, list := range methods {
			for _, n := range strings.Split(list, ",") {
				n = strings.TrimSpace(n)
				if _, ok := ctl.handlers[n]; !ok {
					panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
						"%s has no method %s(*baton.Request)", ctl.typ, n)})
				}
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
			"%s has no exported method of the handler shape func(*baton.Request)", ctl.typ)})
	}
	builtin := strings.Contains(pattern, "{.method}") || strings.Contains(pattern, "{.struct}")
	for _, name := range names {
		h := ctl.wrap(ctl.handlers[name])
		p := ctl.pattern(pattern, name)
		if !strings.Contains(pattern, "{.method}") {
			p = strings.TrimSuffix(p, "/") + "/" + nameToURI(name)
		}
		if err := g.s.router.register(g, p, h, site); err != nil {
			panic(err)
		}
		if name == "Index" && !builtin {
			if err := g.s.router.register(g, pattern, h, site); err != nil {
				panic(err)
			}
		}
	}
}

// restMethods are the HTTP methods REST binds, HEAD before GET so that a
// Head method is not taken for GET's implicit HEAD.
var restMethods = []string{
	http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

func (g *RouterGroup) bindObjectRest(pattern string, object any, site string) {
	ctl := controllerOf(pattern, object, site)
	n := 0
	for _, m := range restMethods {
		name := m[:1] + strings.ToLower(m[1:])
		h, ok := ctl.handlers[name]
		if !ok {
			continue
		}
		n++
		if err := g.s.router.register(g, m+":"+ctl.pattern(pattern, name), ctl.wrap(h), site); err != nil {
			panic(err)
		}
	}
	if n == 0 {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
			"%s has no method named after an HTTP method (Get, Post, ...) of the handler shape func(*baton.Request)", ctl.typ)})
	}
}

// nameToURI turns a Go name into a path segment as GoFrame does by
// default: lower case, with '-' before each capital but the first
// ("ShowItem" is "show-item").
func nameToURI(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
