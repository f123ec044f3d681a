package baton

import (
	"log/slog"
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
