package baton

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"html/template"
	"io/fs"
	"os"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultViewPath is the view directory, relative to the working
// directory, used when neither ServerConfig.ViewPath nor ViewFS is set.
const DefaultViewPath = "template"

// viewCheckInterval bounds how often, with auto reload on, the view files
// are stat'ed to see whether one changed.
const viewCheckInterval = 100 * time.Millisecond

// viewExts are the file extensions read as templates.
var viewExts = []string{".html", ".htm", ".tmpl", ".gohtml", ".tpl"}

// sharedDirs are the top-level directories of the view tree whose files
// every page can use: layouts and partials.
var sharedDirs = []string{"layout", "partial"}

// ViewFuncs returns the functions every template of baton can call, in a
// new map. Templates may use:
//
//	upper, lower   {{.Name | upper}}: the value in upper or lower case
//	default        {{.Name | default "guest"}}: the value, or the default when it is empty
//	date           {{date "2006-01-02" .Created}}: a time.Time (or Unix seconds) formatted
//	json           {{json .}}: the value as JSON text (escaped where it is printed)
//	safe           {{safe .Body}}: trusted text printed as HTML, unescaped
//	dict           {{template "partial/card.html" dict "Title" .T "User" .U}}: a map for a partial
//
// ServerConfig.ViewFuncs adds functions to these or replaces them.
func ViewFuncs() template.FuncMap {
	return template.FuncMap{
		"upper":   func(v any) string { return strings.ToUpper(toString(v)) },
		"lower":   func(v any) string { return strings.ToLower(toString(v)) },
		"default": tplDefault,
		"date":    tplDate,
		"json":    tplJSON,
		"safe":    func(v any) template.HTML { return template.HTML(toString(v)) },
		"dict":    tplDict,
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// tplDefault returns v, or def when v is empty: nil, false, zero, or an
// empty string, slice or map.
func tplDefault(def, v any) any {
	if v == nil {
		return def
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String:
		if rv.Len() == 0 {
			return def
		}
		return v
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return def
		}
		return v
	}
	if rv.IsZero() {
		return def
	}
	return v
}

// tplDate formats a time.Time, a *time.Time or Unix seconds with layout;
// a zero or nil time prints as "".
func tplDate(layout string, v any) (string, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "", nil
		}
		t = *x
	case int64:
		t = time.Unix(x, 0)
	case int:
		t = time.Unix(int64(x), 0)
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return "", fmt.Errorf("date: %q is not Unix seconds", x)
		}
		t = time.Unix(n, 0)
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("date: cannot format %T", v)
	}
	if t.IsZero() {
		return "", nil
	}
	return t.Format(layout), nil
}

func tplJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func tplDict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments (%d)", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %d is %T, want string", i/2, kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// viewCache is the template cache of a server. It parses the view tree on
// first use and, with auto reload on, again when a file of it changes.
//
// NOTE: a viewSet is never changed once stored: renders run on it without
// a lock while a reload builds its successor.
type viewCache struct {
	fsys   fs.FS
	where  string // the directory, or "fs.FS", for messages
	funcs  template.FuncMap
	auto   bool
	mu     sync.Mutex // serializes parses
	set    atomic.Pointer[viewSet]
	next   atomic.Int64 // UnixNano of the next change check
	parses atomic.Int64 // how many times the tree was parsed
}

// viewSet is one parse of the view tree.
type viewSet struct {
	pages  map[string]*template.Template // page name -> its own set: shared files plus the page
	shared *template.Template            // layouts and partials, for rendering one by name
	base   *template.Template            // layouts and partials, never executed: cloned
	fp     uint64                        // fingerprint of the files parsed
	err    error                         // parse error: every render returns it
}

func newViewCache(c ServerConfig) *viewCache {
	v := &viewCache{fsys: c.ViewFS, where: "fs.FS", auto: c.ViewAutoReload || devOn(false)}
	if v.fsys == nil {
		dir := c.ViewPath
		if dir == "" {
			dir = DefaultViewPath
		}
		v.fsys, v.where = os.DirFS(dir), dir
	}
	v.funcs = ViewFuncs()
	for k, f := range c.ViewFuncs {
		v.funcs[k] = f
	}
	return v
}

// viewFile is a template file found by a walk.
type viewFile struct {
	name string // slash-separated path below the root
	mod  time.Time
	size int64
}

// scan lists the template files and fingerprints them by name, size and
// modification time. A missing root is an empty tree.
func (v *viewCache) scan() ([]viewFile, uint64, error) {
	var files []viewFile
	err := fs.WalkDir(v.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isViewFile(p) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, viewFile{name: p, mod: info.ModTime(), size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("baton: views %s: %w", v.where, err)
	}
	h := fnv.New64a()
	for _, f := range files {
		h.Write([]byte(f.name))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(nil, f.mod.UnixNano(), 10))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(nil, f.size, 10))
		h.Write([]byte{0})
	}
	return files, h.Sum64(), nil
}

func isViewFile(p string) bool {
	ext := path.Ext(p)
	for _, e := range viewExts {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

func isShared(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	for _, d := range sharedDirs {
		if first == d {
			return true
		}
	}
	return false
}

// parse reads and parses the view tree. Errors are kept in the set, so
// that a broken tree is not parsed again until a file changes.
func (v *viewCache) parse() *viewSet {
	v.parses.Add(1)
	files, fp, err := v.scan()
	if err != nil {
		return &viewSet{fp: fp, err: err}
	}
	set := &viewSet{fp: fp, pages: make(map[string]*template.Template)}
	set.base = template.New("").Funcs(v.funcs)
	var pages []viewFile
	for _, f := range files {
		if !isShared(f.name) {
			pages = append(pages, f)
			continue
		}
		if err := v.parseFile(set.base, f.name); err != nil {
			set.err = err
			return set
		}
	}
	for _, f := range pages {
		t, err := set.base.Clone()
		if err == nil {
			err = v.parseFile(t, f.name)
		}
		if err != nil {
			set.err = err
			return set
		}
		set.pages[f.name] = t
	}
	if set.shared, err = set.base.Clone(); err != nil {
		set.err = fmt.Errorf("baton: views %s: %w", v.where, err)
	}
	return set
}

func (v *viewCache) parseFile(t *template.Template, name string) error {
	b, err := fs.ReadFile(v.fsys, name)
	if err == nil {
		_, err = t.New(name).Parse(string(b))
	}
	if err != nil {
		return fmt.Errorf("baton: views %s: %w", v.where, err)
	}
	return nil
}

// current returns the parsed tree: parsed on first use and, with auto
// reload on, parsed again when a check finds a file changed.
func (v *viewCache) current() *viewSet {
	set := v.set.Load()
	if set == nil {
		v.mu.Lock()
		defer v.mu.Unlock()
		if set = v.set.Load(); set == nil {
			set = v.parse()
			v.set.Store(set)
			v.next.Store(time.Now().Add(viewCheckInterval).UnixNano())
		}
		return set
	}
	// NOTE: development mode is read here, at the render, not when the
	// cache is made: a worker learns it from the master's first message,
	// after the program has made its servers.
	if !v.auto && devMode.Load() == nil {
		return set
	}
	now := time.Now().UnixNano()
	next := v.next.Load()
	if now < next || !v.next.CompareAndSwap(next, now+int64(viewCheckInterval)) {
		return set // checked recently, or another request is checking
	}
	// An unchanged tree is not parsed again, even a broken one: it would
	// fail the same way.
	if _, fp, err := v.scan(); err == nil && fp == set.fp {
		return set
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	set = v.parse()
	v.set.Store(set)
	return set
}

// load parses the tree now, for Server.LoadViews.
func (v *viewCache) load() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	set := v.parse()
	v.set.Store(set)
	v.next.Store(time.Now().Add(viewCheckInterval).UnixNano())
	return set.err
}

// lookup returns the template set that renders name, and the name to
// execute in it.
func (set *viewSet) lookup(name string) (*template.Template, error) {
	if set.err != nil {
		return nil, set.err
	}
	if t := set.pages[name]; t != nil {
		return t, nil
	}
	if isShared(name) && set.shared.Lookup(name) != nil {
		return set.shared, nil
	}
	return nil, ErrTemplateNotFound
}

// names lists the templates of the set, for error messages.
func (set *viewSet) names() []string {
	var list []string
	for n := range set.pages {
		list = append(list, n)
	}
	if set.shared != nil {
		for _, t := range set.shared.Templates() {
			if isShared(t.Name()) {
				list = append(list, t.Name())
			}
		}
	}
	sort.Strings(list)
	return list
}

// SetViewPath makes the server read its templates from dir; see
// ServerConfig.ViewPath.
func (s *Server) SetViewPath(dir string) {
	s.update(func(c *ServerConfig) { c.ViewPath = dir })
}

// SetViewFS makes the server read its templates from fsys, such as an
// embed.FS (use fs.Sub to strip a leading directory); see
// ServerConfig.ViewFS.
func (s *Server) SetViewFS(fsys fs.FS) {
	s.update(func(c *ServerConfig) { c.ViewFS = fsys })
}

// SetViewAutoReload turns re-parsing changed templates on or off; see
// ServerConfig.ViewAutoReload.
func (s *Server) SetViewAutoReload(on bool) {
	s.update(func(c *ServerConfig) { c.ViewAutoReload = on })
}

// SetViewFuncs adds functions the templates can call, replacing built-in
// ones of the same name; see ViewFuncs.
func (s *Server) SetViewFuncs(funcs template.FuncMap) {
	s.update(func(c *ServerConfig) {
		m := make(template.FuncMap, len(c.ViewFuncs)+len(funcs))
		for k, f := range c.ViewFuncs {
			m[k] = f
		}
		for k, f := range funcs {
			m[k] = f
		}
		c.ViewFuncs = m
	})
}

// LoadViews parses the server's templates now and returns the first error.
// Templates are otherwise parsed at the first render; calling LoadViews
// before Run makes a worker with broken templates fail at start, so that a
// reload into it is refused and the old worker goes on serving.
func (s *Server) LoadViews() error {
	return s.views.Load().load()
}

// WriteTpl renders the template name (its path below the view directory,
// such as "index.html" or "user/profile.html") with data and appends the
// result to the response, with Content-Type text/html if none is set.
//
// The page is rendered into the buffer and kept only if the whole render
// succeeds. On an error (a missing template, a parse or execution error)
// the response is replaced by a bare 500, the error goes to the error log,
// and it is returned: the handler should return then.
func (w *Response) WriteTpl(name string, data any) error {
	name = strings.TrimPrefix(name, "/")
	set := w.req.Server.views.Load().current()
	t, err := set.lookup(name)
	if err == nil {
		err = w.render(t, name, data)
	}
	if err != nil {
		if errors.Is(err, ErrTemplateNotFound) {
			err = fmt.Errorf("baton: template %q (have %q): %w", name, set.names(), err)
		} else {
			err = fmt.Errorf("baton: template %q: %w", name, err)
		}
		w.tplFailed(err)
	}
	return err
}

// WriteTplContent renders text as a template with data, as WriteTpl does a
// file: the view functions, layouts and partials are available to it. It
// parses text at every call: use WriteTpl for pages served often.
func (w *Response) WriteTplContent(text string, data any) error {
	set := w.req.Server.views.Load().current()
	err := set.err
	var t *template.Template
	if err == nil {
		t, err = set.base.Clone()
	}
	if err == nil {
		t, err = t.New(contentName).Parse(text)
	}
	if err == nil {
		err = w.render(t, contentName, data)
	}
	if err != nil {
		err = fmt.Errorf("baton: template content: %w", err)
		w.tplFailed(err)
	}
	return err
}

// contentName names the template WriteTplContent parses; no file can have
// it, since file names have an extension.
const contentName = "(content)"

// render executes template name of t, appending to the buffer; the output
// of a failed render is cut off again.
func (w *Response) render(t *template.Template, name string, data any) error {
	mark := len(w.buf)
	if err := t.ExecuteTemplate((*appendWriter)(w), name, data); err != nil {
		w.buf = w.buf[:mark]
		return err
	}
	if h := w.Header(); h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
	w.spill()
	return nil
}

// tplFailed logs err and replaces the response with a 500 (if it has not
// been sent yet).
func (w *Response) tplFailed(err error) {
	r := w.req
	r.Logger().Error("baton: render failed", "method", r.Method, "path", r.URL.Path, "err", err)
	w.fail(500)
	if devMode.Load() != nil && !w.committed {
		// In development mode the page shows the error over itself, as a
		// failed build does; the page script reloads it once the template
		// is fixed.
		w.buf = w.buf[:0]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.buf = append(w.buf, `<!doctype html><html><body><div id="baton-dev-template-error" style="position:fixed;inset:0;`+
			`background:rgba(24,24,27,.97);color:#fecaca;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;padding:28px">`+
			`<div style="color:#fff;font-weight:bold;font-size:16px;margin-bottom:14px">baton: template error</div><pre style="white-space:pre-wrap">`...)
		w.buf = append(w.buf, html.EscapeString(err.Error())...)
		w.buf = append(w.buf, "</pre></div></body></html>\n"...)
	}
}

// appendWriter appends to a Response's buffer without sending it, so that
// a failed render can be taken back.
type appendWriter Response

func (a *appendWriter) Write(p []byte) (int, error) {
	a.buf = append(a.buf, p...)
	return len(p), nil
}
