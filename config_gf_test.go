package baton

import (
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fileServerConfig loads text as config.yaml and returns the default
// server's configuration as the file sets it, and the warnings.
func fileServerConfig(t *testing.T, text string) (ServerConfig, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, text)
	c, err := LoadConfig(path)
	if err != nil {
		return ServerConfig{}, "", err
	}
	d := c.cur.Load()
	var sc ServerConfig
	d.servers["default"].apply(&sc)
	return sc, strings.Join(d.warns, "\n"), nil
}

func TestConfigGoFrameKeys(t *testing.T) {
	off := false
	for _, tt := range []struct {
		name, yaml string
		want       func(c *ServerConfig) any
		value      any
	}{
		{"clientMaxBodySize MB is MiB", "clientMaxBodySize: 8MB", func(c *ServerConfig) any { return c.MaxBodySize }, int64(8 << 20)},
		{"clientMaxBodySize short unit", "clientMaxBodySize: 512k", func(c *ServerConfig) any { return c.MaxBodySize }, int64(512 << 10)},
		{"clientMaxBodySize bytes", "clientMaxBodySize: 1000", func(c *ServerConfig) any { return c.MaxBodySize }, int64(1000)},
		{"httpsAddr", "httpsAddr: \":8443\"", func(c *ServerConfig) any { return c.HTTPSAddr }, []string{":8443"}},
		{"httpsCertPath and KeyPath", "httpsCertPath: c.pem\n  httpsKeyPath: k.pem", func(c *ServerConfig) any { return c.HTTPSCertFile + "," + c.HTTPSKeyFile }, "c.pem,k.pem"},
		{"indexFiles", "indexFiles: [default.html]", func(c *ServerConfig) any { return c.IndexFiles }, []string{"default.html"}},
		{"indexFolder", "indexFolder: true", func(c *ServerConfig) any { return c.DirectoryListing }, true},
		{"accessLogEnabled false", "accessLogEnabled: false", func(c *ServerConfig) any { return c.AccessLogDisabled }, true},
		{"accessLogEnabled true", "accessLogEnabled: true", func(c *ServerConfig) any { return c.AccessLogDisabled }, false},
		{"any case", "AccessLogEnabled: false", func(c *ServerConfig) any { return c.AccessLogDisabled }, true},
		{"errorStack false", "errorStack: false", func(c *ServerConfig) any { return c.ErrorStackDisabled }, true},
		{"logLevel all", "logLevel: all", func(c *ServerConfig) any { return c.LogLevel }, "debug"},
		{"logLevel prod", "logLevel: prod", func(c *ServerConfig) any { return c.LogLevel }, "warn"},
		{"logLevel slog", "logLevel: error", func(c *ServerConfig) any { return c.LogLevel }, "error"},
		{"gracefulShutdownTimeout seconds", "gracefulShutdownTimeout: 7", func(c *ServerConfig) any { return c.DrainTimeout }, 7 * time.Second},
		{"readTimeout", "readTimeout: 60s", func(c *ServerConfig) any { return c.ReadTimeout }, time.Minute},
		{"sessionMaxAge", "sessionMaxAge: 2h", func(c *ServerConfig) any { return c.Session.TTL }, 2 * time.Hour},
		{"sessionIdName", "sessionIdName: gfsessionid", func(c *ServerConfig) any { return c.Session.CookieName }, "gfsessionid"},
		{"sessionPath", "sessionPath: /var/lib/app/sessions", func(c *ServerConfig) any { return c.Session.Dir }, "/var/lib/app/sessions"},
		{"cookieMaxAge", "cookieMaxAge: 24h", func(c *ServerConfig) any { return c.Cookie.MaxAge }, 24 * time.Hour},
		{"cookiePath and Domain", "cookiePath: /app\n  cookieDomain: example.com", func(c *ServerConfig) any { return c.Cookie.Path + "," + c.Cookie.Domain }, "/app,example.com"},
		{"cookieSameSite", "cookieSameSite: strict", func(c *ServerConfig) any { return c.Cookie.SameSite }, http.SameSiteStrictMode},
		{"cookieSecure", "cookieSecure: true", func(c *ServerConfig) any { return c.Cookie.Secure }, true},
		{"cookieHttpOnly false", "cookieHttpOnly: false", func(c *ServerConfig) any { return c.Cookie.DisableHttpOnly }, true},
		{"baton cookie section", "cookie:\n    sameSite: none\n    secure: true", func(c *ServerConfig) any { return c.Cookie.SameSite }, http.SameSiteNoneMode},
		{"GoFrame key beside the baton section", "cookie:\n    path: /a\n  cookieSecure: true", func(c *ServerConfig) any {
			return c.Cookie.Path + "," + map[bool]string{true: "secure"}[c.Cookie.Secure]
		}, "/a,secure"},
		{"searchPaths", "searchPaths: [a, b]", func(c *ServerConfig) any { return c.SearchPaths }, []string{"a", "b"}},
		{"staticPaths", "staticPaths:\n    - {prefix: /s, path: public}", func(c *ServerConfig) any { return c.StaticPaths }, []StaticPath{{Prefix: "/s", Path: "public"}}},
		{"rewrites", "rewrites:\n    /old: /new", func(c *ServerConfig) any { return c.Rewrites }, map[string]string{"/old": "/new"}},
		{"serveDotFiles false", "serveDotFiles: false", func(c *ServerConfig) any { return c.ServeDotFiles }, off},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := fileServerConfig(t, "server:\n  "+tt.yaml+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.want(&c); !reflect.DeepEqual(got, tt.value) {
				t.Errorf("%s: got %#v, want %#v", tt.yaml, got, tt.value)
			}
			if warns != "" {
				t.Errorf("warnings: %s", warns)
			}
		})
	}
}

func TestConfigGoFrameKeysUnsupported(t *testing.T) {
	for _, key := range []string{"logPath: /var/log", "serverAgent: x", "routeOverWrite: true", "sessionCookieMaxAge: 1h", "graceful: true"} {
		t.Run(key, func(t *testing.T) {
			name, _, _ := strings.Cut(key, ":")
			c, warns, err := fileServerConfig(t, "server:\n  address: \":1\"\n  "+key+"\n")
			if err != nil {
				t.Fatal(err)
			}
			want := `:3: GoFrame key "server.` + name + `" is not supported (ignored): `
			if !strings.Contains(warns, want) {
				t.Errorf("warnings %q lack %q", warns, want)
			}
			if len(c.Addr) != 1 || c.Addr[0] != ":1" {
				t.Errorf("the rest of the section was lost: %+v", c.Addr)
			}
		})
	}
}

// configErrorRow is a file that LoadConfig must reject with a
// *ConfigError at line, naming key, its message containing msg.
type configErrorRow struct {
	name, text string
	line       int
	key, msg   string
}

func runConfigErrorRows(t *testing.T, rows []configErrorRow) {
	t.Helper()
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := fileServerConfig(t, tt.text)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig(%q) = %v, want a *ConfigError", tt.text, err)
			}
			if ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("error = %+v, want line %d key %q msg ~%q", ce, tt.line, tt.key, tt.msg)
			}
		})
	}
}

func TestConfigGoFrameKeysErrors(t *testing.T) {
	runConfigErrorRows(t, []configErrorRow{
		{"both names", "server:\n  maxBodySize: 1MiB\n  clientMaxBodySize: 8MB\n", 3, "server.maxBodySize", "as GoFrame's clientMaxBodySize: keep one"},
		{"both names in a sub-section", "server:\n  cookie:\n    secure: true\n  cookieSecure: false\n", 4, "server.cookie.secure", "as GoFrame's cookieSecure"},
		{"bad GoFrame size", "server:\n  clientMaxBodySize: lots\n", 2, "server.clientMaxBodySize", "not a size"},
		{"bad unit", "server:\n  clientMaxBodySize: 8XB\n", 2, "server.clientMaxBodySize", "not a size"},
		{"bad seconds", "server:\n  gracefulShutdownTimeout: 5s\n", 2, "server.gracefulShutdownTimeout", "not a number of seconds"},
		{"validation names GoFrame's key", "server:\n  sessionMaxAge: -1h\n", 2, "server.sessionMaxAge", "negative"},
		{"decoding names GoFrame's key", "server:\n  cookieSecure: maybe\n", 2, "server.cookieSecure", "cannot unmarshal"},
		{"bad sameSite", "server:\n  cookieSameSite: sometimes\n", 2, "server.cookieSameSite", "not lax, strict or none"},
		{"bad rewrite", "server:\n  rewrites:\n    old: /new\n", 3, "server.rewrites", ""},
		{"bad static path", "server:\n  staticPaths:\n    - {prefix: s}\n", 3, "server.staticPaths", "prefix starting with /"},
	})
}

func TestConfigSessionSectionsPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, "session:\n  ttl: 1h\n  cookieName: top\nserver:\n  sessionMaxAge: 2h\nserver.api:\n  address: \":1\"\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	d := c.cur.Load()
	def, _ := d.serverConfig("default")
	api, _ := d.serverConfig("api")
	if def.Session.TTL != 2*time.Hour || def.Session.CookieName != "top" {
		t.Errorf("default server: ttl %v cookie %q, want its own 2h and the top-level cookie name", def.Session.TTL, def.Session.CookieName)
	}
	if api.Session.TTL != time.Hour {
		t.Errorf("api server: ttl %v, want the top-level 1h", api.Session.TTL)
	}
}
