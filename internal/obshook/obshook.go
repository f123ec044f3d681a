// Package obshook is where the packages that bring a heavy dependency
// (metrics, tracing) plug into baton's methods of the same name, so that
// a program links them only when it imports them. It holds function
// variables set once, by the init functions of those packages; they take
// the *baton.Server as an any, since this package cannot name it.
package obshook

// EnableMetrics is set by package metrics: it enables metrics on the
// server s at pattern.
var EnableMetrics func(s any, pattern string)

// EnableTracing is set by package tracing: it enables tracing on the
// server s with the *tracing.Config (or nil for the defaults) c.
var EnableTracing func(s any, c any) error

// Enabled is set by baton: the packages call it with the server and
// "metrics" or "tracing" once they are on it, so that the configuration
// file does not turn them on a second time.
var Enabled func(s any, feature string)
