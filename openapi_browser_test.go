//go:build linux

package baton_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/browser"
)

// TestSwaggerInBrowser opens the docs page of SetSwaggerPath in headless
// Chromium: Swagger UI must render every operation of the document, from
// the server's own files alone (no request leaves the server's origin).
// The screenshot goes to browser.ArtifactDir.
func TestSwaggerInBrowser(t *testing.T) {
	browser.Require(t)
	ts := httptest.NewServer(docServer(t))
	t.Cleanup(ts.Close)

	page := browser.Start(t).NewPage(t)
	if err := page.Navigate(ts.URL + "/swagger"); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(`document.querySelectorAll(".opblock").length === 3`, 30*time.Second); err != nil {
		t.Fatalf("Swagger UI did not list the 3 operations: %v\nconsole: %q", err, page.Console())
	}
	var ops []string
	if err := page.Eval(`[...document.querySelectorAll(".opblock-summary")].map(e => e.textContent.replace(/\s+/g, " ").trim())`, &ops); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(ops, "\n")
	for _, want := range []string{"GET/v1/pets", "List pets", "POST/v1/pets", "Add a pet", "/v1/pets/{id}", "Get a pet"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the page's operations lack %q:\n%s", want, joined)
		}
	}
	if title, _ := page.Text(".info .title"); !strings.Contains(title, "Pets") {
		t.Errorf("title on the page = %q, want Pets", title)
	}
	var outside []string
	if err := page.Eval(`performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin))`, &outside); err != nil {
		t.Fatal(err)
	}
	if len(outside) > 0 {
		t.Errorf("the page fetched from elsewhere: %q", outside)
	}
	if err := page.Screenshot(filepath.Join(browser.ArtifactDir(t), "swagger.png")); err != nil {
		t.Error(err)
	}
}
