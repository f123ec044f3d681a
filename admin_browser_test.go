//go:build linux

package baton_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/browser"
)

// TestAdminInBrowser loads the admin page of a real program in headless
// Chromium, clicks Reload and sees the new worker on the page. CI installs
// Chromium and sets BATON_BROWSER_TESTS=1, which makes it mandatory.
func TestAdminInBrowser(t *testing.T) {
	browser.Require(t)
	p := startProgram(t, build(t, "./examples/admin"), freePort(t))
	w1 := p.WaitServing(0, 30*time.Second)

	b := browser.Start(t)
	page := b.NewPage(t)
	if err := page.Navigate(p.URL("/debug/admin")); err != nil {
		t.Fatal(err)
	}
	shots := browser.ArtifactDir(t)
	if got, err := page.Text("#worker-pid"); err != nil || got != strconv.Itoa(w1) {
		t.Fatalf("worker pid on the page = %q, %v; want %d", got, err, w1)
	}
	if got, _ := page.Text("#master-pid"); got != strconv.Itoa(p.PID) {
		t.Errorf("master pid on the page = %q, want %d", got, p.PID)
	}
	if err := page.Screenshot(filepath.Join(shots, "admin-before.png")); err != nil {
		t.Error(err)
	}

	if err := page.Click("#reload"); err != nil {
		t.Fatal(err)
	}
	// The form posts, the old worker answers with a redirect, and the page
	// is fetched again from the new worker.
	notSame := fmt.Sprintf(`(() => { const e = document.querySelector("#worker-pid"); return e && e.textContent !== %q && document.querySelector("#notice") !== null; })()`, strconv.Itoa(w1))
	if err := page.WaitFor(notSame, 30*time.Second); err != nil {
		t.Fatalf("the page never showed a new worker: %v", err)
	}
	w2, _ := p.WorkerPID()
	if got, _ := page.Text("#worker-pid"); got != strconv.Itoa(w2) {
		t.Errorf("worker pid on the page after Reload = %q, want the new worker %d", got, w2)
	}
	if got, _ := page.Text("#page-pid"); got != strconv.Itoa(w2) {
		t.Errorf("the page after Reload came from pid %q, want the new worker %d", got, w2)
	}
	if got, _ := page.Text("#generation"); got != "2" {
		t.Errorf("generation on the page = %q, want 2", got)
	}
	if notice, _ := page.Text("#notice"); !strings.Contains(notice, "Reloaded") {
		t.Errorf("notice = %q", notice)
	}
	if hist, _ := page.Text("#history"); !strings.Contains(hist, "admin") || !strings.Contains(hist, "ok") {
		t.Errorf("history does not show the admin reload: %q", hist)
	}
	if err := page.Screenshot(filepath.Join(shots, "admin-after-reload.png")); err != nil {
		t.Error(err)
	}
}
