package main

import (
	"time"

	"github.com/baton-go/baton"
)

// useMiddleware adds the middleware shipped with baton, outermost first:
// a request ID in the response, the context and every log line; the
// security headers; CSRF protection of the unsafe methods; compression;
// and a rate limit per client (through ServerConfig.TrustedProxies, when
// a proxy is in front).
func useMiddleware(s *baton.Server) {
	s.Use(
		baton.MiddlewareRequestID,
		baton.MiddlewareSecurityHeaders,
		baton.MiddlewareCSRF,
		baton.MiddlewareGzip,
		baton.RateLimit(baton.RateLimitConfig{Rate: 100, Burst: 200}),
	)
}

// apiTimeout bounds the handlers of the API routes.
var apiTimeout = baton.Timeout(baton.TimeoutConfig{Timeout: 5 * time.Second})
