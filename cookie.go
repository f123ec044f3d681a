package baton

import (
	"net/http"
	"time"
)

// CookieConfig holds the attributes of the cookies a server sets through
// Cookie.Set and Cookie.Remove, and of its session cookie. The zero value
// gives safe defaults: Path=/, HttpOnly, SameSite=Lax, Secure on requests
// that came over TLS, and cookies that last the browser session.
type CookieConfig struct {
	// Path is the cookies' path. If empty, "/" is used.
	Path string
	// Domain is the cookies' domain. If empty, cookies are host-only.
	Domain string
	// MaxAge is how long the cookies of Cookie.Set last. If zero, they
	// last until the browser closes. The session cookie lasts
	// SessionConfig.TTL instead.
	MaxAge time.Duration
	// SameSite restricts cross-site sending. If zero, http.SameSiteLaxMode
	// is used; http.SameSiteNoneMode needs Secure.
	SameSite http.SameSite
	// DisableHttpOnly lets scripts in the page read the cookies. If false,
	// cookies are HttpOnly.
	DisableHttpOnly bool
	// Secure marks every cookie Secure, also on requests over plain HTTP:
	// set it behind a proxy that terminates TLS. If false, cookies are
	// Secure on requests that came over TLS only.
	Secure bool
}

// Cookie reads the cookies of a request and sets those of its response.
// It is the Cookie field of a Request; the zero value is not usable.
// Cookies set are sent with the response headers, so they must be set
// before the response is sent: before the handler returns, or before
// Response.Flush. Setting a cookie of a name again during a request
// replaces it.
//
// Goroutine safety: like its Request, a Cookie belongs to one handler
// goroutine.
type Cookie struct {
	r    *Request
	out  []http.Cookie // set during the request, in order
	sent int           // how many of out are in the headers already
}

// Get returns the value of the cookie name: the one set during this
// request if any (and "" once removed), else the one the client sent, else
// "".
func (c *Cookie) Get(name string) string {
	for i := len(c.out) - 1; i >= 0; i-- {
		if ck := &c.out[i]; ck.Name == name {
			if ck.MaxAge < 0 {
				return ""
			}
			return ck.Value
		}
	}
	if ck, err := c.r.Request.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

// Contains reports whether the client sent the cookie name, or it was set
// (and not removed) during this request.
func (c *Cookie) Contains(name string) bool {
	for i := len(c.out) - 1; i >= 0; i-- {
		if c.out[i].Name == name {
			return c.out[i].MaxAge >= 0
		}
	}
	_, err := c.r.Request.Cookie(name)
	return err == nil
}

// Set sets the cookie name to value with the server's CookieConfig
// attributes.
func (c *Cookie) Set(name, value string) {
	cfg := c.r.Server.sessions.Load().cookie
	ck := c.template(cfg)
	ck.Name, ck.Value = name, value
	if cfg.MaxAge > 0 {
		ck.MaxAge = int(cfg.MaxAge / time.Second)
	}
	c.add(ck)
}

// SetCookie sets ck as given, except that an empty Path becomes the
// configured one and a zero SameSite the configured one (Lax by default):
// for full control of the other attributes.
func (c *Cookie) SetCookie(ck *http.Cookie) {
	cfg := c.r.Server.sessions.Load().cookie
	x := *ck
	if x.Path == "" {
		x.Path = cfg.Path
		if x.Path == "" {
			x.Path = "/"
		}
	}
	if x.SameSite == 0 {
		x.SameSite = cfg.SameSite
		if x.SameSite == 0 {
			x.SameSite = http.SameSiteLaxMode
		}
	}
	c.add(x)
}

// Remove tells the client to delete the cookie name: it sets it empty and
// expired, with the configured Path and Domain (a cookie set with other
// ones needs SetCookie with MaxAge -1 and those).
func (c *Cookie) Remove(name string) {
	ck := c.template(c.r.Server.sessions.Load().cookie)
	ck.Name = name
	ck.MaxAge = -1
	ck.Expires = time.Unix(0, 0)
	c.add(ck)
}

// template returns a cookie with the attributes of cfg for this request.
func (c *Cookie) template(cfg CookieConfig) http.Cookie {
	ck := http.Cookie{
		Path:     cfg.Path,
		Domain:   cfg.Domain,
		SameSite: cfg.SameSite,
		HttpOnly: !cfg.DisableHttpOnly,
		Secure:   cfg.Secure || c.r.TLS != nil,
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 {
		ck.SameSite = http.SameSiteLaxMode
	}
	return ck
}

// add queues ck for the response headers, replacing a queued cookie of the
// same name, path and domain.
func (c *Cookie) add(ck http.Cookie) {
	if c.r.Response.committed { // the Response the handler writes: a middleware's own, maybe
		c.r.Logger().Warn("baton: cookie set after the response was sent", "cookie", ck.Name,
			"method", c.r.Method, "path", c.r.URL.Path)
		return
	}
	for i := c.sent; i < len(c.out); i++ {
		if o := &c.out[i]; o.Name == ck.Name && o.Path == ck.Path && o.Domain == ck.Domain {
			*o = ck
			return
		}
	}
	c.out = append(c.out, ck)
}

// flush writes the queued cookies into h, as the response is sent.
func (c *Cookie) flush(h http.Header) {
	for i := c.sent; i < len(c.out); i++ {
		if v := c.out[i].String(); v != "" {
			h.Add("Set-Cookie", v)
		}
	}
	c.sent = len(c.out)
}

// discard drops the cookies not sent yet: a request that panicked sets
// none.
func (c *Cookie) discard() {
	c.out = c.out[:c.sent]
}

// reset readies c for the next request, keeping its slice.
func (c *Cookie) reset(r *Request) {
	if len(c.out) == 0 && c.sent == 0 {
		return // unused by the request
	}
	clear(c.out)
	*c = Cookie{r: r, out: c.out[:0]}
}
