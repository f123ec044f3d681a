package baton

import (
	"fmt"
	"net/http"
)

// CSRFConfig configures the CSRF middleware. The zero value is ready to
// use.
type CSRFConfig struct {
	// TrustedOrigins lists other origins ("https://admin.example.com",
	// scheme, host and port only) whose pages may send non-safe requests.
	// If empty, only the server's own origin may.
	TrustedOrigins []string `yaml:"trustedOrigins"`
	// BypassPatterns lists net/http ServeMux patterns ("POST /hooks/",
	// "/webhook/{id}") of requests let through from anywhere: webhooks,
	// endpoints that authenticate by a header a browser cannot forge.
	BypassPatterns []string `yaml:"bypassPatterns"`
}

// CSRF returns middleware that refuses cross-site request forgery with
// net/http's CrossOriginProtection: a request of a non-safe method (not
// GET, HEAD or OPTIONS) that a browser made from another origin is
// answered 403 Forbidden, and the chain does not run. The browser says so
// in Sec-Fetch-Site (every browser since 2023), or else in an Origin that
// does not match the Host. That covers HTML forms and cookie-authenticated
// APIs alike without tokens in forms: same-origin pages and clients that
// are not browsers (no Sec-Fetch-Site, no Origin: curl, servers) pass.
//
// Safe methods are never refused, so they must not change state. It
// panics on a trusted origin that does not parse.
func CSRF(c CSRFConfig) HandlerFunc { return must(newCSRF(c)) }

// newCSRF is CSRF, with an error for an origin that does not parse.
func newCSRF(c CSRFConfig) (HandlerFunc, error) {
	p := http.NewCrossOriginProtection()
	for _, o := range c.TrustedOrigins {
		if err := p.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("baton: CSRF: %w", err)
		}
	}
	for _, pat := range c.BypassPatterns {
		p.AddInsecureBypassPattern(pat)
	}
	return func(r *Request) {
		if err := p.Check(r.Request); err != nil {
			r.Response.WriteStatus(http.StatusForbidden, "cross-origin request refused\n")
			return
		}
		r.Middleware.Next()
	}, nil
}

// MiddlewareCSRF is CSRF with the default configuration: only the
// server's own origin may send non-safe requests.
func MiddlewareCSRF(r *Request) { defaultCSRF(r) }

var defaultCSRF = CSRF(CSRFConfig{})
