package baton_test

import (
	"bytes"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baton-go/baton"
)

// viewFiles is a small view tree: a layout with a block, a partial, and
// pages that name the layout.
var viewFiles = map[string]string{
	"layout/main.html": `<html><title>{{block "title" .}}baton{{end}}</title>` +
		`<body>{{template "partial/nav.html" .}}<main>{{block "content" .}}{{end}}</main></body></html>`,
	"partial/nav.html": `<nav>{{.User | default "guest"}}</nav>`,
	"index.html": `{{template "layout/main.html" .}}` +
		`{{define "title"}}Home{{end}}{{define "content"}}<h1>Hello {{.User}}</h1>{{end}}`,
	"user/profile.html": `{{template "layout/main.html" .}}{{define "content"}}<p>{{.User | upper}}</p>{{end}}`,
	"plain.tmpl":        `plain {{.}}`,
	"broken_exec.html":  `before {{index .List 5}} after`,
	"README.md":         `{{not a template`, // not a view extension: ignored
	".hidden.html":      `{{not parsed`,
}

// writeViews writes files below a new temporary directory and returns it.
func writeViews(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		writeFile(t, filepath.Join(dir, name), text)
	}
	return dir
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink for servers whose handlers run concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// viewServer returns a server reading views from dir, whose log goes to
// the returned buffer.
func viewServer(t *testing.T, dir string) (*baton.Server, *syncBuffer) {
	t.Helper()
	s := newServer(t)
	logs := new(syncBuffer)
	s.SetLogger(newTextLogger(logs))
	s.SetViewPath(dir)
	return s, logs
}

func TestWriteTpl(t *testing.T) {
	s, logs := viewServer(t, writeViews(t, viewFiles))
	s.BindHandler("/tpl/*name", func(r *baton.Request) {
		data := map[string]any{"User": r.Query("user"), "List": []int{1}}
		if r.Query("before") != "" {
			r.Response.Write("written before; ")
		}
		r.Response.WriteTpl(r.Param("name")[1:], data)
	})
	tests := []struct {
		name     string
		target   string
		code     int
		body     string
		notInLog bool
	}{
		{"page in layout with partial", "/tpl/index.html?user=ann", 200,
			`<html><title>Home</title><body><nav>ann</nav><main><h1>Hello ann</h1></main></body></html>`, true},
		{"default and upper", "/tpl/user/profile.html", 200,
			`<html><title>baton</title><body><nav>guest</nav><main><p></p></main></body></html>`, true},
		{"upper in a subdirectory page", "/tpl/user/profile.html?user=bob", 200,
			`<html><title>baton</title><body><nav>bob</nav><main><p>BOB</p></main></body></html>`, true},
		{"escaping", "/tpl/index.html?user=%3Cb%3E", 200,
			`<html><title>Home</title><body><nav>&lt;b&gt;</nav><main><h1>Hello &lt;b&gt;</h1></main></body></html>`, true},
		{"a partial by its name", "/tpl/partial/nav.html?user=cy", 200, `<nav>cy</nav>`, true},
		{"tmpl extension", "/tpl/plain.tmpl", 200, `plain map[List:[1] User:]`, true},
		{"append after earlier output", "/tpl/partial/nav.html?before=1", 200, `written before; <nav>guest</nav>`, true},
		{"missing template", "/tpl/nope.html", 500, "Internal Server Error", false},
		{"not a view file", "/tpl/README.md", 500, "Internal Server Error", false},
		{"hidden file", "/tpl/.hidden.html", 500, "Internal Server Error", false},
		{"execution error discards the page", "/tpl/broken_exec.html?before=1", 500, "Internal Server Error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(logs.String())
			rec := serve(t, s, "GET", tt.target, nil)
			body := strings.TrimSpace(rec.Body.String())
			if rec.Code != tt.code || body != tt.body {
				t.Errorf("GET %q = %d %q, want %d %q", tt.target, rec.Code, body, tt.code, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); tt.code == 200 && ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			logged := logs.String()[before:]
			if tt.notInLog == strings.Contains(logged, "render failed") {
				t.Errorf("log after GET %q = %q, want a render error: %v", tt.target, logged, !tt.notInLog)
			}
		})
	}
}

func TestWriteTplParseErrorIs500(t *testing.T) {
	files := map[string]string{"ok.html": "fine", "bad.html": "{{if}}"}
	s, logs := viewServer(t, writeViews(t, files))
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.Header().Set("X-Partial", "yes")
		r.Response.Write("half a page")
		if err := r.Response.WriteTpl("ok.html", nil); err == nil {
			t.Error("WriteTpl returned no error with a broken file in the tree")
		}
	})
	rec := serve(t, s, "GET", "/", nil)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "half") || rec.Header().Get("X-Partial") != "" {
		t.Errorf("GET / = %d %q %v, want a bare 500", rec.Code, rec.Body.String(), rec.Header())
	}
	if !strings.Contains(logs.String(), "bad.html") {
		t.Errorf("log lacks the parse error naming bad.html:\n%s", logs)
	}
	if err := s.LoadViews(); err == nil || !strings.Contains(err.Error(), "bad.html") {
		t.Errorf("LoadViews() = %v, want the parse error of bad.html", err)
	}
}

func TestWriteTplContent(t *testing.T) {
	s, _ := viewServer(t, writeViews(t, viewFiles))
	when := time.Date(2024, 5, 17, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name, text string
		data       any
		code       int
		body       string
	}{
		{"funcs", `{{upper .A}} {{lower .B}} {{.C | default "none"}} {{date "2006-01-02" .D}}`,
			map[string]any{"A": "x", "B": "Y", "C": "", "D": when}, 200, "X y none 2024-05-17"},
		{"json is escaped in HTML", `{{json .}}`, map[string]any{"a": "<b>"}, 200, `{&#34;a&#34;:&#34;\u003cb\u003e&#34;}`},
		{"safe", `{{safe .}}`, "<b>bold</b>", 200, "<b>bold</b>"},
		{"dict to a partial", `{{template "partial/nav.html" dict "User" "dee"}}`, nil, 200, "<nav>dee</nav>"},
		{"date of unix seconds", `{{date "2006" .}}`, int64(0), 200, time.Unix(0, 0).Format("2006")},
		{"dict with an odd count", `{{dict "a"}}`, nil, 500, "Internal Server Error"},
		{"parse error", `{{if}}`, nil, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := baton.New()
			h.SetConfig(s.Config())
			h.BindHandler("/", func(r *baton.Request) { r.Response.WriteTplContent(tt.text, tt.data) })
			rec := serve(t, h, "GET", "/", nil)
			if body := strings.TrimSpace(rec.Body.String()); rec.Code != tt.code || body != tt.body {
				t.Errorf("WriteTplContent(%q) = %d %q, want %d %q", tt.text, rec.Code, body, tt.code, tt.body)
			}
		})
	}
}

func TestViewFSAndFuncs(t *testing.T) {
	s := newServer(t)
	s.SetViewFS(fstest.MapFS{
		"layout/base.html": {Data: []byte(`[{{block "body" .}}{{end}}]`)},
		"hi.html":          {Data: []byte(`{{template "layout/base.html" .}}{{define "body"}}{{shout .}}{{end}}`)},
	})
	s.SetViewFuncs(template.FuncMap{"shout": func(s string) string { return s + "!" }})
	s.BindHandler("/", func(r *baton.Request) { r.Response.WriteTpl("hi.html", "hey") })
	if rec := serve(t, s, "GET", "/", nil); rec.Code != 200 || rec.Body.String() != "[hey!]" {
		t.Errorf("GET / = %d %q, want 200 %q", rec.Code, rec.Body.String(), "[hey!]")
	}
}

// TestViewAutoReload edits a template and polls until the server shows
// the edit: no rebuild, no restart.
func TestViewAutoReload(t *testing.T) {
	dir := writeViews(t, map[string]string{"page.html": "version one", "layout/l.html": "L"})
	s, _ := viewServer(t, dir)
	s.SetViewAutoReload(true)
	s.BindHandler("/", func(r *baton.Request) { r.Response.WriteTpl("page.html", nil) })
	get := func() (int, string) {
		rec := serve(t, s, "GET", "/", nil)
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || body != "version one" {
		t.Fatalf("GET / = %d %q, want version one", code, body)
	}
	steps := []struct {
		name, file, text string
		code             int
		body             string
	}{
		{"edit", "page.html", "version two, longer", 200, "version two, longer"},
		{"break", "page.html", "{{if}}", 500, "Internal Server Error\n"},
		{"repair", "page.html", "version three", 200, "version three"},
		{"new partial", "partial/p.html", "P", 200, "version three"},
		{"use it", "page.html", `{{template "partial/p.html"}}{{template "layout/l.html"}}`, 200, "PL"},
	}
	for _, st := range steps {
		writeFile(t, filepath.Join(dir, st.file), st.text)
		var code int
		var body string
		waitFor(t, st.name+" to show", 10*time.Second, func() bool {
			code, body = get()
			return code == st.code && body == st.body
		})
	}
}

func TestWriteTplStatusKept(t *testing.T) {
	s, _ := viewServer(t, writeViews(t, map[string]string{"nf.html": "gone"}))
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.WriteHeader(http.StatusNotFound)
		r.Response.WriteTpl("nf.html", nil)
	})
	if rec := serve(t, s, "GET", "/", nil); rec.Code != 404 || rec.Body.String() != "gone" {
		t.Errorf("GET / = %d %q, want 404 gone", rec.Code, rec.Body.String())
	}
}
