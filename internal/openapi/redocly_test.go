package openapi

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// redocly returns the Redocly CLI to lint with: $BATON_REDOCLY, else
// redocly in PATH. Without one the test skips, unless
// BATON_REDOCLY_TESTS=1 (CI sets it after npm install -g @redocly/cli)
// makes it fail.
func redocly(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("BATON_REDOCLY")
	if bin == "" {
		bin = "redocly"
	}
	path, err := exec.LookPath(bin)
	if err == nil {
		return path
	}
	if os.Getenv("BATON_REDOCLY_TESTS") == "1" {
		t.Fatalf("no Redocly CLI (%q: %v), and BATON_REDOCLY_TESTS=1 makes this test mandatory; npm install -g @redocly/cli", bin, err)
	}
	t.Skipf("no Redocly CLI (%q); to run this test, npm install -g @redocly/cli (or set BATON_REDOCLY to its path), and BATON_REDOCLY_TESTS=1", bin)
	return ""
}

// lint runs redocly lint with the spec ruleset, which checks the document
// against the OpenAPI 3.1 specification and leaves style alone.
func lint(t *testing.T, bin string, doc any) ([]byte, error) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "api.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "lint", "--extends=spec", "--format=summary", file)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	return cmd.CombinedOutput()
}

// TestRedoclyLint checks the document with a second, independent
// validator, and that it rejects a broken one.
func TestRedoclyLint(t *testing.T) {
	bin := redocly(t)
	doc, err := Build(Info{Title: "test"}, sampleOps())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := lint(t, bin, doc); err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	broken := doc.Paths.MapOfPathItemValues["/files/{dir}/{name}"].Get
	broken.Parameters = broken.Parameters[:1]
	if out, err := lint(t, bin, doc); err == nil {
		t.Errorf("redocly lint passed a document missing the {name} parameter:\n%s", out)
	}
}
