//go:build linux

package baton_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/browser"
)

// TestDevModeInBrowser opens a page of a program in development mode in
// headless Chromium and edits its files: a static file and a template
// refresh the page without a build; an edit of the handler's source
// reloads it once the new build serves; a broken build shows its compiler
// error over the page, and the fix clears it.
func TestDevModeInBrowser(t *testing.T) {
	browser.Require(t)
	dir := devModule(t)
	p := startDev(t, dir)

	b := browser.Start(t)
	page := b.NewPage(t)
	shots := browser.ArtifactDir(t)
	if err := page.Navigate(p.URL("/")); err != nil {
		t.Fatal(err)
	}
	connected := func(what string) {
		t.Helper()
		if err := page.WaitFor(`window.__batonDev === "open"`, 10*time.Second); err != nil {
			t.Fatalf("%s: the page's development socket did not connect: %v", what, err)
		}
	}
	connected("first load")
	if got, _ := page.Text("#message"); got != "hello from devreload" {
		t.Fatalf("#message = %q", got)
	}
	pid0, _ := page.Text("#pid")
	// A marker that only survives as long as the page is not reloaded.
	if err := page.Eval(`window.__mark = 1`, nil); err != nil {
		t.Fatal(err)
	}

	// A static file: the page reloads and shows the new style; no build.
	css := filepath.Join(dir, "public", "style.css")
	writeFile(t, css, "body { margin: 3em; }\nh1 { color: rgb(22, 163, 74); }\n")
	if err := page.WaitFor(`getComputedStyle(document.querySelector("h1")).color === "rgb(22, 163, 74)" && window.__mark === undefined`, 10*time.Second); err != nil {
		t.Fatalf("the page did not reload with the new style: %v", err)
	}
	connected("after the style change")

	// A template: the page reloads; still no build.
	tpl := filepath.Join(dir, "template", "page.html")
	src, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, tpl, strings.Replace(string(src), "</h1>", "</h1>\n<p id=\"tpl\">template edited</p>", 1))
	if err := page.WaitFor(`document.querySelector("#tpl") !== null`, 10*time.Second); err != nil {
		t.Fatalf("the page did not reload with the new template: %v", err)
	}
	connected("after the template change")
	if strings.Contains(p.Log.String(), "baton: build 1") {
		t.Errorf("a static file or template change started a build:\n%s", p.Log.String())
	}
	if got, _ := page.Text("#pid"); got != pid0 {
		t.Errorf("the page came from worker %s after static changes, want the same worker %s", got, pid0)
	}
	if err := page.Screenshot(filepath.Join(shots, "dev-before-edit.png")); err != nil {
		t.Error(err)
	}

	// The handler's source: the page shows the new text from the new
	// worker, which had reported ready before the old one closed the
	// page's socket.
	setMessage(t, dir, `"edited in the browser test"`)
	if err := page.WaitFor(`document.querySelector("#message") && document.querySelector("#message").textContent === "edited in the browser test"`, 60*time.Second); err != nil {
		t.Fatalf("the page never showed the edited handler: %v", err)
	}
	if !strings.Contains(p.Log.String(), "baton: build 1 ready in") {
		t.Errorf("the page reloaded before the master reported build 1 ready:\n%s", p.Log.String())
	}
	if got, _ := page.Text("#pid"); got == pid0 || got == "" {
		t.Errorf("the page after the edit came from worker %q, want a new one (old %s)", got, pid0)
	}
	connected("after the rebuild")
	if err := page.Screenshot(filepath.Join(shots, "dev-after-edit.png")); err != nil {
		t.Error(err)
	}

	// A broken build: the overlay shows the compiler's error.
	setMessage(t, dir, `undefinedName`)
	if err := page.WaitFor(`document.querySelector("#baton-dev-overlay") !== null`, 60*time.Second); err != nil {
		t.Fatalf("no overlay after a broken build: %v", err)
	}
	if got, _ := page.Text("#baton-dev-error"); !strings.Contains(got, "main.go:") || !strings.Contains(got, "undefined: undefinedName") {
		t.Errorf("the overlay says %q, want the compiler's file:line and message", got)
	}
	if err := page.Screenshot(filepath.Join(shots, "dev-build-failed.png")); err != nil {
		t.Error(err)
	}
	connected("with the overlay")

	// The fix clears it.
	setMessage(t, dir, `"fixed in the browser test"`)
	if err := page.WaitFor(`document.querySelector("#baton-dev-overlay") === null && document.querySelector("#message").textContent === "fixed in the browser test"`, 60*time.Second); err != nil {
		t.Fatalf("the overlay did not clear after the fix: %v", err)
	}
	if err := page.Screenshot(filepath.Join(shots, "dev-fixed.png")); err != nil {
		t.Error(err)
	}
}
