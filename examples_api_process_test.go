//go:build linux

package baton_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestAPIExampleReload runs examples/api, a CRUD service of typed handlers
// on SQLite, through a reload under kill -USR1: a book written through the
// old worker is read, updated and deleted through the new one, validation
// errors list every failing field, and the OpenAPI document and the docs
// page are served by both.
func TestAPIExampleReload(t *testing.T) {
	db := filepath.Join(t.TempDir(), "books.db")
	p := startProgram(t, build(t, "./examples/api"), freePort(t), "BOOKS_DB="+db)
	old := p.WaitServing(0, 60*time.Second)

	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, p.URL(path), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var env map[string]any
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, res.StatusCode, b, err)
		}
		return res.StatusCode, env
	}
	field := func(env map[string]any, name string) any {
		data, _ := env["data"].(map[string]any)
		return data[name]
	}

	code, env := call("POST", "/books", `{"title":"The Go Programming Language","author":"Donovan, Kernighan","year":2015,"isbn":"9780134190440"}`)
	if code != 200 || env["code"] != float64(0) || field(env, "id") != float64(1) {
		t.Fatalf("POST /books: %d %v, want 200 with id 1", code, env)
	}
	code, env = call("POST", "/books", `{"title":"","year":3000,"isbn":"97-80"}`)
	var failed []string
	if list, ok := env["data"].([]any); ok {
		for _, f := range list {
			failed = append(failed, f.(map[string]any)["field"].(string))
		}
	}
	if code != 400 || strings.Join(failed, ",") != "title,author,year,isbn" {
		t.Errorf("POST /books with 4 bad fields: %d, failing %q, want 400 and title,author,year,isbn (%v)", code, failed, env)
	}
	if code, env = call("POST", "/books", `{"title":"Again","author":"X","isbn":"9780134190440"}`); code != 409 {
		t.Errorf("POST /books with a taken isbn: %d %v, want 409", code, env)
	}
	checkDocument(t, p)

	p.Signal(syscall.SIGUSR1)
	now := p.WaitServing(old, 60*time.Second)
	t.Logf("reloaded: worker %d -> %d", old, now)

	if code, env = call("GET", "/books/1", ""); code != 200 || field(env, "title") != "The Go Programming Language" {
		t.Fatalf("GET /books/1 after the reload: %d %v", code, env)
	}
	if code, env = call("PUT", "/books/1", `{"title":"TGPL","author":"Donovan, Kernighan","year":2015}`); code != 200 || field(env, "title") != "TGPL" {
		t.Errorf("PUT /books/1: %d %v", code, env)
	}
	if code, env = call("GET", "/books?size=10", ""); code != 200 || field(env, "total") != float64(1) {
		t.Errorf("GET /books: %d %v, want 1 book", code, env)
	}
	if code, env = call("GET", "/books?size=500", ""); code != 400 {
		t.Errorf("GET /books?size=500: %d %v, want 400", code, env)
	}
	if code, env = call("DELETE", "/books/1", ""); code != 200 || field(env, "id") != float64(1) {
		t.Errorf("DELETE /books/1: %d %v", code, env)
	}
	if code, env = call("GET", "/books/1", ""); code != 404 || env["code"] == float64(0) {
		t.Errorf("GET /books/1 after DELETE: %d %v, want 404 with a code", code, env)
	}
	checkDocument(t, p)
	if code, body, err := p.Get("/swagger"); err != nil || code != 200 || !strings.Contains(body, `data-url="/api.json"`) {
		t.Errorf("GET /swagger: %d %v\n%s", code, err, body)
	}
}

// checkDocument validates the program's /api.json and checks that it
// lists the five operations.
func checkDocument(t *testing.T, p *program) {
	t.Helper()
	code, body, err := p.Get("/api.json")
	if err != nil || code != 200 {
		t.Fatalf("GET /api.json: %d %v", code, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		t.Fatalf("/api.json does not validate: %v\n%s", err, body)
	}
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	if n != 5 || doc.Info.Title != "Books" {
		t.Errorf("/api.json: %d operations, title %q; want 5, Books", n, doc.Info.Title)
	}
}
