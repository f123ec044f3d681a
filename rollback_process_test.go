//go:build linux

package baton_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerRollback: Server.Rollback, with BATON_ROLLBACK=1, brings back
// the binary of the previous generation after a deploy replaced it and
// the file was then removed; a second one is refused.
func TestServerRollback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	install(t, build(t, "./testdata/app", "greeting=one"), bin)
	p := startProgram(t, bin, freePort(t), "BATON_ROLLBACK=1")
	w1 := p.WaitServing(0, 30*time.Second)
	install(t, build(t, "./testdata/app", "greeting=two"), bin)
	if code, body, err := p.Post("/reload"); err != nil || code != http.StatusOK {
		t.Fatalf("POST /reload = %d %q %v", code, body, err)
	}
	w2 := p.WaitServing(w1, 10*time.Second)
	if _, body, _ := p.Get("/"); body != "two" {
		t.Fatalf("after the reload GET / = %q, want two", body)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if code, body, err := p.Post("/rollback"); err != nil || code != http.StatusOK || body != "rolled back" {
		t.Fatalf("POST /rollback = %d %q %v, want 200 rolled back", code, body, err)
	}
	p.WaitServing(w2, 10*time.Second)
	if _, body, _ := p.Get("/"); body != "one" {
		t.Errorf("after the rollback GET / = %q, want one", body)
	}
	if code, body, err := p.Post("/rollback"); err != nil || code != http.StatusInternalServerError || !strings.Contains(body, "no previous generation") {
		t.Errorf("second POST /rollback = %d %q %v, want 500 naming no previous generation", code, body, err)
	}
}
