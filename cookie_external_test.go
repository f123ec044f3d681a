package baton_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
)

// cookieServer serves /set?name=&value=, /remove?name=, /get?name= and
// /flush, with the given cookie configuration.
func cookieServer(t *testing.T, cfg baton.CookieConfig) *baton.Server {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	c.Cookie = cfg
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/set", func(r *baton.Request) {
		r.Cookie.Set(r.Query("name"), r.Query("value"))
		r.Response.Write(r.Cookie.Get(r.Query("name")))
	})
	s.BindHandler("/remove", func(r *baton.Request) {
		r.Cookie.Remove(r.Query("name"))
		r.Response.Writef("%q %v", r.Cookie.Get(r.Query("name")), r.Cookie.Contains(r.Query("name")))
	})
	s.BindHandler("/get", func(r *baton.Request) { r.Response.Write(r.Cookie.Get(r.Query("name"))) })
	s.BindHandler("/twice", func(r *baton.Request) {
		r.Cookie.Set("a", "1")
		r.Cookie.Set("a", "2")
	})
	s.BindHandler("/flush", func(r *baton.Request) {
		r.Cookie.Set("early", "yes")
		r.Response.Flush()
		r.Cookie.Set("late", "no")
	})
	s.BindHandler("/panic", func(r *baton.Request) {
		r.Cookie.Set("a", "1")
		panic("boom")
	})
	s.BindHandler("/custom", func(r *baton.Request) {
		r.Cookie.SetCookie(&http.Cookie{Name: "c", Value: "v", Path: "/x", SameSite: http.SameSiteStrictMode})
	})
	return s
}

func TestCookie(t *testing.T) {
	tests := []struct {
		name   string
		cfg    baton.CookieConfig
		target string
		header []string
		body   string
		want   []string // Set-Cookie lines
	}{
		{"safe defaults", baton.CookieConfig{}, "/set?name=a&value=1", nil, "1",
			[]string{"a=1; Path=/; HttpOnly; SameSite=Lax"}},
		{"configured", baton.CookieConfig{Path: "/app", Domain: "example.com", MaxAge: time.Hour,
			SameSite: http.SameSiteStrictMode, DisableHttpOnly: true, Secure: true}, "/set?name=a&value=1", nil, "1",
			[]string{"a=1; Path=/app; Domain=example.com; Max-Age=3600; Secure; SameSite=Strict"}},
		{"set twice sends the last", baton.CookieConfig{}, "/twice", nil, "",
			[]string{"a=2; Path=/; HttpOnly; SameSite=Lax"}},
		{"remove expires it", baton.CookieConfig{}, "/remove?name=a", []string{"Cookie", "a=1"}, `"" false`,
			[]string{"a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; SameSite=Lax"}},
		{"get reads the request", baton.CookieConfig{}, "/get?name=b", []string{"Cookie", "a=1; b=two"}, "two", nil},
		{"get of a missing cookie", baton.CookieConfig{}, "/get?name=z", []string{"Cookie", "a=1"}, "", nil},
		{"set before flush is sent, after it is not", baton.CookieConfig{}, "/flush", nil, "",
			[]string{"early=yes; Path=/; HttpOnly; SameSite=Lax"}},
		{"a panicking request sets none", baton.CookieConfig{}, "/panic", nil, "Internal Server Error\n", nil},
		{"SetCookie keeps what it is given", baton.CookieConfig{}, "/custom", nil, "",
			[]string{"c=v; Path=/x; SameSite=Strict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cookieServer(t, tt.cfg)
			s.SetLogger(newTextLogger(io.Discard))
			rec := serve(t, s, "GET", tt.target, nil, tt.header...)
			got := rec.Result().Header.Values("Set-Cookie")
			if rec.Body.String() != tt.body || strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("GET %q: body %q, Set-Cookie %q; want %q, %q", tt.target, rec.Body.String(), got, tt.body, tt.want)
			}
		})
	}
}

func TestCookieSecureOverTLS(t *testing.T) {
	s := cookieServer(t, baton.CookieConfig{})
	ts := httptest.NewTLSServer(s)
	t.Cleanup(ts.Close)
	resp, err := ts.Client().Get(ts.URL + "/set?name=a&value=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("cookies over TLS = %v, want one Secure, HttpOnly, SameSite=Lax", resp.Header.Values("Set-Cookie"))
	}
}
