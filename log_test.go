package baton

import (
	"log/slog"
	"strings"
	"testing"
)

func TestLogBuffer(t *testing.T) {
	var out syncBuffer
	b := &logBuffer{w: &out}
	var level slog.LevelVar
	log := slog.New(flushingHandler{slog.NewTextHandler(b, &slog.HandlerOptions{Level: &level}), b})

	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got := out.String(); got != "" {
		t.Errorf("info lines written at once, not batched: %q", got)
	}
	// Written out by the timer, in order.
	waitUntil(t, "the batched lines", func() bool { return strings.Count(out.String(), "\n") == 2 })
	if s := out.String(); strings.Index(s, "n=1") > strings.Index(s, "n=2") {
		t.Errorf("lines out of order: %q", s)
	}

	// A warning goes out at once, after the lines before it.
	log.Info("request", "n", 3)
	log.Warn("trouble")
	s := out.String()
	if !strings.Contains(s, "msg=trouble") {
		t.Fatalf("warning not written at once: %q", s)
	}
	if i, j := strings.Index(s, "n=3"), strings.Index(s, "msg=trouble"); i < 0 || i > j {
		t.Errorf("the line before the warning is missing or after it: %q", s)
	}

	// With attributes or a group, the handler still flushes on warnings.
	log.With("server", "x").WithGroup("g").Error("failed", "k", "v")
	if s := out.String(); !strings.Contains(s, "server=x msg=failed") && !strings.Contains(s, "msg=failed server=x") {
		t.Errorf("error with attributes not written at once: %q", s)
	}

	// More than the buffer holds is written as it comes.
	long := strings.Repeat("x", logBufferSize)
	before := len(out.String())
	log.Info("big", "v", long)
	if len(out.String()) < before+logBufferSize {
		t.Errorf("a line over the buffer size was held back")
	}
	b.Flush()
}
