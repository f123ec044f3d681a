package baton

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The fuzz target registers a table of routes drawn from a small alphabet
// of segments and checks every request against a reference matcher that
// knows nothing of trees: it matches each route against the path on its
// own, with regular expressions, and picks the most specific of those that
// match, segment by segment.

// fuzzSegs are the segments patterns are made of; %d is the segment's
// position, so that names differ across positions and two routes can
// differ in parameter names only.
var fuzzSegs = []string{"a", "b", "", "ab", ":x%d", ":y%d", "{x%d}.h", "a{x%d}", "{x%d}.{y%d}", "*c%d"}

// fuzzPathSegs are the segments request paths are made of.
var fuzzPathSegs = []string{"a", "b", "", "ab", "a.h", "x.h", "aa", "1", ".h", "a.b.h", "A", "AB"}

var fuzzMethods = []string{"GET", "POST", ""} // "" registers every method

var fuzzReqMethods = []string{"GET", "POST", "PUT", "HEAD", "OPTIONS"}

// refRoute is a registered route as the reference matcher sees it.
type refRoute struct {
	method string
	path   string
	segs   []segment
	res    []*regexp.Regexp // per segParam segment
	names  []string
}

func newRefRoute(method, path string) *refRoute {
	segs, err := parseSegments(path)
	if err != nil {
		panic(err) // the alphabet makes well-formed patterns only
	}
	r := &refRoute{method: method, path: path, segs: segs, res: make([]*regexp.Regexp, len(segs))}
	for i, s := range segs {
		r.names = append(r.names, s.names...)
		if s.kind != segParam {
			continue
		}
		var b strings.Builder
		b.WriteByte('^')
		for _, p := range s.parts {
			if p == "" {
				b.WriteString("([^/]+)")
			} else {
				b.WriteString(regexp.QuoteMeta(p))
			}
		}
		b.WriteByte('$')
		r.res[i] = regexp.MustCompile(b.String())
	}
	return r
}

// answers reports whether the route is registered for method.
func (r *refRoute) answers(method string) bool {
	return r.method == "" || r.method == method || (method == http.MethodHead && r.method == http.MethodGet)
}

// match returns the route's parameter values for path, and whether it
// matches.
func (r *refRoute) match(parts []string) ([]string, bool) {
	var vals []string
	for i, s := range r.segs {
		if s.kind == segCatchAll {
			if i >= len(parts) {
				return nil, false
			}
			return append(vals, "/"+strings.Join(parts[i:], "/")), true
		}
		if i >= len(parts) {
			return nil, false
		}
		switch s.kind {
		case segStatic:
			if parts[i] != s.text {
				return nil, false
			}
		case segParam:
			if s.key == ":" && parts[i] == "" && i < len(parts)-1 {
				vals = append(vals, "") // as httprouter does
				continue
			}
			m := r.res[i].FindStringSubmatch(parts[i])
			if m == nil {
				return nil, false
			}
			vals = append(vals, m[1:]...)
		}
	}
	return vals, len(r.segs) == len(parts)
}

// compareSeg returns >0 if a is more specific than b: static, then
// parameter segments with more literal text, fewer parameters and the
// smaller key, then a catch-all.
func compareSeg(a, b segment) int {
	class := func(s segment) int { return []int{segStatic: 2, segParam: 1, segCatchAll: 0}[s.kind] }
	if d := class(a) - class(b); d != 0 {
		return d
	}
	if a.kind != segParam {
		return 0
	}
	if a.lits != b.lits {
		return a.lits - b.lits
	}
	if len(a.names) != len(b.names) {
		return len(b.names) - len(a.names)
	}
	return strings.Compare(b.key, a.key)
}

// moreSpecificRoute reports whether a wins over b for a path both match.
func moreSpecificRoute(a, b *refRoute) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if d := compareSeg(a.segs[i], b.segs[i]); d != 0 {
			return d > 0
		}
	}
	return false
}

// fuzzTable decodes data into patterns and request paths.
func fuzzTable(data []byte) (routes [][2]string, paths []string) {
	next := func() int {
		if len(data) == 0 {
			return -1
		}
		b := int(data[0])
		data = data[1:]
		return b
	}
	n := next()
	if n < 0 {
		return nil, nil
	}
	for range n%8 + 1 {
		m, l := next(), next()
		if l < 0 {
			break
		}
		var b strings.Builder
		for i := range l%4 + 1 {
			c := next()
			if c < 0 {
				c = 0
			}
			seg := fuzzSegs[c%len(fuzzSegs)]
			if strings.HasPrefix(seg, "*") && i != l%4 {
				seg = ":x%d" // a catch-all ends its pattern
			}
			b.WriteByte('/')
			b.WriteString(strings.ReplaceAll(seg, "%d", fmt.Sprint(i)))
		}
		routes = append(routes, [2]string{fuzzMethods[m%len(fuzzMethods)], b.String()})
	}
	for len(data) > 0 && len(paths) < 16 {
		l := next()
		var b strings.Builder
		for range l%5 + 1 {
			c := next()
			if c < 0 {
				c = 0
			}
			b.WriteByte('/')
			b.WriteString(fuzzPathSegs[c%len(fuzzPathSegs)])
		}
		paths = append(paths, b.String())
	}
	return routes, paths
}

// FuzzRouter checks that every request either gets the most specific
// route that matches it, with its parameters, or, when none does for its
// method, a 404, a 405 naming methods that do match, or a redirect; and
// that registration panics exactly for two routes of the same shape.
func FuzzRouter(f *testing.F) {
	f.Add([]byte("\x01\x00\x01\x00\x04\x00\x01\x00\x01\x01\x00"))                                 // /a/:x1 beside /a/a
	f.Add([]byte("\x03\x00\x02\x00\x04\x02\x00\x02\x00\x01\x03\x00\x02\x06\x01\x00\x02\x01\x03")) // backtracking
	f.Add([]byte("\x04\x02\x00\x06\x01\x00\x08\x00\x00\x04\x02\x01\x00\x09\x05\x00\x04\x02\x06\x00\x07"))
	f.Add([]byte("\x02\x00\x00\x04\x00\x00\x05\x01\x00\x01\x03\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, paths := fuzzTable(data)
		if len(table) == 0 {
			return
		}
		s := newServer("fuzz")
		s.SetAccessLogEnabled(false)
		var refs []*refRoute
		for i, rt := range table {
			ref := newRefRoute(rt[0], rt[1])
			wantPanic := ""
			for _, old := range refs {
				if old != nil && shape(old.path) == shape(ref.path) &&
					(old.method == "" || ref.method == "" || old.method == ref.method) {
					wantPanic = old.path
				}
			}
			pattern := rt[1]
			if rt[0] != "" {
				pattern = rt[0] + ":" + pattern
			}
			idx, names := i, ref.names
			err := s.router.register(s.router.root, pattern, func(r *Request) {
				vals := make([]string, len(names))
				for j, n := range names {
					vals[j] = r.Param(n)
				}
				r.Response.Write(fmt.Sprint(idx, ":", strings.Join(vals, ",")))
			}, "fuzz")
			if (err != nil) != (wantPanic != "") {
				t.Fatalf("register(%q) error = %v, want a conflict with %q: %v", pattern, err, wantPanic, err)
			}
			if err != nil {
				refs = append(refs, nil) // keeps the indexes of the handlers
				continue
			}
			refs = append(refs, ref)
		}
		for _, path := range paths {
			parts := strings.Split(path[1:], "/")
			for _, method := range fuzzReqMethods {
				want, wantVals := -1, []string(nil)
				var allow []string
				for i, ref := range refs {
					if ref == nil {
						continue
					}
					vals, ok := ref.match(parts)
					if !ok {
						continue
					}
					if !ref.answers(method) {
						allow = append(allow, ref.method)
						continue
					}
					if want < 0 || moreSpecificRoute(ref, refs[want]) {
						want, wantVals = i, vals
					}
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
				body := rec.Body.String()
				if want >= 0 {
					wantBody := fmt.Sprint(want, ":", strings.Join(wantVals, ","))
					if rec.Code != 200 || (method != http.MethodHead && body != wantBody) {
						t.Fatalf("%s %s = %d %q, want 200 %q\nroutes %q", method, path, rec.Code, body, wantBody, table)
					}
					continue
				}
				if rec.Code == http.StatusNotFound && len(allow) > 0 {
					t.Fatalf("%s %s = 404, want 405 for the methods of %q\nroutes %q", method, path, allow, table)
				}
				switch rec.Code {
				case http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
				case http.StatusMethodNotAllowed:
					if len(allow) == 0 {
						t.Fatalf("%s %s = 405 (Allow %q) but no route matches\nroutes %q", method, path, rec.Header().Get("Allow"), table)
					}
				case http.StatusOK:
					if method != http.MethodOptions || len(allow) == 0 || body != "" {
						t.Fatalf("%s %s = 200 %q, want no route\nroutes %q", method, path, body, table)
					}
				default:
					t.Fatalf("%s %s = %d %q, want 404, 405 or a redirect\nroutes %q", method, path, rec.Code, body, table)
				}
			}
		}
	})
}
