package proc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name       string
		content    []byte
		incomplete bool
	}{
		{"whole", whole, false},
		{"half", whole[:len(whole)/2], true},
		{"all but one byte", whole[:len(whole)-1], true},
		{"header only", whole[:64], true},
		{"three bytes", whole[:3], true},
		{"empty", nil, true},
		{"script", []byte("#!/bin/sh\necho hi\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkExecutable(write(tt.name, tt.content))
			if got := errors.Is(err, ErrIncompleteExecutable); got != tt.incomplete {
				t.Errorf("checkExecutable(%s, %d bytes) = %v; incomplete %v, want %v", tt.name, len(tt.content), err, got, tt.incomplete)
			}
		})
	}
	if err := checkExecutable(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrIncompleteExecutable) {
		t.Errorf("checkExecutable(missing) = %v, want a not-exist error", err)
	}
}
