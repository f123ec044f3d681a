package baton

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// DefaultIndexFiles are the index files tried for a directory when
// ServerConfig.IndexFiles is nil.
var DefaultIndexFiles = []string{"index.html", "index.htm"}

// staticFS serves files below its root directories: the static paths
// (each under its URL prefix, the longest prefix first), then the server
// root, then the search paths, in order; the first that has the name
// requested serves it. It opens files through os.Root, so no path (with
// "..", encoded slashes, or symbolic links) can reach a file outside the
// root it names. Unless dot is set, it serves no name with a segment that
// starts with a dot (see dotName).
type staticFS struct {
	roots   []staticRoot
	index   []string
	listing bool
	dot     bool
}

// staticRoot is a directory served under a URL prefix ("" for the whole
// URL space, else "/static" with no trailing slash).
type staticRoot struct {
	prefix string
	root   *os.Root
}

// openStatic opens the directories c serves static files from; it returns
// nil and no error when c serves none.
func openStatic(c *ServerConfig) (*staticFS, error) {
	st := &staticFS{index: c.IndexFiles, listing: c.DirectoryListing, dot: c.ServeDotFiles}
	if st.index == nil {
		st.index = DefaultIndexFiles
	}
	add := func(what, prefix, dir string) error {
		root, err := openStaticDir(what, dir)
		if err != nil {
			return err
		}
		st.roots = append(st.roots, staticRoot{prefix: prefix, root: root})
		return nil
	}
	paths := slices.Clone(c.StaticPaths)
	for i := range paths {
		p, err := staticPrefix(paths[i].Prefix)
		if err != nil {
			st.close()
			return nil, err
		}
		paths[i].Prefix = p
	}
	// The longest prefix first, so that /static/img wins over /static.
	slices.SortStableFunc(paths, func(a, b StaticPath) int { return len(b.Prefix) - len(a.Prefix) })
	for _, p := range paths {
		if err := add("static path "+p.Prefix, p.Prefix, p.Path); err != nil {
			st.close()
			return nil, err
		}
	}
	if c.ServerRoot != "" {
		if err := add("server root", "", c.ServerRoot); err != nil {
			st.close()
			return nil, err
		}
	}
	for _, dir := range c.SearchPaths {
		if err := add("search path", "", dir); err != nil {
			st.close()
			return nil, err
		}
	}
	if len(st.roots) == 0 {
		return nil, nil
	}
	return st, nil
}

func openStaticDir(what, dir string) (*os.Root, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("baton: %s %s: %w", what, dir, err)
	}
	return root, nil
}

// staticPrefix checks the URL prefix of a static path and returns it
// without a trailing slash ("" for "/").
func staticPrefix(p string) (string, error) {
	trimmed := strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") || trimmed != "" && path.Clean(trimmed) != trimmed {
		return "", fmt.Errorf("baton: static path prefix %q: want a clean absolute path such as /static", p)
	}
	return trimmed, nil
}

// wellKnown is the one directory of dotted name that is served by default:
// RFC 8615 puts ACME challenges and security.txt below it.
const wellKnown = ".well-known"

// dotName reports whether name, a cleaned slash-separated path relative to
// the root ("." for the root itself), has a segment that starts with a dot:
// .env, .git/config, a/.hidden/x. A first segment ".well-known" does not
// count, but a dotted name below it does. The name checked must be the one
// opened, after decoding and cleaning, so that no spelling of the request
// (%2e, "//", "/./", "a/../") gets past it.
func dotName(name string) bool {
	if name == "." {
		return false
	}
	if rest, ok := strings.CutPrefix(name, wellKnown); ok && (rest == "" || rest[0] == '/') {
		name = rest
	}
	return strings.HasPrefix(name, ".") || strings.Contains(name, "/.")
}

func (st *staticFS) close() {
	if st == nil {
		return
	}
	for _, r := range st.roots {
		r.root.Close()
	}
}

// serve answers r from the first root that has the name and reports
// whether it did; false means no root has it and the caller answers 404.
func (st *staticFS) serve(r *Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	raw := r.URL.EscapedPath()
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.ContainsAny(r.URL.Path, "\\\x00") {
		// An encoded separator means a name that is not a path: refuse
		// rather than guess.
		return false
	}
	clean := path.Clean("/" + r.URL.Path)
	for _, sr := range st.roots {
		rel := clean
		if sr.prefix != "" {
			rest, ok := strings.CutPrefix(clean, sr.prefix)
			if !ok || rest != "" && rest[0] != '/' {
				continue
			}
			rel = rest
		}
		name := strings.TrimPrefix(rel, "/")
		if name == "" {
			name = "."
		}
		if !st.dot && dotName(name) {
			// Answered as absent, before the file is looked at: neither a
			// redirect nor a 403 tells that .git exists.
			continue
		}
		if st.serveFrom(r, sr.root, clean, name) {
			return true
		}
	}
	return false
}

// serveFrom answers r with name, below root, if it exists; clean is the
// cleaned path of the request.
func (st *staticFS) serveFrom(r *Request, root *os.Root, clean, name string) bool {
	f, err := root.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		st.serveFile(r, fi, f)
		return true
	}
	if !strings.HasSuffix(r.URL.Path, "/") {
		target := path.Base(clean) + "/"
		if clean == "/" {
			target = "/"
		}
		if q := r.URL.RawQuery; q != "" {
			target += "?" + q
		}
		r.Response.RedirectTo(target, http.StatusMovedPermanently)
		return true
	}
	for _, idx := range st.index {
		ff, err := root.Open(path.Join(name, idx))
		if err != nil {
			continue
		}
		defer ff.Close()
		if ffi, err := ff.Stat(); err == nil && !ffi.IsDir() {
			st.serveFile(r, ffi, ff)
			return true
		}
	}
	if !st.listing {
		r.Response.WriteStatus(http.StatusForbidden)
		return true
	}
	entries, err := fs.ReadDir(root.FS(), name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.Response.WriteStatus(http.StatusInternalServerError)
		return true
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
	r.Response.Write("<!doctype html>\n<title>", html.EscapeString(clean), "</title>\n<ul>\n")
	for _, e := range entries {
		n := e.Name()
		if !st.dot && dotName(path.Join(name, n)) {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		u := url.URL{Path: n}
		r.Response.Write(`<li><a href="`, html.EscapeString(u.String()), `">`, html.EscapeString(n), "</a></li>\n")
	}
	r.Response.Write("</ul>\n")
	return true
}

// serveFile sends an open file. In development mode an HTML file goes
// through the buffer, so that it gets the development script like the
// pages of handlers.
func (st *staticFS) serveFile(r *Request, fi fs.FileInfo, f io.ReadSeeker) {
	if devMode.Load() != nil {
		if ext := strings.ToLower(path.Ext(fi.Name())); ext == ".html" || ext == ".htm" {
			r.Response.serveHTMLForDev(f)
			return
		}
		// A page reloaded after a change revalidates the main document
		// only: without this, a stylesheet changed a moment after it was
		// fetched could come from the heuristic cache, unchanged.
		r.Response.Header().Set("Cache-Control", "no-cache")
	}
	r.Response.serveContent(fi.Name(), fi.ModTime(), f)
}
