package baton

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
)

// DefaultRequestIDHeader is the header RequestID reads and sets.
const DefaultRequestIDHeader = "X-Request-Id"

// maxRequestID is the longest request ID taken from a proxy.
const maxRequestID = 128

// RequestIDConfig configures the RequestID middleware. The zero value is
// ready to use.
type RequestIDConfig struct {
	// Header is the request and response header of the ID. If empty,
	// X-Request-Id is used.
	Header string `yaml:"header"`
	// Generate makes the ID of a request that comes without one. If nil,
	// an ID is 26 characters of base32 from 128 random bits
	// (crypto/rand.Text).
	Generate func() string `yaml:"-"`
}

// requestIDKey is the context key of the request ID.
type requestIDKey struct{}

// RequestID returns middleware that gives every request an ID: the one a
// trusted proxy (ServerConfig.TrustedProxies) sent in the header, if it is
// 1 to 128 characters of letters, digits and "-_.:", else a new one. A
// client that is not a trusted proxy cannot choose its ID, so that it
// cannot pose as another request in the logs. The ID is set in the
// response header, in r.Context() (RequestIDFromContext), and in every
// access and error log line of the request ("request_id=..."), and
// Request.RequestID and Request.Logger return it.
//
// Use it first (s.Use(baton.RequestID(baton.RequestIDConfig{}))) so that
// the middleware after it log with the ID.
func RequestID(c RequestIDConfig) HandlerFunc {
	header := http.CanonicalHeaderKey(c.Header)
	if header == "" {
		header = DefaultRequestIDHeader
	}
	gen := c.Generate
	if gen == nil {
		gen = rand.Text
	}
	return func(r *Request) {
		id := ""
		if r.Server.trust.Load().fromProxy(r.Request) {
			if v := r.Header.Values(header); len(v) == 1 && validRequestID(v[0]) {
				id = v[0]
			}
		}
		if id == "" {
			id = gen()
		}
		r.setRequestID(id, header)
		r.Response.Header()[header] = []string{id}
		r.Middleware.Next()
	}
}

// MiddlewareRequestID is RequestID with the default configuration.
func MiddlewareRequestID(r *Request) { defaultRequestID(r) }

var defaultRequestID = RequestID(RequestIDConfig{})

// setRequestID records id as the request's ID, sent in header, in the
// Request for the logs and in its context.
func (r *Request) setRequestID(id, header string) {
	x := r.extra()
	x.id, x.idHeader = id, header
	if x.orig == nil {
		x.orig = r.Request
	}
	r.Request = r.Request.WithContext(context.WithValue(r.Request.Context(), requestIDKey{}, id))
}

// validRequestID reports whether id may be taken as it is: short and of
// characters that need no quoting in a log line or a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// RequestID returns the ID the RequestID middleware gave the request, or
// "" without it.
func (r *Request) RequestID() string {
	if r.x == nil {
		return ""
	}
	return r.x.id
}

// RequestIDFromContext returns the request ID in ctx, the context of a
// request the RequestID middleware has seen, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Logger returns the server's logger, with the request's ID as the
// attribute request_id when it has one: the error lines baton writes about
// a request go through it, and so can the handler's.
func (r *Request) Logger() *slog.Logger {
	l := r.Server.Logger()
	if id := r.RequestID(); id != "" {
		return l.With("request_id", id)
	}
	return l
}
