//go:build unix && !aix

package proc

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestParseWatchdog(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", "42", 30 * time.Second, true},
		{"30000000", "43", 0, false},
		{"30000000", "x", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"1s", "", 0, false},
		{"99999999999999999999", "", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseWatchdog(tt.usec, tt.pid, 42)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseWatchdog(%q, %q, 42) = %v, %v; want %v, %v", tt.usec, tt.pid, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeartbeatConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		opt           time.Duration
		env           string
		timeout, tick time.Duration
	}{
		{0, "", DefaultHeartbeatTimeout, DefaultHeartbeatInterval},
		{0, "30s", 30 * time.Second, DefaultHeartbeatInterval},
		{0, "2s", 2 * time.Second, 500 * time.Millisecond},
		{0, "0", 0, 0},
		{0, "off", 0, 0},
		{0, "junk", DefaultHeartbeatTimeout, DefaultHeartbeatInterval},
		{0, "-3s", DefaultHeartbeatTimeout, DefaultHeartbeatInterval},
		{-1, "5s", 0, 0},
		{3 * time.Second, "off", 3 * time.Second, 750 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Setenv(EnvHeartbeatTimeout, tt.env)
		d, tick := heartbeat(tt.opt, log)
		if d != tt.timeout || tick != tt.tick {
			t.Errorf("heartbeat(%v) with %s=%q = %v, %v; want %v, %v", tt.opt, EnvHeartbeatTimeout, tt.env, d, tick, tt.timeout, tt.tick)
		}
	}
}

func TestCheckOwner(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bin"
	for _, tt := range []struct {
		mode uint32
		bad  bool
	}{{0o755, false}, {0o700, false}, {0o775, true}, {0o757, true}, {0o777, true}} {
		if err := writeFile(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		err := checkOwner(path)
		if (err != nil) != tt.bad {
			t.Errorf("checkOwner(mode %#o) = %v, want refused: %v", tt.mode, err, tt.bad)
		}
	}
	if err := checkOwner(dir + "/missing"); err != nil {
		t.Errorf("checkOwner(missing) = %v, want nil: the start reports it", err)
	}
}

func writeFile(path string, mode uint32) error {
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, os.FileMode(mode))
}
