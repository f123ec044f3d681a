//go:build linux

package baton_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Development mode and the binary watch, with real files, real go build
// and real processes.

// devEnv is the environment of go commands run by the tests and by the
// programs' masters: the module cache is reused and nothing is fetched.
var devEnv = []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOSUMDB=off", "GOTOOLCHAIN=local"}

// devModule copies examples/devreload into a module of its own in a
// temporary directory, whose baton is this repository, and returns the
// directory.
func devModule(t *testing.T) string {
	t.Helper()
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(repo, "examples", "devreload")
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The module requires what baton requires, so that the go command
	// needs no module that baton's own build does not: with GOPROXY=off
	// on a fresh machine, the module cache holds only those.
	own, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	_, reqs, _ := strings.Cut(string(own), "\n")
	gomod := fmt.Sprintf("module example.com/devapp\n%s\nrequire github.com/baton-go/baton v0.0.0\n\nreplace github.com/baton-go/baton => %s\n", reqs, repo)
	writeFile(t, filepath.Join(dir, "go.mod"), gomod)
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	return dir
}

// goBuild builds the module in dir to out and returns how long it took.
func goBuild(t *testing.T, dir, out string) time.Duration {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), devEnv...)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
	return time.Since(start)
}

// setMessage rewrites the message constant of the module's main.go.
func setMessage(t *testing.T, dir, expr string) {
	t.Helper()
	path := filepath.Join(dir, "main.go")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^const message = .*$`)
	if !re.Match(b) {
		t.Fatalf("%s has no message constant", path)
	}
	writeFile(t, path, string(re.ReplaceAll(b, []byte("const message = "+expr))))
}

// startDev builds the module in dir and runs it in development mode:
// BATON_DEV=1, unless env says otherwise.
func startDev(t *testing.T, dir string, env ...string) *program {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devapp")
	goBuild(t, dir, bin)
	// TMPDIR: the master's builds go below the test's own temporary
	// directory, removed even when the test kills the master (which then
	// cannot remove its build directory itself).
	all := append([]string{"BATON_DEV=1", "BATON_DEV_DIR=" + dir, "TMPDIR=" + t.TempDir()}, devEnv...)
	p := startProgram(t, bin, freePort(t), append(all, env...)...)
	p.WaitServing(0, 30*time.Second)
	// The master's line, once the watch is set up (not the worker's
	// "watching static files").
	p.waitLog("baton: development mode: watching example.com/devapp", 30*time.Second)
	return p
}

// body returns the body of GET path, or the error's text.
func (p *program) body(path string) string {
	_, b, err := p.Get(path)
	if err != nil {
		return err.Error()
	}
	return b
}

// TestDevModeRebuild edits a handler of a real program in development
// mode and sees the new code serve with no failed request; then breaks the
// build, sees the old code go on serving with the compiler error over its
// HTML pages; then fixes it and sees the error go.
func TestDevModeRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program four times")
	}
	dir := devModule(t)
	p := startDev(t, dir)
	if got := p.body("/message"); got != "hello from devreload" {
		t.Fatalf("GET /message = %q", got)
	}
	page := p.body("/")
	if !strings.Contains(page, `<script src="/__baton/dev.js"`) || strings.Contains(page, "baton-dev-overlay") {
		t.Fatalf("the page lacks the development script, or shows an overlay:\n%s", page)
	}

	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.Port), "/pid", 1, 2*time.Minute)

	// An edit: the new code serves once built.
	saved := time.Now()
	setMessage(t, dir, `"edited once"`)
	waitFor(t, "the edited handler to serve", 60*time.Second, func() bool { return p.body("/message") == "edited once" })
	saveToServe := time.Since(saved)
	p.waitLog("baton: build 1 ready in", 10*time.Second)

	// A broken edit: the old code serves, the error shows on pages.
	setMessage(t, dir, `undefinedName`)
	p.waitLog("baton: build 2 failed", 60*time.Second)
	if got := p.body("/message"); got != "edited once" {
		t.Errorf("GET /message during the broken build = %q, want the old %q", got, "edited once")
	}
	page = p.body("/")
	if !strings.Contains(page, `id="baton-dev-overlay"`) {
		t.Errorf("the page lacks the overlay:\n%s", page)
	}
	if !regexp.MustCompile(`main\.go:\d+:\d+: undefined: undefinedName`).MatchString(page) {
		t.Errorf("the overlay lacks the compiler's file:line and message:\n%s", page)
	}
	if !regexp.MustCompile(`main\.go:\d+:\d+: undefined: undefinedName`).MatchString(p.Log.String()) {
		t.Errorf("the terminal lacks the compiler output:\n%s", p.Log.String())
	}
	if got := p.body("/message"); strings.Contains(got, "overlay") {
		t.Errorf("a text/plain answer got the overlay: %q", got)
	}

	// The fix: new code, and the overlay is gone.
	setMessage(t, dir, `"fixed"`)
	waitFor(t, "the fixed handler to serve", 60*time.Second, func() bool { return p.body("/message") == "fixed" })
	if page := p.body("/"); strings.Contains(page, "baton-dev-overlay") {
		t.Errorf("the overlay stays after the fix:\n%s", page)
	}
	p.waitLog("baton: build 3 ready in", 10*time.Second)

	byKind := l.finish()
	total, failed := 0, map[string]int{}
	for _, ss := range byKind {
		for _, s := range ss {
			total++
			if s.fail != "" {
				failed[s.fail]++
			}
		}
	}
	if total == 0 {
		t.Error("the load made no request")
	}
	if len(failed) > 0 {
		t.Errorf("%d requests, failures under load: %v", total, failed)
	}

	// The figures, with the load stopped: from save to new code serving,
	// against go build alone for the same kind of change (one string of
	// the handler) in a copy of the module, so that its main package is
	// not in the build cache either.
	saved = time.Now()
	setMessage(t, dir, `"measured"`)
	waitFor(t, "the measured edit to serve", 60*time.Second, func() bool { return p.body("/message") == "measured" })
	quietToServe := time.Since(saved)
	other := devModule(t)
	setMessage(t, other, fmt.Sprintf(`"measured %d"`, time.Now().UnixNano()))
	alone := goBuild(t, other, filepath.Join(t.TempDir(), "alone"))
	p.waitLog("baton: build 4 ready in", 10*time.Second)
	var lines []string
	for _, n := range []int{1, 4} {
		re := regexp.MustCompile(fmt.Sprintf(`baton: build %d ready in [^\n]*`, n))
		lines = append(lines, re.FindString(p.Log.String()))
	}
	t.Logf("save to new code serving: %v under load (build 1), %v idle (build 4); go build alone for the same change: %v\nthe master said:\n  %s\n  %s",
		saveToServe.Round(time.Millisecond), quietToServe.Round(time.Millisecond), alone.Round(time.Millisecond), lines[0], lines[1])
}

// viewSource is a file added to the module of devModule: GET /view
// renders template/view.html through the server's view cache, which the
// handler of / does not use.
const viewSource = `package main

import (
	"path/filepath"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

func init() {
	s := g.Server()
	s.SetViewPath(filepath.Join(appDir(), "template"))
	s.BindHandler("GET:/view", func(r *baton.Request) {
		r.Response.WriteTpl("view.html", nil)
	})
}
`

// TestDevModeViewsReload edits a template of a program in development
// mode, turned on by a spelling other than BATON_DEV=1, and sees the new
// text served: the workers' view caches follow the development state the
// master sends, not one spelling of the environment variable.
func TestDevModeViewsReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	for _, tt := range []struct {
		name   string
		env    []string
		config string // the configuration file's text, if any
	}{
		{name: "BATON_DEV=true", env: []string{"BATON_DEV=true"}},
		{name: "dev: true", env: []string{"BATON_DEV="}, config: "dev: true\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := devModule(t)
			writeFile(t, filepath.Join(dir, "view.go"), viewSource)
			tpl := filepath.Join(dir, "template", "view.html")
			writeFile(t, tpl, "<p>first text</p>\n")
			env := tt.env
			if tt.config != "" {
				cfg := filepath.Join(t.TempDir(), "config.yaml")
				writeFile(t, cfg, tt.config)
				env = append(env, "BATON_CONFIG="+cfg)
			}
			p := startDev(t, dir, env...)
			if got := p.body("/view"); !strings.Contains(got, "first text") {
				t.Fatalf("GET /view = %q, want the first text", got)
			}
			writeFile(t, tpl, "<p>the second, longer text</p>\n")
			deadline := time.Now().Add(10 * time.Second)
			for got := p.body("/view"); !strings.Contains(got, "the second, longer text"); got = p.body("/view") {
				if time.Now().After(deadline) {
					t.Fatalf("GET /view = %q 10s after the template changed, want the new text", got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
