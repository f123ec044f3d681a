package baton

import (
	"strconv"
	"time"
)

// SecurityHeadersConfig configures the SecurityHeaders middleware. The
// zero value sends the defaults below; a header a handler sets itself
// replaces the middleware's.
type SecurityHeadersConfig struct {
	// HSTSMaxAge is the max-age of Strict-Transport-Security, sent over
	// HTTPS only (TLS here, or a trusted proxy's X-Forwarded-Proto:
	// https). If zero, two years; negative sends none.
	HSTSMaxAge time.Duration `yaml:"hstsMaxAge"`
	// HSTSIncludeSubdomains adds includeSubDomains: every subdomain must
	// then serve HTTPS too.
	HSTSIncludeSubdomains bool `yaml:"hstsIncludeSubdomains"`
	// HSTSPreload adds preload, for the browsers' built-in lists.
	HSTSPreload bool `yaml:"hstsPreload"`
	// FrameOptions is X-Frame-Options: "DENY" or "SAMEORIGIN". If empty,
	// SAMEORIGIN; "-" sends none.
	FrameOptions string `yaml:"frameOptions"`
	// ContentSecurityPolicy is the Content-Security-Policy, such as
	// "default-src 'self'". If empty, none is sent: a policy must fit the
	// site's pages.
	ContentSecurityPolicy string `yaml:"contentSecurityPolicy"`
	// CSPReportOnly sends the policy as
	// Content-Security-Policy-Report-Only, to try it without breaking
	// pages.
	CSPReportOnly bool `yaml:"cspReportOnly"`
	// ReferrerPolicy is the Referrer-Policy. If empty,
	// strict-origin-when-cross-origin; "-" sends none.
	ReferrerPolicy string `yaml:"referrerPolicy"`
	// NoSniffOff leaves out X-Content-Type-Options: nosniff, which is
	// otherwise always sent.
	NoSniffOff bool `yaml:"noSniffOff"`
	// CrossOriginOpenerPolicy is the Cross-Origin-Opener-Policy
	// ("same-origin"). If empty, none is sent.
	CrossOriginOpenerPolicy string `yaml:"crossOriginOpenerPolicy"`
}

// DefaultHSTSMaxAge is the SecurityHeadersConfig.HSTSMaxAge default.
const DefaultHSTSMaxAge = 2 * 365 * 24 * time.Hour

// SecurityHeaders returns middleware that sets the response headers
// browsers read for protection: Strict-Transport-Security over HTTPS,
// X-Content-Type-Options: nosniff, X-Frame-Options, Referrer-Policy and,
// if configured, Content-Security-Policy and Cross-Origin-Opener-Policy.
// They are set before the rest of the chain runs, so a handler can
// change them for its page.
func SecurityHeaders(c SecurityHeadersConfig) HandlerFunc {
	type header struct {
		key string
		val []string
	}
	var always []header
	add := func(key, val, def string) {
		if val == "" {
			val = def
		}
		if val != "" && val != "-" {
			always = append(always, header{key, []string{val}})
		}
	}
	if !c.NoSniffOff {
		add("X-Content-Type-Options", "nosniff", "")
	}
	add("X-Frame-Options", c.FrameOptions, "SAMEORIGIN")
	add("Referrer-Policy", c.ReferrerPolicy, "strict-origin-when-cross-origin")
	cspKey := "Content-Security-Policy"
	if c.CSPReportOnly {
		cspKey = "Content-Security-Policy-Report-Only"
	}
	add(cspKey, c.ContentSecurityPolicy, "")
	add("Cross-Origin-Opener-Policy", c.CrossOriginOpenerPolicy, "")
	var hsts []string
	if age := c.HSTSMaxAge; age >= 0 {
		if age == 0 {
			age = DefaultHSTSMaxAge
		}
		v := "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
		if c.HSTSIncludeSubdomains {
			v += "; includeSubDomains"
		}
		if c.HSTSPreload {
			v += "; preload"
		}
		hsts = []string{v}
	}
	return func(r *Request) {
		h := r.Response.Header()
		for _, x := range always {
			h[x.key] = x.val
		}
		if hsts != nil && r.overHTTPS() {
			h["Strict-Transport-Security"] = hsts
		}
		r.Middleware.Next()
	}
}

// MiddlewareSecurityHeaders is SecurityHeaders with the default
// configuration.
func MiddlewareSecurityHeaders(r *Request) { defaultSecurityHeaders(r) }

var defaultSecurityHeaders = SecurityHeaders(SecurityHeadersConfig{})

// overHTTPS reports whether the client reached the server over HTTPS: a
// TLS connection, or a trusted proxy that says so in X-Forwarded-Proto.
// (A browser ignores Strict-Transport-Security over plain HTTP, so a
// proxy that passes the client's header on can do no harm with it.)
func (r *Request) overHTTPS() bool {
	if r.TLS != nil {
		return true
	}
	v := r.Header.Values("X-Forwarded-Proto")
	return len(v) == 1 && v[0] == "https" && r.Server.trust.Load().fromProxy(r.Request)
}
