// Package swaggerui serves a documentation page for an OpenAPI document:
// Swagger UI (swagger-ui-dist, Apache-2.0, see assets/LICENSE), embedded in
// the binary so that the page works offline and loads nothing from a CDN.
//
// The files are vendored gzipped by fetch.sh (assets/VERSION says which
// release): about 480 KB in the binary, served as they are to the clients
// that accept gzip, which every browser does, and decompressed for the
// others.
package swaggerui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"
)

//go:embed assets
var assets embed.FS

// version is the vendored release, part of the assets' ETags.
const version = "5.35.0" // TestVersion checks it against assets/VERSION

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// asset is a file below the page's path.
type asset struct {
	body        []byte
	contentType string
	gzipped     bool
}

// files are read at the first use of a page: ReadFile copies, and a
// program that serves no docs page (or its master, which serves nothing)
// should not hold half a megabyte for it.
var files = sync.OnceValue(func() map[string]asset {
	return map[string]asset{
		"swagger-ui-bundle.js": {must(assets.ReadFile("assets/swagger-ui-bundle.js.gz")), "text/javascript; charset=utf-8", true},
		"swagger-ui.css":       {must(assets.ReadFile("assets/swagger-ui.css.gz")), "text/css; charset=utf-8", true},
		"init.js":              {must(assets.ReadFile("assets/init.js")), "text/javascript; charset=utf-8", false},
		"LICENSE":              {must(assets.ReadFile("assets/LICENSE")), "text/plain; charset=utf-8", false},
	}
})

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.Prefix}}/swagger-ui.css?v={{.Version}}">
</head>
<body>
<div id="swagger-ui" data-url="{{.SpecURL}}"></div>
<script src="{{.Prefix}}/swagger-ui-bundle.js?v={{.Version}}"></script>
<script src="{{.Prefix}}/init.js?v={{.Version}}"></script>
</body>
</html>
`))

// csp lets the page load its own files and the document, and nothing else;
// Swagger UI sets inline styles and data: images.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// Handler serves the page at Prefix (and Prefix + "/") and its files below
// Prefix. It is safe for concurrent use.
type Handler struct {
	prefix string
	page   []byte
}

// New returns the handler of a page at prefix ("/swagger") that shows the
// document at specURL ("/api.json"), with title as the page's title.
func New(prefix, specURL, title string) *Handler {
	prefix = "/" + strings.Trim(prefix, "/")
	var b bytes.Buffer
	if err := page.Execute(&b, map[string]string{
		"Title": title, "Prefix": prefix, "SpecURL": specURL, "Version": version,
	}); err != nil {
		panic(err)
	}
	return &Handler{prefix: prefix, page: b.Bytes()}
}

// ServeHTTP serves the page or one of its files; any other path below the
// prefix is a 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	if rest == "" || rest == "/" || rest == "/index.html" {
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Cache-Control", "no-cache")
		w.Write(h.page)
		return
	}
	a, ok := files()[strings.TrimPrefix(rest, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := `"` + version + "-" + strings.TrimPrefix(rest, "/") + `"`
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("ETag", etag)
	if a.gzipped {
		hd.Add("Vary", "Accept-Encoding")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !a.gzipped {
		w.Write(a.body)
		return
	}
	if acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		w.Write(a.body)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.body))
	if err != nil {
		http.Error(w, "swaggerui: corrupt asset", http.StatusInternalServerError)
		return
	}
	io.Copy(w, zr)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0"
		}
	}
	return false
}
