package baton

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/proc"
	"github.com/gorilla/websocket"
)

// setDev turns development mode on for the test, with st.
func setDev(t *testing.T, st proc.DevState) {
	t.Helper()
	devMode.Store(newDevInfo(st))
	t.Cleanup(func() { devMode.Store(nil) })
}

func TestDevInjection(t *testing.T) {
	page := "<!doctype html><html><body><h1>hi</h1></BODY></html>"
	tests := []struct {
		name        string
		state       *proc.DevState // nil: development mode off
		ctype       string
		encoding    string
		body        string
		wantScript  bool
		wantOverlay bool
	}{
		{name: "off", body: page, ctype: "text/html"},
		{name: "html", state: &proc.DevState{Build: 3}, ctype: "text/html; charset=utf-8", body: page, wantScript: true},
		{name: "sniffed html", state: &proc.DevState{Build: 3}, body: page, wantScript: true},
		{name: "no body tag", state: &proc.DevState{Build: 3}, ctype: "text/html", body: "<p>x</p>", wantScript: true},
		{name: "error", state: &proc.DevState{Build: 3, Latest: 4, Failed: 4, Error: "./main.go:9:2: undefined: x <b>"}, ctype: "text/html", body: page, wantScript: true, wantOverlay: true},
		// The new build's worker can serve before the master's word that
		// its build cleared the error reaches it.
		{name: "an older build's error on a newer build", state: &proc.DevState{Build: 3, Latest: 3, Failed: 2, Error: "./main.go:9:2: undefined: x"}, ctype: "text/html", body: page, wantScript: true},
		{name: "plain text", state: &proc.DevState{Build: 3, Latest: 4, Error: "boom"}, ctype: "text/plain", body: "</body>"},
		{name: "json", state: &proc.DevState{Build: 3, Latest: 4, Error: "boom"}, ctype: "application/json", body: `{"a":"</body>"}`},
		{name: "compressed", state: &proc.DevState{Build: 3}, ctype: "text/html", encoding: "gzip", body: page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.state != nil {
				setDev(t, *tt.state)
			}
			s := New()
			s.BindHandler("/", func(r *Request) {
				if tt.ctype != "" {
					r.Response.Header().Set("Content-Type", tt.ctype)
				}
				if tt.encoding != "" {
					r.Response.Header().Set("Content-Encoding", tt.encoding)
				}
				r.Response.Write(tt.body)
			})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			got := rec.Body.String()
			if has := strings.Contains(got, `<script src="/__baton/dev.js"`); has != tt.wantScript {
				t.Errorf("script in %q: %v, want %v", got, has, tt.wantScript)
			}
			if has := strings.Contains(got, `id="baton-dev-overlay"`); has != tt.wantOverlay {
				t.Errorf("overlay in %q: %v, want %v", got, has, tt.wantOverlay)
			}
			if tt.wantOverlay && !strings.Contains(got, "./main.go:9:2: undefined: x &lt;b&gt;") {
				t.Errorf("the overlay does not show the escaped error: %q", got)
			}
			if tt.wantScript && strings.Contains(tt.body, "</BODY>") && !strings.HasSuffix(got, "</BODY></html>") {
				t.Errorf("the script is not before </body>: %q", got)
			}
			if strings.Count(got, "data-baton-dev") > 2 {
				t.Errorf("injected more than once: %q", got)
			}
		})
	}
}

func TestDevStaticHTML(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<html><body>static</body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.css"), []byte("body{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	setDev(t, proc.DevState{Build: 1})
	s := New()
	s.SetServerRoot(dir)
	for path, want := range map[string]bool{"/": true, "/index.html": true, "/a.css": false} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		if got := strings.Contains(rec.Body.String(), "/__baton/dev.js"); got != want {
			t.Errorf("GET %s: script %v, want %v: %q", path, got, want, rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" && cc != "no-store" {
			t.Errorf("GET %s in development mode: Cache-Control %q, want the browser to revalidate", path, cc)
		}
	}
}

func TestDevOffServesNoDevPaths(t *testing.T) {
	s := New()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/__baton/dev.js", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /__baton/dev.js with development mode off = %d, want 404", rec.Code)
	}
}

func TestDevFinishAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	s := New()
	s.SetAccessLogEnabled(false)
	s.BindHandler("/", func(r *Request) {
		r.Response.Header().Set("Content-Type", "text/html")
		r.Response.Write("<html><body>x</body></html>")
	})
	req := httptest.NewRequest("GET", "/", nil)
	w := &discardWriter{h: http.Header{}}
	s.ServeHTTP(w, req)
	off := testing.AllocsPerRun(200, func() { clear(w.h); s.ServeHTTP(w, req) })
	setDev(t, proc.DevState{Build: 1})
	on := testing.AllocsPerRun(200, func() { clear(w.h); s.ServeHTTP(w, req) })
	t.Logf("allocations per HTML request: %v with development mode off, %v on", off, on)
	devMode.Store(nil)
	if again := testing.AllocsPerRun(200, func() { clear(w.h); s.ServeHTTP(w, req) }); again != off {
		t.Errorf("allocations with development mode off = %v after it was on, %v before", again, off)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func TestDevSocket(t *testing.T) {
	// Build 0 (the program's own binary) must be sent as such: the page
	// compares it with the build it was served by.
	setDev(t, proc.DevState{Build: 0, Latest: 0, Ready: true})
	s := New()
	srv := httptest.NewServer(s)
	defer srv.Close()

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/__baton/dev.js", nil))
	if ct := rec.Header().Get("Content-Type"); rec.Code != 200 || !strings.HasPrefix(ct, "text/javascript") || !strings.Contains(rec.Body.String(), "1012") {
		t.Fatalf("GET /__baton/dev.js = %d %q", rec.Code, ct)
	}

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/__baton/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var raw []byte
	read := func() devMessage {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		raw = b
		var m devMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := read(); m.Type != "state" || m.Build != 0 || m.Err != 0 || !strings.Contains(string(raw), `"build":0`) {
		t.Errorf("first message = %s, want the state of build 0", raw)
	}
	waitClients(t, 1)
	setDevState(proc.DevState{Build: 0, Latest: 3, Failed: 3, Ready: true, Error: "x.go:1:1: boom"})
	if m := read(); m.Type != "state" || m.Err != 3 {
		t.Errorf("after a failed build 3: %+v, want err 3", m)
	}
	setDevState(proc.DevState{Build: 0, Latest: 3, Failed: 3, Ready: true, Error: "x.go:1:1: boom", Refresh: 1})
	if m := read(); m.Type != "refresh" {
		t.Errorf("after a refresh: %+v", m)
	}
}

func waitClients(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		devHub.mu.Lock()
		got := len(devHub.clients)
		devHub.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pages connected, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDevTemplateErrorOverlay checks that in development mode a template
// error is shown over the page (still a 500), with the page script that
// reloads it once fixed, and that without development mode it stays a
// bare 500.
func TestDevTemplateErrorOverlay(t *testing.T) {
	s := newServer("tplerr")
	s.SetAccessLogEnabled(false)
	s.BindHandler("/", func(r *Request) {
		r.Response.WriteTplContent(`<p>{{.Missing.Field}}</p>`, map[string]any{"Missing": 3})
	})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "template error") {
		t.Errorf("without development mode: %d %q, want a bare 500", rec.Code, rec.Body)
	}
	setDev(t, proc.DevState{Build: 1, Latest: 1, Ready: true})
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 500 || !strings.Contains(body, "baton: template error") || !strings.Contains(body, "can&#39;t evaluate field Field") ||
		!strings.Contains(body, "/__baton/dev.js") {
		t.Errorf("in development mode: %d %q, want a 500 page with the error and the page script", rec.Code, body)
	}
}

// The views reload their files in development mode by the master's rule
// for BATON_DEV, whatever word turns it on or off.
func TestDevModeOneRule(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want bool
	}{
		{"1", true}, {"true", true}, {"on", true}, {"yes", true},
		{"0", false}, {"false", false}, {"off", false}, {"no", false}, {"", false},
	} {
		t.Setenv(proc.EnvDev, tt.env)
		if got := newViewCache(ServerConfig{}).auto; got != tt.want {
			t.Errorf("%s=%q: views reload = %v, want %v", proc.EnvDev, tt.env, got, tt.want)
		}
		if got := devOn(false); got != tt.want {
			t.Errorf("%s=%q: devOn(false) = %v, want %v", proc.EnvDev, tt.env, got, tt.want)
		}
	}
	t.Setenv(proc.EnvDev, "0")
	if devOn(true) {
		t.Errorf("%s=0: devOn(true) = true, want the variable to turn it off", proc.EnvDev)
	}
}
