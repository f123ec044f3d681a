package baton

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// viewTestServer serves /page.html from a view directory holding a
// layout, a partial and the page.
func viewTestServer(tb testing.TB, auto bool) (*Server, string) {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"layout/main.html": `<html><body>{{template "partial/nav.html" .}}{{block "content" .}}{{end}}</body></html>`,
		"partial/nav.html": `<nav>{{.User | upper}}</nav>`,
		"page.html":        `{{template "layout/main.html" .}}{{define "content"}}{{range .Items}}<li>{{.}}</li>{{end}}{{end}}`,
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	s := New()
	c := s.Config()
	c.AccessLogDisabled = true
	c.ViewPath = dir
	c.ViewAutoReload = auto
	if err := s.SetConfig(c); err != nil {
		tb.Fatal(err)
	}
	data := map[string]any{"User": "ann", "Items": []string{"a", "b", "c"}}
	s.BindHandler("/", func(r *Request) { r.Response.WriteTpl("page.html", data) })
	return s, dir
}

func TestViewParsedOnce(t *testing.T) {
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("auto reload %v", auto), func(t *testing.T) {
			s, dir := viewTestServer(t, auto)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						rec := httptest.NewRecorder()
						s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
						if rec.Code != 200 {
							t.Errorf("GET / = %d %q", rec.Code, rec.Body)
						}
					}
				})
			}
			wg.Wait()
			v := s.views.Load()
			if n := v.parses.Load(); n != 1 {
				t.Errorf("200 renders parsed the tree %d times, want 1", n)
			}
			if auto {
				return
			}
			// Without auto reload an edit is not looked for, even when a
			// check would be due.
			os.WriteFile(filepath.Join(dir, "page.html"), []byte("edited, longer text"), 0o644)
			v.next.Store(0)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if n := v.parses.Load(); n != 1 || rec.Body.String() == "edited, longer text" {
				t.Errorf("after an edit without auto reload: parses = %d, body %q; want 1 and the cached page", n, rec.Body)
			}
		})
	}
}

// BenchmarkWriteTpl renders a page with a layout and a partial from the
// cache, and with the tree parsed again for every render (as a framework
// without a cache would).
func BenchmarkWriteTpl(b *testing.B) {
	for _, tc := range []struct {
		name    string
		reparse bool
	}{{"cached", false}, {"reparse", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s, _ := viewTestServer(b, false)
			req := httptest.NewRequest("GET", "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				if tc.reparse {
					s.views.Load().set.Store(nil)
				}
				s.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
