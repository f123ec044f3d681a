//go:build linux

package baton_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSessionSurvivesReloads logs in to examples/login and reloads it ten
// times: each new worker must still know the user, since the session is on
// disk rather than in the worker that created it.
func TestSessionSurvivesReloads(t *testing.T) {
	tmp := t.TempDir() // the default FileStore lives below os.TempDir()
	p := startProgram(t, build(t, "./examples/login"), freePort(t), "TMPDIR="+tmp)
	worker := p.waitServing(0, 30*time.Second)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}
	page := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "POST" {
			resp, err = c.PostForm(p.url(path), form)
		} else {
			resp, err = c.Get(p.url(path))
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := page("GET", "/", nil); code != 200 || !strings.Contains(body, "Log in") {
		t.Fatalf("GET / before logging in = %d, want the login form:\n%s", code, body)
	}
	if code, _ := page("POST", "/login", url.Values{"user": {"ann"}, "password": {"wrong"}}); code != 401 {
		t.Errorf("login with a wrong password = %d, want 401", code)
	}
	code, body := page("POST", "/login", url.Values{"user": {"ann"}, "password": {"baton"}})
	if code != 200 || !strings.Contains(body, "Hello, ann!") {
		t.Fatalf("login = %d, want the greeting:\n%s", code, body)
	}
	for i := range 10 {
		p.signal(syscall.SIGUSR1)
		worker = p.waitServing(worker, 30*time.Second)
		code, body := page("GET", "/", nil)
		if code != 200 || !strings.Contains(body, "Hello, ann!") {
			t.Fatalf("after reload %d (worker %d): GET / = %d, want the greeting:\n%s", i+1, worker, code, body)
		}
	}
	if code, body := page("POST", "/logout", nil); code != 200 || !strings.Contains(body, "Log in") {
		t.Errorf("logout = %d, want the login form:\n%s", code, body)
	}
}
