package baton_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// writeTree creates the files (slash-separated name to content) below a
// new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type staticCase struct {
	name, target string
	code         int
	body         string // prefix of the body
	location     string
}

func runStaticCases(t *testing.T, h http.Handler, tests []staticCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, "GET", tt.target, nil)
			if rec.Code != tt.code || !strings.HasPrefix(rec.Body.String(), tt.body) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("GET %s Location = %q, want %q", tt.target, got, tt.location)
			}
		})
	}
}

func TestStaticIndexFiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"htm/index.htm":   "htm index",
		"both/index.html": "html index",
		"both/index.htm":  "htm loses",
		"none/file.txt":   "x",
	})
	s := newServer(t)
	s.SetServerRoot(root)
	runStaticCases(t, s, []staticCase{
		{"index.htm is an index", "/htm/", 200, "htm index", ""},
		{"index.html comes first", "/both/", 200, "html index", ""},
		{"no index", "/none/", 403, "Forbidden", ""},
	})
	t.Run("SetIndexFiles", func(t *testing.T) {
		s2 := newServer(t)
		s2.SetServerRoot(root)
		s2.SetIndexFiles([]string{"file.txt"})
		runStaticCases(t, s2, []staticCase{
			{"own index", "/none/", 200, "x", ""},
			{"default ones are off", "/htm/", 403, "Forbidden", ""},
		})
	})
	t.Run("SetIndexFolder", func(t *testing.T) {
		s3 := newServer(t)
		s3.SetServerRoot(root)
		s3.SetIndexFolder(true)
		runStaticCases(t, s3, []staticCase{{"listing", "/none/", 200, "<!doctype html>", ""}})
	})
}

func TestStaticPathsAndSearchPaths(t *testing.T) {
	assets := writeTree(t, map[string]string{
		"app.css":       "css",
		"img/logo.svg":  "svg",
		"index.html":    "assets index",
		".env":          "SECRET",
		"sub/.git/HEAD": "SECRET",
	})
	deep := writeTree(t, map[string]string{"x.js": "deep js"})
	root := writeTree(t, map[string]string{"page.html": "root page", "shared.txt": "root shared", "static/own.txt": "root static"})
	extra1 := writeTree(t, map[string]string{"shared.txt": "extra1 shared", "only1.txt": "only1", ".secret": "SECRET"})
	extra2 := writeTree(t, map[string]string{"only1.txt": "extra2 loses", "only2.txt": "only2"})
	outside := writeTree(t, map[string]string{"secret.txt": "SECRET"})
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(assets, "link.txt")); err != nil {
		t.Fatal(err)
	}

	s := newServer(t)
	s.SetServerRoot(root)
	s.AddSearchPath(extra1)
	s.AddSearchPath(extra2)
	s.AddStaticPath("/static", assets)
	s.AddStaticPath("/static/deep/", deep)
	s.BindHandler("/static/route", echo("route"))
	runStaticCases(t, s, []staticCase{
		{"prefix mount", "/static/app.css", 200, "css", ""},
		{"prefix mount, subdirectory", "/static/img/logo.svg", 200, "svg", ""},
		{"prefix itself redirects", "/static", 301, "", "static/"},
		{"prefix index", "/static/", 200, "assets index", ""},
		{"longest prefix first", "/static/deep/x.js", 200, "deep js", ""},
		{"routes come first", "/static/route", 200, "route", ""},
		{"a missing file falls through to the roots", "/static/own.txt", 200, "root static", ""},
		{"no partial segment match", "/staticapp.css", 404, "", ""},
		{"no escape with ..", "/static/../page.html", 200, "root page", ""},
		{"no escape encoded", "/static/%2e%2e/page.html", 200, "root page", ""},
		{"no escape through a link", "/static/link.txt", 404, "", ""},
		{"dotfile of a mount", "/static/.env", 404, "", ""},
		{"dotted directory of a mount", "/static/sub/.git/HEAD", 404, "", ""},
		{"server root", "/page.html", 200, "root page", ""},
		{"server root before search paths", "/shared.txt", 200, "root shared", ""},
		{"first search path", "/only1.txt", 200, "only1", ""},
		{"second search path", "/only2.txt", 200, "only2", ""},
		{"dotfile of a search path", "/.secret", 404, "", ""},
		{"absent everywhere", "/nothing.txt", 404, "", ""},
	})

	t.Run("without a server root", func(t *testing.T) {
		s := newServer(t)
		s.AddStaticPath("/a", assets)
		s.AddSearchPath(extra2)
		runStaticCases(t, s, []staticCase{
			{"mount", "/a/app.css", 200, "css", ""},
			{"search path", "/only2.txt", 200, "only2", ""},
			{"absent", "/page.html", 404, "", ""},
		})
	})
	t.Run("dotfiles opted in", func(t *testing.T) {
		s := newServer(t)
		s.AddStaticPath("/a", assets)
		c := s.Config()
		c.ServeDotFiles = true
		if err := s.SetConfig(c); err != nil {
			t.Fatal(err)
		}
		runStaticCases(t, s, []staticCase{{"dotfile", "/a/.env", 200, "SECRET", ""}})
	})
}

func TestStaticPathsBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		f    func(s *baton.Server)
	}{
		{"AddStaticPath missing dir", func(s *baton.Server) { s.AddStaticPath("/a", filepath.Join(dir, "missing")) }},
		{"AddStaticPath relative prefix", func(s *baton.Server) { s.AddStaticPath("a", dir) }},
		{"AddStaticPath empty prefix", func(s *baton.Server) { s.AddStaticPath("", dir) }},
		{"AddStaticPath prefix with ..", func(s *baton.Server) { s.AddStaticPath("/a/../b", dir) }},
		{"AddSearchPath missing dir", func(s *baton.Server) { s.AddSearchPath(filepath.Join(dir, "missing")) }},
		{"SetRewrite relative", func(s *baton.Server) { s.SetRewrite("a", "/b") }},
		{"SetRewrite relative target", func(s *baton.Server) { s.SetRewrite("/a", "b") }},
		{"SetRewrite target with a query", func(s *baton.Server) { s.SetRewrite("/a", "/b?x=1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			defer func() {
				p := recover()
				if p == nil {
					t.Fatalf("%s did not panic", tt.name)
				}
				if msg := strings.TrimPrefix(p.(error).Error(), "baton: "); msg == p.(error).Error() {
					t.Errorf("panic %q, want a baton: error", p)
				}
			}()
			tt.f(s)
		})
	}
}

func TestRewrite(t *testing.T) {
	root := writeTree(t, map[string]string{"real.html": "real file"})
	s := newServer(t)
	s.SetServerRoot(root)
	s.BindHandler("/new", func(r *baton.Request) { r.Response.Write("new ", r.URL.Path, " ", r.Query("q")) })
	s.BindHandler("/user/:id", func(r *baton.Request) { r.Response.Write("user ", r.Param("id")) })
	s.BindHandler("/old", echo("old handler"))
	s.SetRewrite("/old", "/new")
	s.SetRewriteMap(map[string]string{"/me": "/user/7", "/file": "/real.html"})
	runStaticCases(t, s, []staticCase{
		{"exact path", "/old", 200, "new /new ", ""},
		{"query kept", "/old?q=1", 200, "new /new 1", ""},
		{"to a parameter route", "/me", 200, "user 7", ""},
		{"to a static file", "/file", 200, "real file", ""},
		{"not a prefix", "/old/x", 404, "", ""},
		{"a longer path differs", "/olde", 404, "", ""},
		{"target served itself", "/new", 200, "new /new ", ""},
	})
	t.Run("SetRewriteMap adds", func(t *testing.T) {
		if got := s.Config().Rewrites; len(got) != 3 || got["/old"] != "/new" {
			t.Errorf("Config().Rewrites = %v, want the three rules", got)
		}
	})
}
