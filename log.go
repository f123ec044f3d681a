package baton

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// logAccess writes the access log line of a request.
func (s *Server) logAccess(r *Request) {
	s.Logger().LogAttrs(r.Request.Context(), slog.LevelInfo, "request",
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
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	armed bool // a flush is scheduled
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
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.b}
}

// newTextLogger returns a server's default logger: text on the buffered
// standard error.
func newTextLogger(level slog.Leveler) *slog.Logger {
	return slog.New(flushingHandler{slog.NewTextHandler(stderrLog, &slog.HandlerOptions{Level: level}), stderrLog})
}
