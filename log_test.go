package baton

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
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
func textLine(t *testing.T, now time.Time, method, path, ip string, status int, bytes int64, dur time.Duration, pid int) string {
	t.Helper()
	var out strings.Builder
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Duration("dur", dur),
		slog.String("ip", ip),
		slog.Int("pid", pid),
	)
	if err := slog.NewTextHandler(&out, nil).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// writeAccessAt is writeAccess for a line of the time t. It also declines
// a year outside 0-9999 and the zero time.
func (b *logBuffer) writeAccessAt(t time.Time, dur time.Duration, method, path, ip string, status int, bytes int64, pid int) bool {
	if len(path) > maxAccessPath || len(ip) > maxAccessIP || !bareMethod(method) || !barePath(path) || !barePath(ip) || t.IsZero() {
		return false
	}
	b.mu.Lock()
	ok := b.appendAccess(t.Unix(), int64(t.Nanosecond()), t.Location(), dur, method, path, ip, "", status, bytes, pid)
	b.mu.Unlock()
	return ok
}

// accessLine is the line writeAccess writes, and whether it wrote one.
func accessLine(at time.Time, dur time.Duration, method, path, ip string, status int, bytes int64, pid int) (string, bool) {
	var out strings.Builder
	b := &logBuffer{w: &out}
	ok := b.writeAccessAt(at, dur, method, path, ip, status, bytes, pid)
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
		at           time.Time
		method, path string
		ip           string
		status       int
		bytes        int64
		dur          time.Duration
		formats      bool // writeAccess formats it itself
	}{
		{"plain", at, "GET", "/", "127.0.0.1", 200, 16, 41200 * time.Nanosecond, true},
		{"no ms", at.Truncate(time.Second), "POST", "/user/repos", "127.0.0.1", 201, 0, time.Millisecond, true},
		{"ms 999", at.Add(885 * time.Millisecond), "GET", "/a", "127.0.0.1", 200, 1, 999, true},
		{"seconds carry", at.Add(886*time.Millisecond + 1), "GET", "/a", "127.0.0.1", 200, 1, 999, true},
		{"error", at, "DELETE", "/x/y;z?&", "127.0.0.1", 500, 21, 3*time.Minute + time.Nanosecond, true},
		{"negatives", at, "GET", "/", "127.0.0.1", -1, -5, -time.Second, true},
		{"zero duration", at, "GET", "/~u/%2F", "127.0.0.1", 404, 19, 0, true},
		{"one second", at, "GET", "/", "127.0.0.1", 200, 0, time.Second, true},
		{"just under a second", at, "GET", "/", "127.0.0.1", 200, 0, time.Second - 1, true},
		{"hours", at, "GET", "/", "127.0.0.1", 200, 0, 26*time.Hour + 1500*time.Millisecond, true},
		{"other status", at, "PROPFIND", "/dav/", "127.0.0.1", 99, 1e12, 1000, true},
		{"long status", at, "GET", "/", "127.0.0.1", 1000, 999_999_999_999, 1000, true},
		{"long path", at, "GET", "/" + strings.Repeat("a", 1023), "127.0.0.1", 200, 0, 0, true},
		{"year 1", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), "GET", "/", "127.0.0.1", 200, 0, 0, true},
		{"zero time", time.Time{}, "GET", "/", "127.0.0.1", 200, 0, 0, false}, // TextHandler leaves the time out
		{"space in path", at, "GET", "/a b", "127.0.0.1", 200, 0, 0, false},
		{"equals in path", at, "GET", "/a=b", "127.0.0.1", 200, 0, 0, false},
		{"quote in path", at, "GET", `/a"b`, "127.0.0.1", 200, 0, 0, false},
		{"backslash in path", at, "GET", `/a\b`, "127.0.0.1", 200, 0, 0, false},
		{"unicode path", at, "GET", "/é", "127.0.0.1", 200, 0, 0, false},
		{"control byte", at, "GET", "/a\x01", "127.0.0.1", 200, 0, 0, false},
		{"empty method", at, "", "/", "127.0.0.1", 200, 0, 0, false},
		{"too long a path", at, "GET", "/" + strings.Repeat("a", 1024), "127.0.0.1", 200, 0, 0, false},
		{"ipv6 client", at, "GET", "/", "2001:db8::1", 200, 0, 0, true},
		{"zoned client", at, "GET", "/", "fe80::1%eth0", 200, 0, 0, true},
		{"unix socket peer", at, "GET", "/", "@", 200, 0, 0, true},
		{"no client address", at, "GET", "/", "", 200, 0, 0, false},
		{"year 10000", time.Date(10000, 6, 1, 0, 0, 0, 0, time.UTC), "GET", "/", "127.0.0.1", 200, 0, 0, false},
	}
	for _, tt := range tests {
		for _, loc := range zones {
			t.Run(tt.name+"/"+loc.String(), func(t *testing.T) {
				at := tt.at.In(loc)
				got, ok := accessLine(at, tt.dur, tt.method, tt.path, tt.ip, tt.status, tt.bytes, 4242)
				if ok != tt.formats {
					t.Fatalf("writeAccess returned %v, want %v (wrote %q)", ok, tt.formats, got)
				}
				if !ok {
					if got != "" {
						t.Errorf("writeAccess declined but wrote %q", got)
					}
					return
				}
				if want := textLine(t, at, tt.method, tt.path, tt.ip, tt.status, tt.bytes, tt.dur, 4242); got != want {
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
		if !b.writeAccessAt(now, 0, "GET", "/", "127.0.0.1", 200, int64(i), pid) {
			t.Fatalf("writeAccess declined %v", now)
		}
		want.WriteString(textLine(t, now, "GET", "/", "127.0.0.1", 200, int64(i), 0, pid))
	}
	b.Flush()
	if out.String() != want.String() {
		t.Errorf("lines differ from TextHandler's:\n%s\nwant\n%s", out.String(), want.String())
	}
}

func FuzzWriteAccess(f *testing.F) {
	f.Add(int64(1795282502113999999), 0, "GET", "/user/repos", "192.0.2.7", 200, int64(16), int64(41200), 77)
	f.Add(int64(-62135596800000000), -3600, "POST", "/a", "::1", -1, int64(-1), int64(-1), -1)
	f.Fuzz(func(t *testing.T, unixNano int64, zone int, method, path, ip string, status int, bytes, dur int64, pid int) {
		at := time.Unix(0, unixNano).In(time.FixedZone("Z", zone%(24*3600)))
		d := time.Duration(dur)
		got, ok := accessLine(at, d, method, path, ip, status, bytes, pid)
		if !ok {
			return
		}
		if want := textLine(t, at, method, path, ip, status, bytes, d, pid); got != want {
			t.Errorf("writeAccess wrote\n%q\nTextHandler writes\n%q", got, want)
		}
	})
}

// TestWriteAccessClock writes lines at monotonic readings and checks
// their wall clock time: from a fresh pair of readings, from the pair kept
// within its second, and from a new pair after it.
func TestWriteAccessClock(t *testing.T) {
	var out strings.Builder
	b := &logBuffer{w: &out}
	before := time.Now()
	if !b.writeAccess(monoNow(), 0, "GET", "/", "127.0.0.1", "", 200, 0, 1) {
		t.Fatal("writeAccess declined")
	}
	after := time.Now()
	b.Flush()
	stamp := strings.TrimPrefix(strings.Fields(out.String())[0], "time=")
	got, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		t.Fatalf("line %q: %v", out.String(), err)
	}
	// The line has milliseconds; the clock pair is read after the request
	// ended, so allow for both.
	if got.Before(before.Truncate(time.Millisecond).Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
		t.Errorf("line time %v, not between %v and %v", got, before, after)
	}

	const base = int64(5 * time.Second)
	wall := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		mono  int64
		want  time.Time
		again bool // the pair is read again
	}{
		{"within the second", base + 999_999_999, wall.Add(999_999_999), false},
		{"at the pair", base, wall, false},
		{"a second on", base + int64(time.Second), time.Time{}, true},
		{"before the pair", base - 1, time.Time{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := wallClock{mono: base, wall: wall.UnixNano(), loc: time.UTC}
			sec, nsec, loc := c.at(tt.mono)
			if again := c.mono != base; again != tt.again {
				t.Fatalf("pair read again: %v, want %v", again, tt.again)
			}
			if tt.again {
				return
			}
			if got := time.Unix(sec, nsec).In(loc); !got.Equal(tt.want) || loc != time.UTC {
				t.Errorf("at(%d) = %v in %v, want %v", tt.mono, got, loc, tt.want)
			}
		})
	}
}

// FuzzBarePath checks the word-wide test of a path against the byte-wise
// one it stands for.
func FuzzBarePath(f *testing.F) {
	f.Add("/user/repos")
	f.Add("/a=b/cdefghij")
	f.Add("/abcdefgh\x7f")
	f.Add("/abcdefg~\x80")
	f.Add("/!!!!!!!!\" ")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := barePath(s), bareText(s); got != want {
			t.Errorf("barePath(%q) = %v, bareText says %v", s, got, want)
		}
	})
}

func TestBarePathBytes(t *testing.T) {
	// Each byte value at each place of a word, between bytes on either side
	// that a borrow or carry could wrongly mark or hide.
	for c := range 256 {
		for at := range 16 {
			for _, fill := range []byte{'!', '~', 'a', '>', '<'} {
				p := []byte(strings.Repeat(string(fill), 16))
				p[at] = byte(c)
				if got, want := barePath(string(p)), bareText(string(p)); got != want {
					t.Fatalf("barePath(%q) = %v, bareText says %v", p, got, want)
				}
			}
		}
	}
}

func TestPutSubsecond(t *testing.T) {
	for _, u := range []uint64{1, 9, 10, 999, 1000, 1001, 1010, 1100, 41200, 999_999, 1_000_000,
		1_000_001, 1_500_000, 12_345_678, 100_000_000, 999_999_999} {
		p := make([]byte, 32)
		n := putSubsecond(p, 3, u)
		if got, want := string(p[3:n]), time.Duration(u).String(); got != want {
			t.Errorf("putSubsecond(%d) = %q, want %q", u, got, want)
		}
	}
}

func FuzzPutNumbers(f *testing.F) {
	f.Add(int64(41200))
	f.Add(int64(-1))
	f.Add(int64(999_999_999_999))
	f.Fuzz(func(t *testing.T, n int64) {
		p := make([]byte, 40)
		if got, want := string(p[5:putInt(p, 5, n)]), strconv.FormatInt(n, 10); got != want {
			t.Errorf("putInt(%d) = %q, want %q", n, got, want)
		}
		if d := time.Duration(n % 1e9); d > 0 {
			if got, want := string(p[5:putSubsecond(p, 5, uint64(d))]), d.String(); got != want {
				t.Errorf("putSubsecond(%d) = %q, want %q", d, got, want)
			}
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

// TestWriteAccessRequestID checks the access line of a request with an
// ID against slog's TextHandler, and that an ID TextHandler would quote
// is left to it.
func TestWriteAccessRequestID(t *testing.T) {
	at := time.Date(2026, 11, 21, 17, 35, 2, 113_000_000, time.UTC)
	tests := []struct {
		name    string
		id      string
		formats bool
	}{
		{"generated", "JBSWY3DPEHPK3PXPJBSWY3DPEH", true},
		{"from a proxy", "a1b2-c3.d4:e5_f6", true},
		{"quotable", `x="y"`, false},
		{"too long", strings.Repeat("a", maxRequestID+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			b := &logBuffer{w: &out}
			b.mu.Lock()
			ok := tt.formats && b.appendAccess(at.Unix(), int64(at.Nanosecond()), at.Location(), time.Millisecond,
				"GET", "/", "127.0.0.1", tt.id, 200, 3, 7)
			b.mu.Unlock()
			b.Flush()
			if declined := !b.writeAccess(monoNow(), 0, "GET", "/", "127.0.0.1", tt.id, 200, 0, 1); declined == tt.formats {
				t.Fatalf("writeAccess with id %q: declined %v, want %v", tt.id, declined, !tt.formats)
			}
			if !ok {
				return
			}
			var want strings.Builder
			rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			rec.AddAttrs(slog.String("method", "GET"), slog.String("path", "/"), slog.Int("status", 200),
				slog.Int64("bytes", 3), slog.Duration("dur", time.Millisecond), slog.String("ip", "127.0.0.1"),
				slog.String("request_id", tt.id), slog.Int("pid", 7))
			if err := slog.NewTextHandler(&want, nil).Handle(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			if out.String() != want.String() {
				t.Errorf("appendAccess wrote\n%q\nTextHandler writes\n%q", out.String(), want.String())
			}
		})
	}
}
