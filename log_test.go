package baton

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLogBuffer(t *testing.T) {
	var out syncBuffer
	b := &logBuffer{w: &out}
	var level slog.LevelVar
	log := newBufferedLogger(b, &level)

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

// textLine is the line slog's TextHandler writes for an access log record.
func textLine(t *testing.T, now time.Time, method, path string, status int, bytes int64, dur time.Duration, pid int) string {
	t.Helper()
	var out strings.Builder
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Duration("dur", dur),
		slog.Int("pid", pid),
	)
	if err := slog.NewTextHandler(&out, nil).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// accessLine is the line writeAccess writes, and whether it wrote one.
func accessLine(now time.Time, method, path string, status int, bytes int64, dur time.Duration, pid int) (string, bool) {
	var out strings.Builder
	b := &logBuffer{w: &out}
	ok := b.writeAccess(now, method, path, status, bytes, dur, pid)
	b.Flush()
	return out.String(), ok
}

func TestWriteAccessMatchesTextHandler(t *testing.T) {
	at := time.Date(2026, 11, 21, 17, 35, 2, 113_999_999, time.UTC)
	zones := []*time.Location{
		time.UTC,
		time.FixedZone("IST", 5*3600+1800),
		time.FixedZone("W", -7*3600),
		time.FixedZone("LMT", -17762), // an offset with seconds
	}
	tests := []struct {
		name         string
		now          time.Time
		method, path string
		status       int
		bytes        int64
		dur          time.Duration
		formats      bool // writeAccess formats it itself
	}{
		{"plain", at, "GET", "/", 200, 16, 41200 * time.Nanosecond, true},
		{"no ms", at.Truncate(time.Second), "POST", "/user/repos", 201, 0, time.Millisecond, true},
		{"ms 999", at.Add(885 * time.Millisecond), "GET", "/a", 200, 1, 999, true},
		{"seconds carry", at.Add(886*time.Millisecond + 1), "GET", "/a", 200, 1, 999, true},
		{"error", at, "DELETE", "/x/y;z?&", 500, 21, 3*time.Minute + time.Nanosecond, true},
		{"negatives", at, "GET", "/", -1, -5, -time.Second, true},
		{"zero duration", at, "GET", "/~u/%2F", 404, 19, 0, true},
		{"year 1", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), "GET", "/", 200, 0, 0, true},
		{"zero time", time.Time{}, "GET", "/", 200, 0, 0, false}, // TextHandler leaves the time out
		{"space in path", at, "GET", "/a b", 200, 0, 0, false},
		{"equals in path", at, "GET", "/a=b", 200, 0, 0, false},
		{"quote in path", at, "GET", `/a"b`, 200, 0, 0, false},
		{"backslash in path", at, "GET", `/a\b`, 200, 0, 0, false},
		{"unicode path", at, "GET", "/é", 200, 0, 0, false},
		{"control byte", at, "GET", "/a\x01", 200, 0, 0, false},
		{"empty method", at, "", "/", 200, 0, 0, false},
		{"long path", at, "GET", "/" + strings.Repeat("a", 2000), 200, 0, 0, false},
		{"year 10000", time.Date(10000, 6, 1, 0, 0, 0, 0, time.UTC), "GET", "/", 200, 0, 0, false},
	}
	for _, tt := range tests {
		for _, loc := range zones {
			t.Run(tt.name+"/"+loc.String(), func(t *testing.T) {
				now := tt.now.In(loc)
				got, ok := accessLine(now, tt.method, tt.path, tt.status, tt.bytes, tt.dur, 4242)
				if ok != tt.formats {
					t.Fatalf("writeAccess returned %v, want %v (wrote %q)", ok, tt.formats, got)
				}
				if !ok {
					if got != "" {
						t.Errorf("writeAccess declined but wrote %q", got)
					}
					return
				}
				if want := textLine(t, now, tt.method, tt.path, tt.status, tt.bytes, tt.dur, 4242); got != want {
					t.Errorf("writeAccess wrote\n%q\nTextHandler writes\n%q", got, want)
				}
			})
		}
	}
}

// TestWriteAccessTimeCache formats times in and across seconds and zones,
// and several pids, in one buffer, so that the text kept of a second and of
// a pid is reused and replaced.
func TestWriteAccessTimeCache(t *testing.T) {
	var out strings.Builder
	b := &logBuffer{w: &out}
	var want strings.Builder
	at := time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600) // no zone database here
	}
	for i := range 60 {
		now := at.Add(time.Duration(i) * 37 * time.Millisecond)
		if i%7 == 3 {
			now = now.In(paris) // around the change to summer time
		}
		pid := 1 + i%3 // the pid's text is kept too
		if !b.writeAccess(now, "GET", "/", 200, int64(i), 0, pid) {
			t.Fatalf("writeAccess declined %v", now)
		}
		want.WriteString(textLine(t, now, "GET", "/", 200, int64(i), 0, pid))
	}
	b.Flush()
	if out.String() != want.String() {
		t.Errorf("lines differ from TextHandler's:\n%s\nwant\n%s", out.String(), want.String())
	}
}

func FuzzWriteAccess(f *testing.F) {
	f.Add(int64(1795282502113999999), 0, "GET", "/user/repos", 200, int64(16), int64(41200), 77)
	f.Add(int64(-62135596800000000), -3600, "POST", "/a", -1, int64(-1), int64(-1), -1)
	f.Fuzz(func(t *testing.T, unixNano int64, zone int, method, path string, status int, bytes, dur int64, pid int) {
		now := time.Unix(0, unixNano).In(time.FixedZone("Z", zone%(24*3600)))
		got, ok := accessLine(now, method, path, status, bytes, time.Duration(dur), pid)
		if !ok {
			return
		}
		if want := textLine(t, now, method, path, status, bytes, time.Duration(dur), pid); got != want {
			t.Errorf("writeAccess wrote\n%q\nTextHandler writes\n%q", got, want)
		}
	})
}

// BenchmarkAccessLogLine serves GET /user/repos with the access log off,
// through a slog TextHandler the application supplies, and through the
// default logger, whose lines writeAccess formats. All write to
// io.Discard.
func BenchmarkAccessLogLine(b *testing.B) {
	for _, mode := range []string{"off", "slog", "default"} {
		b.Run(mode, func(b *testing.B) {
			s := New()
			s.BindHandler("GET:/user/repos", func(r *Request) { r.Response.Write("hello, world!") })
			switch mode {
			case "off":
				s.SetAccessLogEnabled(false)
			case "slog":
				s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			case "default":
				stderrLog.Flush()
				stderrLog.mu.Lock()
				stderrLog.w = io.Discard
				stderrLog.mu.Unlock()
				b.Cleanup(func() {
					stderrLog.Flush()
					stderrLog.mu.Lock()
					stderrLog.w = os.Stderr
					stderrLog.mu.Unlock()
				})
			}
			proto := httptest.NewRequest("GET", "/user/repos", nil)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, proto)
			if w.Code != 200 || w.Body.String() != "hello, world!" {
				b.Fatalf("GET /user/repos: %d %q", w.Code, w.Body)
			}
			sink := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				req := *proto
				clear(sink.h)
				s.ServeHTTP(sink, &req)
			}
		})
	}
}
