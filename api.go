package baton

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// Typed API handlers, GoFrame v2's way: a request struct names its route
// in the tags of a Meta field, and a function or method
//
//	func(ctx context.Context, req *XReq) (res *XRes, err error)
//
// serves it. Registration checks the shape, compiles the request's
// binding once (api_bind.go) and wraps the function in a HandlerFunc that
// binds, validates, calls and writes the result (api_result.go).

// Meta marks a struct as the request of a typed handler and carries, in
// its field's tags, what the route is:
//
//	type CreateUserReq struct {
//		baton.Meta `path:"/user" method:"post" tags:"user" summary:"Create a user"`
//		Name string `json:"name" v:"required"`
//	}
//
// The tags are path (relative to the group's prefix), method (one, or
// several separated by commas; none means every method), tags (comma
// separated), summary, description (or dc), and deprecated. Meta holds no
// data and takes no space.
type Meta struct{}

var (
	metaType    = reflect.TypeFor[Meta]()
	ctxType     = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	requestType = reflect.TypeFor[*Request]()
)

// apiMeta is what the Meta field of a request type says.
type apiMeta struct {
	path        string
	methods     []string // upper case; nil for every method
	tags        []string
	summary     string
	description string
	deprecated  bool
}

// metaOf returns the Meta tags of request struct t, and false if t has no
// Meta field (at its top level or in an embedded struct).
func metaOf(t reflect.Type) (apiMeta, bool) {
	f, ok := findMeta(t)
	if !ok {
		return apiMeta{}, false
	}
	m := apiMeta{
		path:        strings.TrimSpace(f.Tag.Get("path")),
		tags:        splitList(f.Tag.Get("tags")),
		summary:     f.Tag.Get("summary"),
		description: f.Tag.Get("description"),
	}
	if m.description == "" {
		m.description = f.Tag.Get("dc")
	}
	if d, ok := f.Tag.Lookup("deprecated"); ok && d != "false" {
		m.deprecated = true
	}
	for _, x := range splitList(f.Tag.Get("method")) {
		x = strings.ToUpper(x)
		if x == "ALL" {
			m.methods = nil
			break
		}
		if !contains(m.methods, x) {
			m.methods = append(m.methods, x)
		}
	}
	return m, true
}

func findMeta(t reflect.Type) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == metaType {
			return f, true
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if m, ok := findMeta(f.Type); ok {
				return m, true
			}
		}
	}
	return reflect.StructField{}, false
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// apiFunc is a function of the typed shape, checked.
type apiFunc struct {
	fn   reflect.Value
	req  reflect.Type // the request struct (not the pointer)
	res  reflect.Type // the response struct, nil if the result is an interface
	meta apiMeta
}

// typedFunc checks that fn has the typed shape and its request a Meta
// field. what names it in an error ("func(...)", "*Ctrl.Create").
func typedFunc(fn reflect.Value, what string) (*apiFunc, error) {
	t := fn.Type()
	want := "want func(context.Context, *XReq) (*XRes, error)"
	if t.Kind() != reflect.Func || t.NumIn() != 2 || t.NumOut() != 2 || t.IsVariadic() {
		return nil, fmt.Errorf("%s has type %s: %s", what, t, want)
	}
	if t.In(0) != ctxType {
		return nil, fmt.Errorf("%s: first parameter is %s, not context.Context: %s", what, t.In(0), want)
	}
	in := t.In(1)
	if in.Kind() != reflect.Pointer || in.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s: second parameter is %s, not a pointer to a struct: %s", what, in, want)
	}
	out := t.Out(0)
	var res reflect.Type
	switch {
	case out.Kind() == reflect.Pointer && out.Elem().Kind() == reflect.Struct:
		res = out.Elem()
	case out.Kind() == reflect.Interface:
	default:
		return nil, fmt.Errorf("%s: first result is %s, not a pointer to a struct: %s", what, out, want)
	}
	if t.Out(1) != errorType {
		return nil, fmt.Errorf("%s: second result is %s, not error: %s", what, t.Out(1), want)
	}
	meta, ok := metaOf(in.Elem())
	if !ok {
		return nil, fmt.Errorf("%s: request type %s has no baton.Meta field (g.Meta) naming its path and method", what, in.Elem())
	}
	return &apiFunc{fn: fn, req: in.Elem(), res: res, meta: meta}, nil
}

// isTypedFunc reports whether v is a func with two parameters, the first
// a context.Context: meant as a typed handler, so a shape error is told
// as such rather than as "not a handler".
func isTypedFunc(v any) bool {
	t := reflect.TypeOf(v)
	return t != nil && t.Kind() == reflect.Func && t.NumIn() >= 1 && t.In(0) == ctxType
}

// apiOperation is a bound typed handler, as the OpenAPI document lists
// it.
type apiOperation struct {
	method, path string // path in OpenAPI form: "/user/{id}"
	meta         apiMeta
	req, res     reflect.Type
}

// Bind registers every exported method of each controller as a typed
// handler at the group's prefix joined with the path of its request's
// Meta, for the Meta's methods. A controller is a value (usually a
// pointer to a struct) whose exported methods all have the shape
//
//	func(ctx context.Context, req *XReq) (res *XRes, err error)
//
// An exported method of another shape, a request without a Meta field, a
// controller without methods, or a route that conflicts with one
// registered before (two operations on one route) panics naming the
// controller's type, the method and the route. The controller is shared
// by every request: its fields must be safe for concurrent use.
func (g *RouterGroup) Bind(controllers ...any) *RouterGroup {
	site := callSite()
	for _, c := range controllers {
		g.bindController(c, site)
	}
	return g
}

func (g *RouterGroup) bindController(c any, site string) {
	if c == nil {
		panic(&RouteError{Pattern: g.prefix, Site: site, Reason: "Bind of a nil controller"})
	}
	v := reflect.ValueOf(c)
	t := v.Type()
	n := 0
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		what := fmt.Sprintf("method %s.%s", t, m.Name)
		fn, err := typedFunc(v.Method(i), what)
		if err != nil {
			panic(&RouteError{Pattern: joinPath(g.prefix, metaPathOf(v.Method(i))), Site: site, Reason: err.Error()})
		}
		if fn.meta.path == "" {
			panic(&RouteError{Pattern: g.prefix, Site: site, Reason: fmt.Sprintf("%s: the Meta of %s has no path tag", what, fn.req)})
		}
		pattern := fn.meta.path
		if len(fn.meta.methods) > 0 {
			pattern = strings.Join(fn.meta.methods, ",") + ":" + pattern
		}
		g.bindTyped(pattern, fn, what, site)
		n++
	}
	if n == 0 {
		panic(&RouteError{Pattern: g.prefix, Site: site, Reason: fmt.Sprintf(
			"controller %s has no exported method func(context.Context, *XReq) (*XRes, error)", t)})
	}
}

// metaPathOf returns the Meta path of a method's request, if it has one,
// to name the route in a shape error.
func metaPathOf(fn reflect.Value) string {
	t := fn.Type()
	if t.NumIn() == 2 && t.In(1).Kind() == reflect.Pointer && t.In(1).Elem().Kind() == reflect.Struct {
		if m, ok := metaOf(t.In(1).Elem()); ok {
			return m.path
		}
	}
	return ""
}

// bindTypedFunc registers the typed function h at pattern, whose path
// wins over an empty Meta path and must agree with one that is not.
func (g *RouterGroup) bindTypedFunc(pattern string, h any, site string) {
	fn, err := typedFunc(reflect.ValueOf(h), fmt.Sprintf("handler %T", h))
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: err.Error()})
	}
	methods, path, err := parsePattern(pattern)
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: err.Error()})
	}
	if fn.meta.path != "" {
		_, mp, err := parsePattern(fn.meta.path)
		if err != nil || mp != path {
			panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf(
				"the Meta of %s says path %q", fn.req, fn.meta.path)})
		}
	}
	if methods == nil && len(fn.meta.methods) > 0 {
		pattern = strings.Join(fn.meta.methods, ",") + ":" + pattern
	}
	g.bindTyped(pattern, fn, fmt.Sprintf("handler %T", h), site)
}

// bindTyped compiles fn's binding and registers it at pattern; what and
// site name it in a panic.
func (g *RouterGroup) bindTyped(pattern string, fn *apiFunc, what, site string) {
	methods, path, err := parsePattern(pattern)
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf("%s: %v", what, err)})
	}
	full := joinPath(g.prefix, path)
	op, err := newAPIHandler(g, fn, methods, full)
	if err != nil {
		panic(&RouteError{Pattern: pattern, Site: site, Reason: fmt.Sprintf("%s: %v", what, err)})
	}
	if err := g.s.router.register(g, pattern, op.serve, site); err != nil {
		if re, ok := err.(*RouteError); ok {
			re.Reason = what + ": " + re.Reason
		}
		panic(err)
	}
	g.s.router.mu.Lock()
	list := methods
	if len(list) == 0 {
		list = openAPIMethods
	}
	for _, m := range list {
		g.s.router.api = append(g.s.router.api, apiOperation{
			method: m, path: openAPIPath(full), meta: fn.meta, req: fn.req, res: fn.res})
	}
	g.s.router.mu.Unlock()
}

// openAPIMethods are the methods an operation bound for every method is
// listed under.
var openAPIMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// openAPIPath turns a route path ("/user/:id", "/f/*rest") into OpenAPI's
// form ("/user/{id}", "/f/{rest}").
func openAPIPath(path string) string {
	if !strings.ContainsAny(path, ":*") {
		return path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s != "" && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// apiCtxKey is the context key of the *Request of a typed handler.
type apiCtxKey struct{}

// RequestFromCtx returns the *Request that the context of a typed handler
// belongs to, or nil for another context. Like the Request, it must not
// be used once the handler has returned.
func RequestFromCtx(ctx context.Context) *Request {
	if c, ok := ctx.(*apiCtx); ok {
		return c.r
	}
	r, _ := ctx.Value(apiCtxKey{}).(*Request)
	return r
}

// apiCtx is the context a typed handler gets: the request's, which
// answers RequestFromCtx without the lookup chain of context.WithValue.
type apiCtx struct {
	context.Context
	r *Request
}

// Value implements context.Context.
func (c *apiCtx) Value(key any) any {
	if key == (apiCtxKey{}) {
		return c.r
	}
	return c.Context.Value(key)
}
