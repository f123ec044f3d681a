package baton_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

// BenchmarkMiddleware serves one route with each middleware shipped with
// baton, and without any, in the same run: the difference of a row and
// "none" (or "none-4KiB" for the compressed body) is the middleware's cost.
// Every request carries the same headers (an Origin, Accept-Encoding:
// gzip), so that the harness costs the same in every row.
//
//	go test -run '^$' -bench BenchmarkMiddleware -benchmem -count 6 .
func BenchmarkMiddleware(b *testing.B) {
	big := strings.Repeat("compressible text, ", 216) // 4 KiB
	rows := []struct {
		name string
		mw   baton.HandlerFunc
		body string
	}{
		{"none", nil, bodyText},
		{"RequestID", baton.MiddlewareRequestID, bodyText},
		{"SecurityHeaders", baton.MiddlewareSecurityHeaders, bodyText},
		{"CORS", baton.CORS(baton.CORSConfig{AllowedOrigins: []string{"https://app.example"}}), bodyText},
		{"CSRF", baton.MiddlewareCSRF, bodyText},
		{"RateLimit", baton.RateLimit(baton.RateLimitConfig{Rate: 1e12, Burst: 1 << 30}), bodyText},
		{"Timeout", baton.Timeout(baton.TimeoutConfig{Timeout: time.Minute}), bodyText},
		{"Compress-small", baton.MiddlewareGzip, bodyText},
		{"none-4KiB", nil, big},
		{"Compress-4KiB-gzip", baton.MiddlewareGzip, big},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			s := baton.New()
			s.SetAccessLogEnabled(false)
			if row.mw != nil {
				s.Use(row.mw)
			}
			body := row.body
			s.BindHandler("GET:/user/:id", func(r *baton.Request) { r.Response.Write(body) })
			base := httptest.NewRequest("GET", "/user/42", nil)
			base.Header.Set("Origin", "https://app.example")
			base.Header.Set("Accept-Encoding", "gzip")
			w := newDiscardWriter()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := *base
				clear(w.h)
				s.ServeHTTP(w, &req)
			}
		})
	}
	_ = http.StatusOK
}
