package baton

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// MiddlewareConfig turns on the middleware shipped with baton for every
// request of a server, the router's own answers (404, 405, OPTIONS)
// included, ahead of the middleware of Server.Use. A nil field leaves its
// middleware off; a zero one turns it on with its defaults. They run in
// the order of the fields. The configuration file's server section sets
// it under "middleware:", where "true" stands for a zero config:
//
//	server:
//	  trustedProxies: 10.0.0.0/8
//	  middleware:
//	    requestId: true
//	    securityHeaders: {contentSecurityPolicy: "default-src 'self'"}
//	    cors: {allowedOrigins: [https://app.example.com], allowCredentials: true}
//	    csrf: true
//	    rateLimit: {rate: 10, burst: 20}
//	    compress: true
//	    timeout: 10s
//
// The middleware is built when the server starts serving: a change in the
// file takes a reload, which follows by itself under a master.
type MiddlewareConfig struct {
	// RequestID is the RequestID middleware's (file: requestId).
	RequestID *RequestIDConfig `yaml:"requestId"`
	// SecurityHeaders is the SecurityHeaders middleware's
	// (securityHeaders).
	SecurityHeaders *SecurityHeadersConfig `yaml:"securityHeaders"`
	// CORS is the CORS middleware's (cors).
	CORS *CORSConfig `yaml:"cors"`
	// CSRF is the CSRF middleware's (csrf).
	CSRF *CSRFConfig `yaml:"csrf"`
	// RateLimit is the RateLimit middleware's (rateLimit); its Rate must
	// be set.
	RateLimit *RateLimitConfig `yaml:"rateLimit"`
	// Compress is the Compress middleware's (compress).
	Compress *CompressConfig `yaml:"compress"`
	// Timeout is the Timeout middleware's (timeout: 10s, or a mapping),
	// for every route.
	Timeout *TimeoutConfig `yaml:"timeout"`
}

// handlers builds the middleware m turns on, in order, or returns the
// first configuration refused, with its file key.
func (m *MiddlewareConfig) handlers() ([]HandlerFunc, string, error) {
	var out []HandlerFunc
	if c := m.RequestID; c != nil {
		out = append(out, RequestID(*c))
	}
	if c := m.SecurityHeaders; c != nil {
		out = append(out, SecurityHeaders(*c))
	}
	if c := m.CORS; c != nil {
		h, err := newCORS(*c)
		if err != nil {
			return nil, "cors", err
		}
		out = append(out, corsHandler(h))
	}
	if c := m.CSRF; c != nil {
		h, err := newCSRF(*c)
		if err != nil {
			return nil, "csrf", err
		}
		out = append(out, h)
	}
	if c := m.RateLimit; c != nil {
		l, err := newRateLimiter(*c)
		if err != nil {
			return nil, "rateLimit", err
		}
		out = append(out, l.serve)
	}
	if c := m.Compress; c != nil {
		h, err := newCompress(*c)
		if err != nil {
			return nil, "compress", err
		}
		out = append(out, h)
	}
	if c := m.Timeout; c != nil {
		h, err := newTimeout(*c)
		if err != nil {
			return nil, "timeout", err
		}
		out = append(out, h)
	}
	return out, "", nil
}

// builtinMiddleware returns the middleware of the server's
// MiddlewareConfig, which setConfig has checked. It takes no lock of the
// server's: Start builds the tree holding s.mu.
func (rt *router) builtinMiddleware() []HandlerFunc {
	m := rt.builtin.Load()
	if m == nil {
		return nil
	}
	hs, _, err := m.handlers()
	if err != nil {
		panic(err) // setConfig refused it already
	}
	return hs
}

// middlewareFile is the middleware mapping of a server section. Its
// UnmarshalYAML reads the shorthands: "cors: true" for a zero config,
// "cors: false" for none, "timeout: 10s".
type middlewareFile MiddlewareConfig

func (f *middlewareFile) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		c := *n
		c.Content = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode {
				switch {
				case v.Tag == "!!bool" && strings.EqualFold(v.Value, "false"):
					continue // off, as if absent
				case v.Tag == "!!bool":
					v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
				case k.Value == "timeout":
					v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column,
						Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "timeout", Line: v.Line}, v}}
				}
			}
			c.Content = append(c.Content, k, v)
		}
		n = &c
	}
	return n.Decode((*MiddlewareConfig)(f))
}

// validate checks that the middleware the file turns on can be built.
func (f *middlewareFile) validate(path string, at sectionNode) error {
	if _, key, err := (*MiddlewareConfig)(f).handlers(); err != nil {
		return at.errorAt(path, "middleware."+key, strings.TrimPrefix(err.Error(), "baton: "))
	}
	return nil
}
