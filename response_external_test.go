package baton_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func osGetpid() int { return os.Getpid() }

func TestResponseWriters(t *testing.T) {
	s := newServer(t)
	s.BindHandler("/write", func(r *baton.Request) { r.Response.Write("a", []byte("b"), 1, true) })
	s.BindHandler("/writeln", func(r *baton.Request) { r.Response.Writeln("line") })
	s.BindHandler("/writef", func(r *baton.Request) { r.Response.Writef("%03d", 7) })
	s.BindHandler("/json", func(r *baton.Request) { r.Response.WriteJson(map[string]any{"id": 1}) })
	s.BindHandler("/status", func(r *baton.Request) { r.Response.WriteStatus(http.StatusTeapot) })
	s.BindHandler("/redirect", func(r *baton.Request) { r.Response.Write("dropped"); r.Response.RedirectTo("/there") })
	s.BindHandler("/late", func(r *baton.Request) {
		r.Response.Write("body first")
		r.Response.Header().Set("X-Late", "yes")
		r.Response.WriteHeader(http.StatusAccepted)
	})
	tests := []struct {
		target, body, header string
		code                 int
	}{
		{"/write", "ab1true", "", 200},
		{"/writeln", "line\n", "", 200},
		{"/writef", "007", "", 200},
		{"/json", "{\"id\":1}\n", "Content-Type: application/json; charset=utf-8", 200},
		{"/status", "I'm a teapot\n", "", 418},
		{"/redirect", "", "Location: /there", 302},
		{"/late", "body first", "X-Late: yes", 202},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := serve(t, s, "GET", tt.target, nil)
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := rec.Header().Get(k); got != v {
					t.Errorf("GET %s %s = %q, want %q", tt.target, k, got, v)
				}
			}
		})
	}
}

// startServer starts s on a free loopback port and shuts it down at the
// end of the test.
func startServer(t *testing.T, s *baton.Server) string {
	t.Helper()
	if len(s.Config().Addr) == 0 {
		s.SetAddr("127.0.0.1:0")
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s.URL("http")
}

func TestOneWriteWithContentLength(t *testing.T) {
	s := newServer(t)
	big := strings.Repeat("0123456789", 10_000) // 100 kB, over net/http's own buffer
	s.BindHandler("/small", echo("small"))
	s.BindHandler("/big", func(r *baton.Request) {
		for i := 0; i < 100; i++ {
			r.Response.Write(big[:1000])
		}
	})
	base := startServer(t, s)
	for _, tt := range []struct {
		path string
		n    int64
	}{{"/small", 5}, {"/big", 100_000}} {
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ContentLength != tt.n || len(resp.TransferEncoding) != 0 || int64(len(b)) != tt.n {
			t.Errorf("GET %s: Content-Length %d, Transfer-Encoding %v, %d bytes; want %d, none, %d",
				tt.path, resp.ContentLength, resp.TransferEncoding, len(b), tt.n, tt.n)
		}
	}
}

func TestFlushStreamsEvents(t *testing.T) {
	s := newServer(t)
	received := make(chan struct{})
	handlerDone := make(chan struct{})
	s.BindHandler("/events", func(r *baton.Request) {
		defer close(handlerDone)
		r.Response.Header().Set("Content-Type", "text/event-stream")
		r.Response.Write("data: first\n\n")
		r.Response.Flush()
		select { // the client must see the event while the handler still runs
		case <-received:
		case <-time.After(5 * time.Second):
			return
		}
		r.Response.Write("data: second\n\n")
		r.Response.Flush()
	})
	base := startServer(t, s)
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event = %q, %v", line, err)
	}
	select {
	case <-handlerDone:
		t.Fatal("handler returned before the client read the first event")
	default:
	}
	close(received)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: second") {
		t.Errorf("rest of stream = %q", rest)
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
}

func TestServeFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.txt")
	os.WriteFile(file, []byte("0123456789"), 0o644)
	s := newServer(t)
	s.BindHandler("/file", func(r *baton.Request) { r.Response.Write("discarded"); r.Response.ServeFile(file) })
	s.BindHandler("/download", func(r *baton.Request) { r.Response.ServeFileDownload(file, "résumé 2026.txt") })
	s.BindHandler("/missing", func(r *baton.Request) { r.Response.ServeFile(filepath.Join(dir, "nope")) })
	tests := []struct {
		name, target, rng string
		code              int
		body, header      string
	}{
		{name: "whole", target: "/file", code: 200, body: "0123456789"},
		{name: "range", target: "/file", rng: "bytes=2-4", code: 206, body: "234", header: "Content-Range: bytes 2-4/10"},
		{name: "download", target: "/download", code: 200, body: "0123456789", header: "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9%202026.txt"},
		{name: "download resumes", target: "/download", rng: "bytes=8-", code: 206, body: "89"},
		{name: "missing", target: "/missing", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.rng != "" {
				h = []string{"Range", tt.rng}
			}
			rec := serve(t, s, "GET", tt.target, nil, h...)
			if rec.Code != tt.code || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>home</h1>"), 0o644)
	os.MkdirAll(filepath.Join(root, "css"), 0o755)
	os.WriteFile(filepath.Join(root, "css", "site.css"), []byte("body{}"), 0o644)
	os.MkdirAll(filepath.Join(root, "empty"), 0o755)
	os.WriteFile(filepath.Join(root, "empty", "a.txt"), []byte("a"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "escape.txt"))
	os.Symlink(outside, filepath.Join(root, "outdir"))
	os.Symlink(filepath.Join("css", "site.css"), filepath.Join(root, "inside.css"))

	s := newServer(t)
	s.SetServerRoot(root)
	s.BindHandler("GET:/api", echo("route wins"))
	tests := []struct {
		name, target string
		code         int
		body         string
	}{
		{"index", "/", 200, "<h1>home</h1>"},
		{"file", "/css/site.css", 200, "body{}"},
		{"route first", "/api", 200, "route wins"},
		{"dir redirect", "/css", 301, ""},
		{"no listing", "/empty/", 403, ""},
		{"dot dot", "/css/../../secret.txt", 404, ""},
		{"encoded dot dot", "/%2e%2e/secret.txt", 404, ""},
		{"encoded slash", "/css%2F..%2F..%2Fsecret.txt", 404, ""},
		{"symlink out", "/escape.txt", 404, ""},
		{"symlinked dir out", "/outdir/secret.txt", 404, ""},
		{"symlink inside", "/inside.css", 200, "body{}"},
		{"missing", "/nope.txt", 404, ""},
		{"POST is not static", "/css/site.css", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if strings.HasPrefix(tt.name, "POST") {
				method = "POST"
			}
			rec := serve(t, s, method, tt.target, nil)
			if rec.Code != tt.code || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("%s %s = %d %q, want %d %q", method, tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("%s %s leaked a file outside the root", method, tt.target)
			}
		})
	}
	t.Run("listing when enabled", func(t *testing.T) {
		s.SetDirectoryListing(true)
		rec := serve(t, s, "GET", "/empty/", nil)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<a href="a.txt">a.txt</a>`) {
			t.Errorf("listing = %d %q", rec.Code, rec.Body)
		}
	})
}

func TestRequestContext(t *testing.T) {
	s := newServer(t)
	type key struct{}
	s.Use(baton.WrapMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, "carried")))
		})
	}))
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write(r.Context().Value(key{})) })
	if rec := serve(t, s, "GET", "/", nil); rec.Body.String() != "carried" {
		t.Errorf("context value = %q, want carried", rec.Body)
	}
}
