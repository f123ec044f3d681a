package baton

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// logAccess writes the access log line of a request.
func (s *Server) logAccess(r *Request) {
	l := s.Logger()
	ctx := r.Request.Context()
	if h, ok := l.Handler().(flushingHandler); ok && h.plain {
		// The default logger: the line is formatted here, straight into
		// the buffer, as slog's TextHandler would format it. That costs a
		// fifth of what the Logger and the handler do for the same line.
		if !h.Enabled(ctx, slog.LevelInfo) {
			return
		}
		// Since reads only the monotonic clock; the line's time is the
		// start's wall clock time moved on by as much.
		dur := time.Since(r.start)
		if h.b.writeAccess(r.start.Add(dur), r.Method, r.URL.Path, r.resp.Status(), r.resp.written, dur, s.pid) {
			return
		}
	}
	l.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", r.resp.Status()),
		slog.Int64("bytes", r.resp.written),
		slog.Duration("dur", time.Since(r.start)),
		slog.Int("pid", s.pid),
	)
}

// Buffering of the default loggers' output.
//
// A write to standard error per access log line cost more CPU than the
// rest of serving a small request. The default loggers write into
// stderrLog instead, which sends what it holds at most logFlushDelay after
// the first line, once it holds logBufferSize bytes, after any record at
// Warn or above (with the lines before it, in order), and when a server
// has stopped. A process that dies without stopping its servers loses the
// last logFlushDelay of lines at most. A logger given by the application
// is used as it is.
const (
	logFlushDelay = 100 * time.Millisecond
	logBufferSize = 32 << 10
)

// stderrLog is the buffered standard error of the default loggers.
var stderrLog = &logBuffer{w: os.Stderr}

// logBuffer is an io.Writer that batches writes to w.
type logBuffer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	armed  bool      // a flush is scheduled
	stamp  timeStamp // of writeAccess
	pid    int       // of writeAccess: the pid of pidEnd
	pidEnd []byte    // " pid=1234\n"
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > logBufferSize {
		b.flushLocked()
		if len(p) > logBufferSize {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		time.AfterFunc(logFlushDelay, b.Flush)
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.armed = false
	b.mu.Unlock()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	b.w.Write(b.buf) // nowhere to report a failed write of the log
	b.buf = b.buf[:0]
}

// flushingHandler is a handler writing into a logBuffer that flushes it
// after each record at Warn or above, so that errors are seen at once.
type flushingHandler struct {
	slog.Handler
	b *logBuffer
	// plain says Handler is a TextHandler on b with no attributes, groups
	// or ReplaceAttr, whose access log lines writeAccess can write.
	plain bool
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), b: h.b}
}

// newTextLogger returns a server's default logger: text on the buffered
// standard error.
func newTextLogger(level slog.Leveler) *slog.Logger {
	return newBufferedLogger(stderrLog, level)
}

func newBufferedLogger(b *logBuffer, level slog.Leveler) *slog.Logger {
	h := slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})
	return slog.New(flushingHandler{Handler: h, b: b, plain: true})
}

// writeAccess appends an access log line to b in the format of slog's
// TextHandler:
//
//	time=2026-11-21T17:35:02.113Z level=INFO msg=request method=GET path=/ status=200 bytes=16 dur=41.2µs pid=5051
//
// It returns false, writing nothing, for a line it does not format the
// same way: a method or path that TextHandler would quote, a path too long
// to be worth it, a year outside 0-9999, the zero time. The caller then
// logs it through slog.
func (b *logBuffer) writeAccess(now time.Time, method, path string, status int, bytes int64, dur time.Duration, pid int) bool {
	if len(path) > 1024 || !bareText(method) || !bareText(path) {
		return false
	}
	if now.IsZero() {
		return false
	}
	const most = len("time=2006-01-02T15:04:05.000-07:00 level=INFO msg=request method= path= status=-9223372036854775808 bytes=-9223372036854775808 dur=-2562047h47m16.854775808s pid=-9223372036854775808\n")
	b.mu.Lock()
	if len(b.buf)+most+len(method)+len(path) > logBufferSize {
		b.flushLocked()
	}
	buf, ok := b.stamp.append(append(b.buf, "time="...), now)
	if !ok {
		b.mu.Unlock()
		return false
	}
	buf = append(buf, " level=INFO msg=request method="...)
	buf = append(buf, method...)
	buf = append(buf, " path="...)
	buf = append(buf, path...)
	buf = append(buf, " status="...)
	buf = appendInt(buf, int64(status))
	buf = append(buf, " bytes="...)
	buf = appendInt(buf, bytes)
	buf = append(buf, " dur="...)
	buf = append(buf, dur.String()...)
	if pid != b.pid || b.pidEnd == nil {
		b.pid = pid
		b.pidEnd = append(strconv.AppendInt(append(b.pidEnd[:0], " pid="...), int64(pid), 10), '\n')
	}
	b.buf = append(buf, b.pidEnd...)
	if !b.armed {
		b.armed = true
		time.AfterFunc(logFlushDelay, b.Flush)
	}
	b.mu.Unlock()
	return true
}

// appendInt is strconv.AppendInt(buf, n, 10), in fewer steps for the
// small numbers of a log line.
func appendInt(buf []byte, n int64) []byte {
	if n < 0 || n >= 1e12 {
		return strconv.AppendInt(buf, n, 10)
	}
	var d [12]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(buf, d[i:]...)
}

// bareText reports whether TextHandler writes s without quotes, judging
// by a narrower rule than its own: s is not empty and is printable ASCII
// other than space, '=', '"' and '\\'.
func bareText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// timeStamp formats times as TextHandler does, RFC 3339 with milliseconds,
// keeping the text up to the seconds and the zone of the last second it
// formatted: most lines then only format their milliseconds.
type timeStamp struct {
	sec  int64          // Unix seconds of the text held
	loc  *time.Location // and its location
	date []byte         // "2006-01-02T15:04:05"
	zone []byte         // "Z" or "-07:00"
	ok   bool           // the year has four digits, as the format needs
}

// append appends t, or reports false if the format cannot hold its year.
func (ts *timeStamp) append(buf []byte, t time.Time) ([]byte, bool) {
	if sec := t.Unix(); sec != ts.sec || t.Location() != ts.loc || ts.date == nil {
		ts.sec, ts.loc = sec, t.Location()
		y := t.Year()
		ts.ok = 0 <= y && y <= 9999
		ts.date = t.AppendFormat(ts.date[:0], "2006-01-02T15:04:05")
		ts.zone = t.AppendFormat(ts.zone[:0], "Z07:00")
	}
	if !ts.ok {
		return buf, false
	}
	ms := t.Nanosecond() / 1e6
	buf = append(buf, ts.date...)
	buf = append(buf, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(buf, ts.zone...), true
}
