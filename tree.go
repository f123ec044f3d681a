package baton

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// This file holds the route tree for tables httprouter cannot hold: a
// static segment beside a parameter or a catch-all at one position, or a
// parameter inside a segment ("{id}.html"). It answers like httprouter
// does (405 with Allow, OPTIONS, trailing-slash and fixed-path
// redirects), so that a table moving from one engine to the other keeps
// its behaviour; only the route shapes it accepts are new.
//
// The tree has one node per segment. At each node the children are tried
// from the most specific to the least: the static segment equal to the
// request's, then the segments with a parameter (those with more literal
// text first, "{id}.html" before ":id"), then a catch-all. If the rest of
// the path matches nothing under a child, the next child is tried, so
// "/a/:x/c" and "/a/b/d" are both reachable and "/a/b/c" matches the
// first.

// segKind is what a segment of a pattern is.
type segKind uint8

const (
	segStatic   segKind = iota // "users"
	segParam                   // ":id", "{id}.html", "admin-{page}"
	segCatchAll                // "*path", the last segment
)

// segment is one '/'-separated part of a pattern.
type segment struct {
	kind  segKind
	text  string   // the literal, for segStatic
	parts []string // for segParam: literals and "" for each parameter, in order
	names []string // parameter names, in order
	key   string   // the segment with its parameter names erased
	lits  int      // length of the literal text, for segParam
}

// parseSegments splits a path in baton's syntax (":name" and "*name" as
// whole segments, "{name}" inside one) into segments, or says what is
// malformed.
func parseSegments(path string) ([]segment, error) {
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("path must begin with '/'")
	}
	raw := strings.Split(path[1:], "/")
	segs := make([]segment, 0, len(raw))
	for i, s := range raw {
		switch {
		case strings.HasPrefix(s, ":"):
			name := s[1:]
			if err := checkName(name); err != nil {
				return nil, err
			}
			segs = append(segs, segment{kind: segParam, parts: []string{""}, names: []string{name}, key: ":"})
		case strings.HasPrefix(s, "*"):
			name := s[1:]
			if err := checkName(name); err != nil {
				return nil, err
			}
			if i != len(raw)-1 {
				return nil, fmt.Errorf("catch-all routes are only allowed at the end of the path: %q", s)
			}
			segs = append(segs, segment{kind: segCatchAll, names: []string{name}, key: "*"})
		case strings.ContainsAny(s, ":*"):
			return nil, fmt.Errorf("':' or '*' must begin a segment (write {name} for a parameter inside one): %q", s)
		case strings.Contains(s, "{"):
			seg, err := parseInner(s)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
		default:
			segs = append(segs, segment{kind: segStatic, text: s})
		}
	}
	return segs, nil
}

// checkName reports whether name can name a parameter.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("wildcards must be named with a non-empty name")
	}
	if strings.ContainsAny(name, ":*{}/") {
		return fmt.Errorf("invalid parameter name %q", name)
	}
	return nil
}

// parseInner parses a segment with parameters inside literal text:
// "{id}.html", "admin-{page}", "{hash}.{type}".
func parseInner(s string) (segment, error) {
	seg := segment{kind: segParam}
	var key strings.Builder
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			seg.parts = append(seg.parts, s)
			seg.lits += len(s)
			key.WriteString(s)
			break
		}
		if open > 0 {
			seg.parts = append(seg.parts, s[:open])
			seg.lits += open
			key.WriteString(s[:open])
		} else if n := len(seg.parts); n > 0 && seg.parts[n-1] == "" {
			return segment{}, fmt.Errorf("parameters {%s} and %s must be separated by literal text",
				seg.names[len(seg.names)-1], s[:strings.IndexByte(s, '}')+1])
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return segment{}, fmt.Errorf("unclosed '{' in %q", s)
		}
		name := s[open+1 : end]
		if err := checkName(name); err != nil {
			return segment{}, err
		}
		seg.parts = append(seg.parts, "")
		seg.names = append(seg.names, name)
		key.WriteString("{}")
		s = s[end+1:]
	}
	seg.key = key.String()
	return seg, nil
}

// matchParts reports whether s matches parts, literals and parameters
// ("") in turn, each parameter taking at least one byte and as many as
// it can. If ps is not nil, the parameters' values are stored in it.
func matchParts(parts []string, s string, ps httprouter.Params) bool {
	if len(parts) == 0 {
		return s == ""
	}
	if lit := parts[0]; lit != "" {
		return strings.HasPrefix(s, lit) && matchParts(parts[1:], s[len(lit):], ps)
	}
	if len(parts) == 1 {
		if s == "" {
			return false
		}
		if ps != nil {
			ps[0].Value = s
		}
		return true
	}
	next := parts[1] // a literal: two parameters never touch
	var rest httprouter.Params
	if ps != nil {
		rest = ps[1:]
	}
	for end := len(s); end > 1; {
		i := strings.LastIndex(s[:end], next)
		if i < 1 {
			return false
		}
		if matchParts(parts[1:], s[i:], rest) {
			if ps != nil {
				ps[0].Value = s[:i]
			}
			return true
		}
		end = i + len(next) - 1
	}
	return false
}

// matchSeg reports whether seg matches the parameter segment s.
func matchSeg(s *segment, seg string) bool {
	if s.key == ":" {
		return true // the caller has ruled out an empty last segment
	}
	return matchParts(s.parts, seg, nil)
}

// leaf is a route's handle at the node where its pattern ends.
type leaf struct {
	handle httprouter.Handle
	names  []string // every parameter of the pattern, in order
}

// paramChild is a parameter segment under a node.
type paramChild struct {
	seg  segment
	node *treeNode
}

// treeNode is a position in the tree: the segments that can follow it.
type treeNode struct {
	text     string // the static segment leading here, for fixed paths
	static   map[string]*treeNode
	sorted   []string      // the keys of static, sorted, for case-folded lookups
	params   []*paramChild // most specific first
	catchAll *leaf
	leaf     *leaf
}

func (n *treeNode) add(segs []segment, l *leaf) {
	for i, s := range segs {
		switch s.kind {
		case segStatic:
			c := n.static[s.text]
			if c == nil {
				if n.static == nil {
					n.static = make(map[string]*treeNode)
				}
				c = &treeNode{text: s.text}
				n.static[s.text] = c
				n.sorted = append(n.sorted, s.text)
				sort.Strings(n.sorted)
			}
			n = c
		case segParam:
			var c *paramChild
			for _, p := range n.params {
				if p.seg.key == s.key {
					c = p
				}
			}
			if c == nil {
				c = &paramChild{seg: s, node: &treeNode{}}
				n.params = append(n.params, c)
				sort.SliceStable(n.params, func(i, j int) bool { return moreSpecific(n.params[i].seg, n.params[j].seg) })
			}
			n = c.node
		case segCatchAll:
			_ = i // the parser keeps a catch-all last
			n.catchAll = l
			return
		}
	}
	n.leaf = l
}

// moreSpecific orders the parameter segments of a node: more literal text
// first, then fewer parameters, then by key so that the order does not
// depend on the order of registration.
func moreSpecific(a, b segment) bool {
	if a.lits != b.lits {
		return a.lits > b.lits
	}
	if len(a.names) != len(b.names) {
		return len(a.names) < len(b.names)
	}
	return a.key < b.key
}

// lookup finds the route for rest, the path after the node's segment. k
// is the number of parameters taken before; the returned Params hold the
// route's values, filled in as the recursion unwinds.
func (n *treeNode) lookup(rest string, k int) (*leaf, httprouter.Params) {
	if rest == "" {
		if n.leaf == nil {
			return nil, nil
		}
		return n.leaf, newParams(n.leaf)
	}
	// rest begins with '/'.
	seg, after := rest[1:], ""
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg, after = seg[:i], seg[i:]
	}
	if c := n.static[seg]; c != nil {
		if l, ps := c.lookup(after, k); l != nil {
			return l, ps
		}
	}
	// NOTE: a whole-segment parameter matches an empty segment that is
	// not the last ("/u//posts"), as httprouter's do: a table reads the
	// same whichever engine serves it.
	if seg != "" || after != "" {
		for _, p := range n.params {
			if !matchSeg(&p.seg, seg) {
				continue
			}
			if l, ps := p.node.lookup(after, k+len(p.seg.names)); l != nil {
				if ps != nil {
					if p.seg.key == ":" {
						ps[k].Value = seg
					} else {
						matchParts(p.seg.parts, seg, ps[k:])
					}
				}
				return l, ps
			}
		}
	}
	if n.catchAll != nil {
		ps := newParams(n.catchAll)
		ps[k].Value = rest
		return n.catchAll, ps
	}
	return nil, nil
}

// newParams returns the Params of l with its names filled in, or nil for a
// route without parameters.
func newParams(l *leaf) httprouter.Params {
	if len(l.names) == 0 {
		return nil
	}
	ps := make(httprouter.Params, len(l.names))
	for i, name := range l.names {
		ps[i].Key = name
	}
	return ps
}

// fold finds the route for rest as lookup does, comparing static segments
// without regard to case, and returns the path with the routes' own case.
// Exact matches are tried before folded ones.
func (n *treeNode) fold(rest string, b []byte) ([]byte, bool) {
	if rest == "" {
		return b, n.leaf != nil
	}
	seg, after := rest[1:], ""
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg, after = seg[:i], seg[i:]
	}
	if c := n.static[seg]; c != nil {
		if out, ok := c.fold(after, append(append(b, '/'), seg...)); ok {
			return out, true
		}
	}
	for _, key := range n.sorted {
		if key != seg && strings.EqualFold(key, seg) {
			if out, ok := n.static[key].fold(after, append(append(b, '/'), key...)); ok {
				return out, true
			}
		}
	}
	if seg != "" || after != "" {
		for _, p := range n.params {
			if matchSeg(&p.seg, seg) {
				if out, ok := p.node.fold(after, append(append(b, '/'), seg...)); ok {
					return out, true
				}
			}
		}
	}
	if n.catchAll != nil {
		return append(b, rest...), true
	}
	return b, false
}

// tree is a router over one treeNode per method, serving requests as
// httprouter.Router does with RedirectTrailingSlash, RedirectFixedPath,
// HandleMethodNotAllowed and HandleOPTIONS on.
type tree struct {
	roots         map[string]*treeNode
	globalAllowed string
	notFound      http.Handler
	notAllowed    http.Handler
	options       http.Handler // if set, answers OPTIONS after Allow is set
}

func newTree() *tree { return &tree{roots: make(map[string]*treeNode)} }

// handle adds a route. The caller has checked the pattern and that no
// route of the same shape is registered for the method.
func (t *tree) handle(method string, segs []segment, h httprouter.Handle) {
	root := t.roots[method]
	if root == nil {
		root = &treeNode{}
		t.roots[method] = root
	}
	l := &leaf{handle: h}
	for _, s := range segs {
		l.names = append(l.names, s.names...)
	}
	root.add(segs, l)
	t.globalAllowed = t.allowed("*", "")
}

// value finds the route for path in root.
func value(root *treeNode, path string) (*leaf, httprouter.Params) {
	if path == "" || path[0] != '/' {
		return nil, nil
	}
	return root.lookup(path, 0)
}

// allowed returns the Allow header for path, as httprouter does: the
// methods with a route for it, OPTIONS added, sorted.
func (t *tree) allowed(path, reqMethod string) string {
	var allowed []string
	if path == "*" {
		if reqMethod != "" {
			return t.globalAllowed
		}
		for m := range t.roots {
			if m != http.MethodOptions {
				allowed = append(allowed, m)
			}
		}
	} else {
		for m, root := range t.roots {
			if m == reqMethod || m == http.MethodOptions {
				continue
			}
			if l, _ := value(root, path); l != nil {
				allowed = append(allowed, m)
			}
		}
	}
	if len(allowed) == 0 {
		return ""
	}
	allowed = append(allowed, http.MethodOptions)
	sort.Strings(allowed)
	return strings.Join(allowed, ", ")
}

// ServeHTTP serves req from the route its method and path match.
func (t *tree) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	if root := t.roots[req.Method]; root != nil {
		if l, ps := value(root, path); l != nil {
			l.handle(w, req, ps)
			return
		}
		if req.Method != http.MethodConnect && path != "/" {
			code := http.StatusMovedPermanently
			if req.Method != http.MethodGet {
				code = http.StatusTemporaryRedirect
			}
			other := path + "/"
			if strings.HasSuffix(path, "/") {
				other = path[:len(path)-1]
			}
			if l, _ := value(root, other); l != nil {
				req.URL.Path = other
				http.Redirect(w, req, req.URL.String(), code)
				return
			}
			if fixed, ok := t.fixPath(root, httprouter.CleanPath(path)); ok {
				req.URL.Path = fixed
				http.Redirect(w, req, req.URL.String(), code)
				return
			}
		}
	}
	if req.Method == http.MethodOptions {
		if allow := t.allowed(path, http.MethodOptions); allow != "" {
			w.Header().Set("Allow", allow)
			if t.options != nil {
				t.options.ServeHTTP(w, req)
			}
			return
		}
	} else if allow := t.allowed(path, req.Method); allow != "" {
		w.Header().Set("Allow", allow)
		t.notAllowed.ServeHTTP(w, req)
		return
	}
	t.notFound.ServeHTTP(w, req)
}

// fixPath finds a route for the cleaned path regardless of case, then
// with the trailing slash added or removed.
func (t *tree) fixPath(root *treeNode, clean string) (string, bool) {
	if b, ok := root.fold(clean, nil); ok {
		return string(b), true
	}
	if clean == "/" {
		return "", false
	}
	other := clean + "/"
	if strings.HasSuffix(clean, "/") {
		other = clean[:len(clean)-1]
	}
	if b, ok := root.fold(other, nil); ok {
		return string(b), true
	}
	return "", false
}
