package baton_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// TestPProf serves the profiles at EnablePProf's pattern and below the
// admin page, behind the admin's access rules.
func TestPProf(t *testing.T) {
	open := baton.New()
	c := open.Config()
	c.Admin.AllowLocal = true
	if err := open.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	open.EnablePProf()
	open.EnableAdmin()
	closed := baton.New()
	closed.EnablePProf("/prof")
	token := baton.New()
	c = token.Config()
	c.Admin.Token = "s3cret"
	c.Admin.AllowLocal = true
	if err := token.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	token.EnablePProf()

	gzipped := func(b []byte) bool {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return false
		}
		_, err = io.Copy(io.Discard, zr)
		return err == nil
	}
	for _, tc := range []struct {
		name   string
		s      *baton.Server
		path   string
		header string
		code   int
		check  func([]byte) bool
	}{
		{"index", open, "/debug/pprof/", "", 200, func(b []byte) bool { return bytes.Contains(b, []byte(`href="heap?debug=1"`)) }},
		{"heap as pprof", open, "/debug/pprof/heap", "", 200, gzipped},
		{"goroutines as text", open, "/debug/pprof/goroutine?debug=1", "", 200, func(b []byte) bool { return bytes.Contains(b, []byte("goroutine profile:")) }},
		{"cpu profile", open, "/debug/pprof/profile?seconds=1", "", 200, gzipped},
		{"trace", open, "/debug/pprof/trace?seconds=1", "", 200, func(b []byte) bool { return bytes.HasPrefix(b, []byte("go 1.")) }},
		{"cmdline", open, "/debug/pprof/cmdline", "", 200, func(b []byte) bool { return len(b) > 0 }},
		{"unknown profile", open, "/debug/pprof/nope", "", 404, nil},
		{"seconds out of range", open, "/debug/pprof/profile?seconds=100000", "", 400, nil},
		{"below the admin", open, "/debug/admin/pprof/heap", "", 200, gzipped},
		{"nobody by default", closed, "/prof/heap", "", 403, nil},
		{"token missing", token, "/debug/pprof/heap", "", 401, nil},
		{"token given", token, "/debug/pprof/heap", "Bearer s3cret", 200, gzipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.RemoteAddr = "127.0.0.1:5000"
			req.Host = "127.0.0.1:8199"
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			tc.s.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("GET %s: %d %s, want %d", tc.path, rec.Code, strings.TrimSpace(rec.Body.String()), tc.code)
			}
			if tc.check != nil && !tc.check(rec.Body.Bytes()) {
				t.Errorf("GET %s: unexpected body %.200q", tc.path, rec.Body.String())
			}
		})
	}
}

// TestPProfOneCPUProfile: a CPU profile while another runs is refused.
func TestPProfOneCPUProfile(t *testing.T) {
	s := baton.New()
	c := s.Config()
	c.Admin.AllowLocal = true
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.EnablePProf()
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skip("a CPU profile runs already:", err)
	}
	defer pprof.StopCPUProfile()
	req := httptest.NewRequest("GET", "/debug/pprof/profile?seconds=1", nil)
	req.RemoteAddr, req.Host = "127.0.0.1:5000", "127.0.0.1:8199"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict {
		t.Errorf("CPU profile while another runs: %d %s, want 409", rec.Code, rec.Body)
	}
}
