//go:build unix

package baton

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProcessOptions(t *testing.T) {
	tests := []struct {
		name     string
		file     string // "" for no file
		noMaster bool
		watch    bool
		dev      bool

		lameDuck    time.Duration
		maxDraining int
		rollback    bool
	}{
		{name: "no file"},
		{name: "empty file", file: "app:\n  a: 1\n"},
		{name: "graceful off", file: "graceful:\n  enabled: false\n", noMaster: true},
		{name: "graceful on", file: "graceful:\n  enabled: true\n  watchBinary: true\n", watch: true},
		{name: "dev", file: "dev: true\n", dev: true},
		{name: "generations", file: "graceful:\n  lameDuck: 5s\n  maxDraining: 2\n  rollback: true\n", lameDuck: 5 * time.Second, maxDraining: 2, rollback: true},
		{name: "invalid file", file: "graceful: [oops\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := processOptions(path)
			if o.NoMaster != tt.noMaster || o.WatchBinary != tt.watch || o.Dev != tt.dev {
				t.Errorf("processOptions(%q) = NoMaster %v, WatchBinary %v, Dev %v; want %v, %v, %v",
					tt.file, o.NoMaster, o.WatchBinary, o.Dev, tt.noMaster, tt.watch, tt.dev)
			}
			if o.LameDuck != tt.lameDuck || o.MaxDraining != tt.maxDraining || o.Rollback != tt.rollback {
				t.Errorf("processOptions(%q) = LameDuck %v, MaxDraining %d, Rollback %v; want %v, %d, %v",
					tt.file, o.LameDuck, o.MaxDraining, o.Rollback, tt.lameDuck, tt.maxDraining, tt.rollback)
			}
			if o.OnDevState == nil {
				t.Error("processOptions left OnDevState unset")
			}
			if tt.file != "" && (len(o.DevFiles) != 1 || o.DevFiles[0] != path) {
				t.Errorf("DevFiles = %q, want the configuration file %q", o.DevFiles, path)
			}
		})
	}
}
