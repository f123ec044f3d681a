package baton

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/rs/cors"
)

// CORSConfig configures the CORS middleware. The zero value admits
// requests from every origin, without credentials.
type CORSConfig struct {
	// AllowedOrigins lists the origins ("https://app.example.com") allowed
	// to call the server from a browser; one "*" in an origin stands for
	// any text ("https://*.example.com"), and "*" alone for every origin.
	// If empty, every origin is allowed.
	AllowedOrigins []string `yaml:"allowedOrigins"`
	// AllowedMethods lists the methods allowed. If empty, GET, HEAD,
	// POST, PUT, PATCH and DELETE.
	AllowedMethods []string `yaml:"allowedMethods"`
	// AllowedHeaders lists the request headers allowed. If empty, every
	// header a preflight asks for ("*").
	AllowedHeaders []string `yaml:"allowedHeaders"`
	// ExposedHeaders lists the response headers the page may read beyond
	// the safelisted ones. If empty, none.
	ExposedHeaders []string `yaml:"exposedHeaders"`
	// AllowCredentials lets the page send cookies and HTTP authentication
	// and read the answer. It requires AllowedOrigins to be listed: with
	// every origin allowed, any site could act as the user, so CORS
	// panics on that combination.
	AllowCredentials bool `yaml:"allowCredentials"`
	// MaxAge is how long a browser may keep a preflight's answer. If zero,
	// 24 hours (browsers cap it: Chromium at 2 hours); negative sends 0.
	MaxAge time.Duration `yaml:"maxAge"`
	// AllowPrivateNetwork answers yes to Private Network Access
	// preflights, from public sites to this server on a private network.
	AllowPrivateNetwork bool `yaml:"allowPrivateNetwork"`
}

// DefaultCORSMaxAge is the preflight cache time CORSConfig.MaxAge defaults
// to.
const DefaultCORSMaxAge = 24 * time.Hour

// defaultCORSMethods are the methods CORSConfig.AllowedMethods defaults to.
var defaultCORSMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete}

// newCORS builds the rs/cors handler of c, or says why c is refused.
func newCORS(c CORSConfig) (*cors.Cors, error) {
	origins := c.AllowedOrigins
	if len(origins) == 0 || slices.Contains(origins, "*") {
		if c.AllowCredentials {
			return nil, fmt.Errorf("baton: CORS: AllowCredentials with every origin allowed would let any site act as the user: list AllowedOrigins")
		}
		origins = []string{"*"}
	}
	methods := c.AllowedMethods
	if len(methods) == 0 {
		methods = defaultCORSMethods
	}
	headers := c.AllowedHeaders
	if len(headers) == 0 {
		headers = []string{"*"}
	}
	maxAge := int(c.MaxAge / time.Second)
	switch {
	case c.MaxAge == 0:
		maxAge = int(DefaultCORSMaxAge / time.Second)
	case c.MaxAge < 0 || maxAge == 0:
		maxAge = -1 // rs/cors sends "0"
	}
	return cors.New(cors.Options{
		AllowedOrigins:      origins,
		AllowedMethods:      methods,
		AllowedHeaders:      headers,
		ExposedHeaders:      c.ExposedHeaders,
		AllowCredentials:    c.AllowCredentials,
		AllowPrivateNetwork: c.AllowPrivateNetwork,
		MaxAge:              maxAge,
	}), nil
}

// CORS returns middleware that answers cross-origin requests as c allows,
// with rs/cors: a preflight (OPTIONS with Access-Control-Request-Method)
// is answered 204 with the allowed origin, methods and headers, and the
// rest of the chain does not run; another request gets its
// Access-Control-Allow-Origin (and Vary: Origin) and goes on. A request
// from an origin not allowed gets no CORS headers, which the browser
// takes as a refusal. It panics on a configuration that cannot be safe
// (AllowCredentials with every origin).
//
// Preflights of a route without an OPTIONS handler are answered by the
// router after the server's middleware (Server.Use), not a group's: put
// CORS on the server, or bind the group's routes for all methods.
func CORS(c CORSConfig) HandlerFunc {
	h, err := newCORS(c)
	if err != nil {
		panic(err)
	}
	return corsHandler(h)
}

func corsHandler(h *cors.Cors) HandlerFunc {
	return func(r *Request) {
		serveCORS(h, r)
		r.Middleware.Next()
	}
}

// serveCORS applies h to r and ends the chain after a preflight.
func serveCORS(h *cors.Cors, r *Request) {
	h.HandlerFunc(r.Response.Writer(), r.Request)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		r.ExitAll()
	}
}

// defaultCORS is the handler of CORSDefault: every origin, method and
// header, without credentials.
var defaultCORS = cors.New(cors.Options{
	AllowedOrigins: []string{"*"},
	AllowedMethods: allMethods,
	AllowedHeaders: []string{"*"},
	MaxAge:         3628800,
})

// CORSDefault answers the request as GoFrame's Response.CORSDefault does:
// every origin, method and header is allowed, a preflight's answer may be
// kept for 42 days, and a preflight ends the handler chain (as ExitAll).
// Unlike GoFrame's, it does not allow credentials, which with every
// origin allowed would let any site read what the user's cookies give
// access to: the origin allowed is "*", not the request's Origin echoed.
// For credentials, use the CORS middleware with the origins listed.
func (w *Response) CORSDefault() {
	serveCORS(defaultCORS, w.req)
}

// MiddlewareCORS is GoFrame's middleware of that name: CORSDefault, then
// the rest of the chain.
func MiddlewareCORS(r *Request) {
	r.Response.CORSDefault()
	r.Middleware.Next()
}
