//go:build unix

package baton_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGFStyleExample runs examples/gfstyle, the program written the
// GoFrame way, and checks each of its routes before and after a reload.
func TestGFStyleExample(t *testing.T) {
	p := startProgram(t, build(t, "./examples/gfstyle"), freePort(t))
	rows := []struct {
		name, method, path, form string
		code                     int
		body, header             string // header: "Name: value"
	}{
		{"object method, defaults", "GET", "/user/list", "", 200, `{"page":1,"pid":%d,"size":10}`, "X-Shut: done"},
		{"object method, query", "GET", "/user/list?page=2&size=5", "", 200, `{"page":2,"pid":%d,"size":5}`, "X-Controller: User"},
		{"ShowItem is /show-item", "GET", "/user/show-item?id=7", "", 200, `{"id":7,"name":"user 7"}`, ""},
		{"exit in the method", "GET", "/user/show-item", "", 400, "id must be a positive number", "X-Shut: done"},
		{"exit in Init skips the method and Shut", "GET", "/user/list?deny=1", "", 403, "denied by Init", "X-Shut: "},
		{"hook on every route", "GET", "/pid", "", 200, "%d", "X-Served-By: gfstyle"},
		{"group middleware and form default", "POST", "/api/greet", "", 200, `{"hello":"stranger","via":"api"}`, ""},
		{"form value", "POST", "/api/greet", "name=ann", 200, `{"hello":"ann","via":"api"}`, ""},
		{"custom 404 page", "GET", "/nowhere", "", 404, "<h1>nothing at /nowhere</h1>", "Content-Type: text/html; charset=utf-8"},
		{"wrong method is 405", "GET", "/api/greet", "", 405, "", ""},
	}
	check := func(worker int) {
		t.Helper()
		// A client of its own: after a reload, no connection to the old worker.
		client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		for _, tt := range rows {
			req, err := http.NewRequest(tt.method, p.URL(tt.path), strings.NewReader(tt.form))
			if err != nil {
				t.Fatal(err)
			}
			if tt.form != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := strings.TrimSpace(string(b))
			want := tt.body
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, worker)
			}
			if resp.StatusCode != tt.code || (want != "" && body != want) {
				t.Errorf("%s: %s %s = %d %q, want %d %q", tt.name, tt.method, tt.path, resp.StatusCode, body, tt.code, want)
			}
			if name, value, ok := strings.Cut(tt.header, ": "); ok && resp.Header.Get(name) != value {
				t.Errorf("%s: header %s = %q, want %q", tt.name, name, resp.Header.Get(name), value)
			}
		}
	}
	w1 := p.WaitServing(0, 30*time.Second)
	check(w1)
	p.Signal(syscall.SIGUSR1)
	w2 := p.WaitServing(w1, 30*time.Second)
	check(w2)
}
