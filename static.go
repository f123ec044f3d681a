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
	"sort"
	"strings"
)

// staticFS serves files below a root directory. It opens them through
// os.Root, so no path (with "..", encoded slashes, or symbolic links) can
// reach a file outside the root. Unless dot is set, it serves no name with
// a segment that starts with a dot (see dotName).
type staticFS struct {
	dir     string
	root    *os.Root
	index   []string
	listing bool
	dot     bool
}

func openStatic(c *ServerConfig) (*staticFS, error) {
	root, err := os.OpenRoot(c.ServerRoot)
	if err != nil {
		return nil, fmt.Errorf("baton: server root %s: %w", c.ServerRoot, err)
	}
	index := c.IndexFiles
	if len(index) == 0 {
		index = []string{"index.html"}
	}
	return &staticFS{dir: c.ServerRoot, root: root, index: index, listing: c.DirectoryListing, dot: c.ServeDotFiles}, nil
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

func (st *staticFS) close() { st.root.Close() }

// serve answers r from the root and reports whether it did; false means the
// file does not exist and the caller answers 404.
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
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	if !st.dot && dotName(name) {
		// Answered as absent, before the file is looked at: neither a
		// redirect nor a 403 tells that .git exists.
		return false
	}
	f, err := st.root.Open(name)
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
		ff, err := st.root.Open(path.Join(name, idx))
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
	entries, err := fs.ReadDir(st.root.FS(), name)
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
