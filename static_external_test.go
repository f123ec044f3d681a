package baton_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// dotRoot makes a server root holding dotfiles beside ordinary files.
func dotRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		".env":                      "SECRET=env",
		".git/config":               "[core] secret",
		".git/HEAD":                 "ref: secret",
		"a/.hidden/x":               "secret x",
		"a/visible.txt":             "visible",
		"a/.profile":                "secret profile",
		".well-known/security.txt":  "Contact: mailto:sec@example.com",
		".well-known/.private":      "secret private",
		".well-known/acme/token-1":  "token-1",
		"pub/.well-known/other.txt": "secret other",
		"pub/index.txt":             "pub",
	}
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

func TestStaticDotFilesDenied(t *testing.T) {
	root := dotRoot(t)
	s := newServer(t)
	s.SetServerRoot(root)
	s.SetDirectoryListing(true)
	tests := []struct {
		name, target string
		code         int
		body         string
	}{
		{"env", "/.env", 404, ""},
		{"git config", "/.git/config", 404, ""},
		{"git dir no redirect", "/.git", 404, ""},
		{"git dir listing", "/.git/", 404, ""},
		{"nested hidden dir", "/a/.hidden/x", 404, ""},
		{"nested dotfile", "/a/.profile", 404, ""},
		{"encoded dot", "/%2eenv", 404, ""},
		{"encoded dot upper", "/%2Egit/config", 404, ""},
		{"encoded nested", "/a/%2ehidden/x", 404, ""},
		{"double slash", "//.env", 404, ""},
		{"double slash nested", "/a//.hidden//x", 404, ""},
		{"dot segment before", "/./.env", 404, ""},
		{"dot dot into dotfile", "/a/../.env", 404, ""},
		{"well-known then out", "/.well-known/../.env", 404, ""},
		{"dotfile below well-known", "/.well-known/.private", 404, ""},
		{"well-known not at root", "/pub/.well-known/other.txt", 404, ""},
		{"upper-case well-known", "/.WELL-KNOWN/security.txt", 404, ""},
		{"security.txt", "/.well-known/security.txt", 200, "Contact: mailto:sec@example.com"},
		{"encoded well-known", "/%2ewell-known/security.txt", 200, "Contact: mailto:sec@example.com"},
		{"acme challenge", "/.well-known/acme/token-1", 200, "token-1"},
		{"ordinary file", "/a/visible.txt", 200, "visible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, "GET", tt.target, nil)
			if rec.Code != tt.code || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
			if strings.Contains(rec.Body.String(), "secret") || rec.Header().Get("Location") != "" {
				t.Errorf("GET %s revealed a dotfile: %d %q, Location %q", tt.target, rec.Code, rec.Body, rec.Header().Get("Location"))
			}
		})
	}
	t.Run("listing hides dotfiles", func(t *testing.T) {
		for _, tt := range []struct {
			target string
			want   []string
			hidden []string
		}{
			{"/", []string{`href="a/"`, `href="pub/"`, `href=".well-known/"`}, []string{".env", ".git"}},
			{"/a/", []string{`href="visible.txt"`}, []string{".hidden", ".profile"}},
			{"/.well-known/", []string{`href="security.txt"`, `href="acme/"`}, []string{".private"}},
		} {
			rec := serve(t, s, "GET", tt.target, nil)
			body := rec.Body.String()
			if rec.Code != 200 {
				t.Errorf("GET %s = %d, want 200", tt.target, rec.Code)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("listing of %s = %q, want it to contain %q", tt.target, body, w)
				}
			}
			for _, h := range tt.hidden {
				if strings.Contains(body, h) {
					t.Errorf("listing of %s = %q, shows %q", tt.target, body, h)
				}
			}
		}
	})
}

func TestStaticDotFilesOptIn(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.ServerRoot = dotRoot(t)
	c.DirectoryListing = true
	c.ServeDotFiles = true
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, want string }{
		{"/.env", "SECRET=env"},
		{"/%2egit/config", "[core] secret"},
		{"/a/.hidden/x", "secret x"},
		{"/.well-known/.private", "secret private"},
		{"/.well-known/security.txt", "Contact: mailto:sec@example.com"},
	} {
		rec := serve(t, s, "GET", tt.target, nil)
		if rec.Code != 200 || rec.Body.String() != tt.want {
			t.Errorf("GET %s with ServeDotFiles = %d %q, want 200 %q", tt.target, rec.Code, rec.Body, tt.want)
		}
	}
	if rec := serve(t, s, "GET", "/a/", nil); !strings.Contains(rec.Body.String(), `href=".profile"`) {
		t.Errorf("listing of /a/ with ServeDotFiles = %d %q, want .profile in it", rec.Code, rec.Body)
	}
}

// TestStaticDotFilesByHandler checks that the rule is the static file
// server's: a route to a dotfile, and ServeFile of a path the handler
// chose, still serve it.
func TestStaticDotFilesByHandler(t *testing.T) {
	root := dotRoot(t)
	s := newServer(t)
	s.SetServerRoot(root)
	s.BindHandler("GET:/.env", echo("route"))
	s.BindHandler("GET:/download", func(r *baton.Request) {
		r.Response.ServeFile(filepath.Join(root, ".git", "config"))
	})
	for _, tt := range []struct{ target, want string }{
		{"/.env", "route"},
		{"/download", "[core] secret"},
	} {
		rec := serve(t, s, "GET", tt.target, nil)
		if rec.Code != 200 || rec.Body.String() != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.target, rec.Code, rec.Body, tt.want)
		}
	}
}

// The server is plain http.Handler: check once over a real connection too,
// where the client sends the encoded path as it is.
func TestStaticDotFilesOverHTTP(t *testing.T) {
	s := newServer(t)
	s.SetServerRoot(dotRoot(t))
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	for _, tt := range []struct {
		target string
		code   int
	}{
		{"/.env", 404},
		{"/%2eenv", 404},
		{"/%2e%67it/config", 404},
		{"/a/.hidden/x", 404},
		{"/.well-known/security.txt", 200},
	} {
		resp, err := ts.Client().Get(ts.URL + tt.target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s = %d, want %d", tt.target, resp.StatusCode, tt.code)
		}
	}
}
