//go:build linux

package baton_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSessionSurvivesReloads logs in to examples/login, reloads it ten
// times, restarts it in place and then stops and starts it again: each new
// worker must still know the user, since the session is on disk rather
// than in the worker that created it.
func TestSessionSurvivesReloads(t *testing.T) {
	// The default FileStore lives in the user cache directory, which is
	// $XDG_CACHE_HOME here.
	tmp := t.TempDir()
	env := []string{"XDG_CACHE_HOME=" + tmp, "STATE_DIRECTORY=", "TMPDIR=" + tmp}
	bin := build(t, "./examples/login")
	p := startProgram(t, bin, freePort(t), env...)
	worker := p.WaitServing(0, 30*time.Second)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}
	page := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "POST" {
			resp, err = c.PostForm(p.URL(path), form)
		} else {
			resp, err = c.Get(p.URL(path))
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
		p.Signal(syscall.SIGUSR1)
		worker = p.WaitServing(worker, 30*time.Second)
		code, body := page("GET", "/", nil)
		if code != 200 || !strings.Contains(body, "Hello, ann!") {
			t.Fatalf("after reload %d (worker %d): GET / = %d, want the greeting:\n%s", i+1, worker, code, body)
		}
	}
	u, _ := url.Parse(p.URL("/"))
	var id string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "batonsid" {
			id = ck.Value
		}
	}
	dir := filepath.Join(tmp, "baton", "sessions-default")
	if fi, err := os.Lstat(filepath.Join(dir, id+".json")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("session %q not in a file of %s: %v", id, dir, err)
	}

	p.Signal(syscall.SIGUSR2)
	p.WaitServing(worker, 30*time.Second)
	if code, body := page("GET", "/", nil); code != 200 || !strings.Contains(body, "Hello, ann!") {
		t.Fatalf("after a restart: GET / = %d, want the greeting:\n%s", code, body)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.WaitExit(30 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	// Cookies are not kept apart by port: the jar sends the session to
	// the new program too.
	p = startProgram(t, bin, freePort(t), env...)
	p.WaitServing(0, 30*time.Second)
	if code, body := page("GET", "/", nil); code != 200 || !strings.Contains(body, "Hello, ann!") {
		t.Fatalf("after a stop and a start: GET / = %d, want the greeting:\n%s", code, body)
	}
	if code, body := page("POST", "/logout", nil); code != 200 || !strings.Contains(body, "Log in") {
		t.Errorf("logout = %d, want the login form:\n%s", code, body)
	}
}

// TestSessionDirRefusedAtStart plants an open directory where
// examples/login keeps its sessions: the program must not come up, and
// its log must name the directory.
func TestSessionDirRefusedAtStart(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "baton", "sessions-default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := startProgram(t, build(t, "./examples/login"), freePort(t),
		"XDG_CACHE_HOME="+tmp, "STATE_DIRECTORY=", "TMPDIR="+tmp)
	if code := p.WaitExit(30 * time.Second); code == 0 {
		t.Errorf("exit code = 0, want a failure")
	}
	if log := p.Log.String(); !strings.Contains(log, dir) || !strings.Contains(log, "session directory unsafe") {
		t.Errorf("log does not name the unsafe directory %s:\n%s", dir, log)
	}
}
