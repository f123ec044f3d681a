package baton

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestObserveConfigErrors: the observability keys of a server section are
// checked with the file, line and key, and a feature whose package the
// program does not link is refused (this test binary links neither
// metrics nor tracing).
func TestObserveConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		line       int
		key, msg   string
	}{
		{"relative pattern", "server:\n  metrics:\n    pattern: metrics\n", 3, "server.metrics.pattern", "starts with /"},
		{"GoFrame's pprofPattern", "server:\n  pprofPattern: debug\n", 2, "server.pprofPattern", "starts with /"},
		{"sample ratio", "server:\n  tracing:\n    sampleRatio: 2\n", 3, "server.tracing.sampleRatio", "between 0 and 1"},
		{"metrics not linked", "server:\n  metrics: {enabled: true}\n", 2, "server.metrics.enabled", "import _"},
		{"tracing not linked", "server:\n  tracing:\n    enabled: true\n", 3, "server.tracing.enabled", "package tracing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, path, tt.text)
			_, err := LoadConfig(path)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig(%q) = %v, want a *ConfigError", tt.text, err)
			}
			if ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("error = %+v, want line %d key %q msg ~%q", ce, tt.line, tt.key, tt.msg)
			}
		})
	}
}

// TestObserveConfigPProf: GoFrame's pprofEnabled turns pprof on, and a
// server whose code enabled it already is left as it is.
func TestObserveConfigPProf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, "server:\n  pprofEnabled: true\n  pprofPattern: /prof\n")
	d, err := parseConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	sf := d.servers[""]
	if sf == nil {
		for k := range d.servers {
			sf = d.servers[k]
		}
	}
	if sf == nil || !sf.PProf.Enabled || sf.PProf.Pattern != "/prof" {
		t.Fatalf("pprof section %+v", sf)
	}
}
