package baton

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The server sections of the configuration file ("server:",
// "server.<name>:"): their schema, its validation, how a section applies to
// a ServerConfig, and how a changed file reaches the running servers.

// serverFile is a server section of the file.
type serverFile struct {
	Address           stringList        `yaml:"address"`
	HTTPSAddress      stringList        `yaml:"httpsAddress"`
	HTTPSCertFile     string            `yaml:"httpsCertFile"`
	HTTPSKeyFile      string            `yaml:"httpsKeyFile"`
	ServerRoot        string            `yaml:"serverRoot"`
	IndexFiles        []string          `yaml:"indexFiles"`
	SearchPaths       stringList        `yaml:"searchPaths"`
	StaticPaths       []staticFile      `yaml:"staticPaths"`
	Rewrites          map[string]string `yaml:"rewrites"`
	DirectoryListing  *bool             `yaml:"directoryListing"`
	ServeDotFiles     *bool             `yaml:"serveDotFiles"`
	ReadHeaderTimeout time.Duration     `yaml:"readHeaderTimeout"`
	ReadTimeout       time.Duration     `yaml:"readTimeout"`
	WriteTimeout      time.Duration     `yaml:"writeTimeout"`
	SendTimeout       time.Duration     `yaml:"sendTimeout"`
	IdleTimeout       time.Duration     `yaml:"idleTimeout"`
	MaxHeaderBytes    int               `yaml:"maxHeaderBytes"`
	MaxBodySize       byteSize          `yaml:"maxBodySize"`
	DrainTimeout      time.Duration     `yaml:"drainTimeout"`
	ReadyTimeout      time.Duration     `yaml:"readyTimeout"`
	IdleGrace         time.Duration     `yaml:"idleGrace"`
	AccessLog         *bool             `yaml:"accessLog"`
	ErrorStack        *bool             `yaml:"errorStack"`
	LogLevel          string            `yaml:"logLevel"`
	TrustedProxies    stringList        `yaml:"trustedProxies"`
	ClientIPHeader    string            `yaml:"clientIpHeader"`
	AllowedHosts      stringList        `yaml:"allowedHosts"`
	Admin             struct {
		Token          string   `yaml:"token"`
		AllowLocal     *bool    `yaml:"allowLocal"`
		Allow          []string `yaml:"allow"`
		TrustedProxies []string `yaml:"trustedProxies"` // deprecated: trustedProxies
	} `yaml:"admin"`
	Cookie struct {
		Path     string        `yaml:"path"`
		Domain   string        `yaml:"domain"`
		MaxAge   time.Duration `yaml:"maxAge"`
		SameSite string        `yaml:"sameSite"`
		HttpOnly *bool         `yaml:"httpOnly"`
		Secure   *bool         `yaml:"secure"`
	} `yaml:"cookie"`
	Session struct {
		CookieName string        `yaml:"cookieName"`
		TTL        time.Duration `yaml:"ttl"`
		Dir        string        `yaml:"dir"`
	} `yaml:"session"`
}

// staticFile is an entry of staticPaths: a URL prefix served from a directory.
type staticFile struct {
	Prefix string `yaml:"prefix"`
	Path   string `yaml:"path"`
}

// decodeServerSection decodes the server section node, whose key is
// prefix, after renaming GoFrame's keys to baton's (config_gf.go), and
// validates it. It returns the section, where its keys are for error
// messages, and the warnings: keys it does not know, GoFrame keys baton
// does not take.
func decodeServerSection(path, prefix string, node *yaml.Node) (*serverFile, sectionNode, []string, error) {
	n := copyNode(node)
	gfWarns, renamed, err := gfAliases(path, prefix, n)
	if err != nil {
		return nil, sectionNode{}, nil, err
	}
	at := sectionNode{key: prefix, node: n, written: renamed}
	sf, warns, err := decodeSection[serverFile](path, prefix, n)
	if err != nil {
		return nil, at, nil, at.rename(err)
	}
	if err := sf.validate(path, at); err != nil {
		return nil, at, nil, err
	}
	return sf, at, append(gfWarns, warns...), nil
}

// copyNode copies a node and everything under it.
func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, sub := range n.Content {
		c.Content[i] = copyNode(sub)
	}
	return &c
}

// stringList is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "" {
			*s = nil
			return nil
		}
		*s = strings.Split(n.Value, ",")
		for i := range *s {
			(*s)[i] = strings.TrimSpace((*s)[i])
		}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*s = list
	return nil
}

// byteSize is a count of bytes, written as 1048576 or "1MiB", "8MB", "512KiB".
type byteSize int64

func (b *byteSize) UnmarshalYAML(n *yaml.Node) error {
	v := strings.TrimSpace(n.Value)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a size (like 8MiB)", n.Line, n.Value)
	}
	*b = byteSize(x * mult)
	return nil
}

// validate checks values that decode but make no sense.
func (sf *serverFile) validate(path string, at sectionNode) error {
	bad := func(key, msg string) error { return at.errorAt(path, key, msg) }
	for _, list := range []struct {
		key   string
		addrs []string
	}{{"address", sf.Address}, {"httpsAddress", sf.HTTPSAddress}} {
		for _, a := range list.addrs {
			_, port, err := net.SplitHostPort(a)
			if err != nil {
				return bad(list.key, fmt.Sprintf("%q is not host:port", a))
			}
			if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
				return bad(list.key, fmt.Sprintf("port %q is not a number from 0 to 65535", port))
			}
		}
	}
	if (sf.HTTPSCertFile == "") != (sf.HTTPSKeyFile == "") {
		return bad("httpsCertFile", "httpsCertFile and httpsKeyFile go together")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"readHeaderTimeout", sf.ReadHeaderTimeout}, {"idleTimeout", sf.IdleTimeout}, {"drainTimeout", sf.DrainTimeout},
		{"readyTimeout", sf.ReadyTimeout}, {"idleGrace", sf.IdleGrace}, {"writeTimeout", sf.WriteTimeout}} {
		if d.v < 0 {
			return bad(d.key, "a duration must not be negative")
		}
	}
	if sf.MaxHeaderBytes < 0 {
		return bad("maxHeaderBytes", "must not be negative")
	}
	if sf.LogLevel != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(sf.LogLevel)); err != nil {
			return bad("logLevel", fmt.Sprintf("%q is not debug, info, warn or error", sf.LogLevel))
		}
	}
	for _, list := range []struct {
		key  string
		nets []string
	}{{"trustedProxies", sf.TrustedProxies}, {"admin.allow", sf.Admin.Allow}, {"admin.trustedProxies", sf.Admin.TrustedProxies}} {
		if _, err := parseNetworks(list.nets); err != nil {
			return bad(list.key, err.Error())
		}
	}
	if _, err := clientIPHeader(sf.ClientIPHeader); err != nil {
		return bad("clientIpHeader", fmt.Sprintf("%q is not X-Forwarded-For, X-Real-IP or Forwarded", sf.ClientIPHeader))
	}
	if _, err := checkRewrites(sf.Rewrites); err != nil {
		return bad("rewrites", err.Error())
	}
	for _, p := range sf.StaticPaths {
		if !strings.HasPrefix(p.Prefix, "/") || p.Path == "" {
			return bad("staticPaths", fmt.Sprintf("%+v: each entry needs a prefix starting with / and a path", p))
		}
	}
	if _, ok := sameSiteModes[strings.ToLower(sf.Cookie.SameSite)]; !ok {
		return bad("cookie.sameSite", fmt.Sprintf("%q is not lax, strict or none", sf.Cookie.SameSite))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"cookie.maxAge", sf.Cookie.MaxAge}, {"session.ttl", sf.Session.TTL}} {
		if d.v < 0 {
			return bad(d.key, "a duration must not be negative")
		}
	}
	return nil
}

// sameSiteModes are the values of cookie.sameSite; "" leaves baton's default.
var sameSiteModes = map[string]http.SameSite{
	"": 0, "lax": http.SameSiteLaxMode, "strict": http.SameSiteStrictMode, "none": http.SameSiteNoneMode,
}

// apply sets the fields the file names on c.
func (sf *serverFile) apply(c *ServerConfig) {
	if sf == nil {
		return
	}
	set := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	if len(sf.Address) > 0 {
		c.Addr = slices.Clone(sf.Address)
	}
	if len(sf.HTTPSAddress) > 0 {
		c.HTTPSAddr = slices.Clone(sf.HTTPSAddress)
	}
	if sf.HTTPSCertFile != "" {
		c.HTTPSCertFile, c.HTTPSKeyFile = sf.HTTPSCertFile, sf.HTTPSKeyFile
	}
	if sf.ServerRoot != "" {
		c.ServerRoot = sf.ServerRoot
	}
	if len(sf.IndexFiles) > 0 {
		c.IndexFiles = slices.Clone(sf.IndexFiles)
	}
	if len(sf.SearchPaths) > 0 {
		c.SearchPaths = slices.Clone(sf.SearchPaths)
	}
	if len(sf.StaticPaths) > 0 {
		c.StaticPaths = nil
		for _, p := range sf.StaticPaths {
			c.StaticPaths = append(c.StaticPaths, StaticPath{Prefix: p.Prefix, Path: p.Path})
		}
	}
	if len(sf.Rewrites) > 0 {
		c.Rewrites = maps.Clone(sf.Rewrites)
	}
	setBool := func(dst *bool, v *bool, invert bool) {
		if v != nil {
			*dst = *v != invert
		}
	}
	setBool(&c.DirectoryListing, sf.DirectoryListing, false)
	setBool(&c.ServeDotFiles, sf.ServeDotFiles, false)
	setBool(&c.ErrorStackDisabled, sf.ErrorStack, true)
	set(&c.ReadHeaderTimeout, sf.ReadHeaderTimeout)
	set(&c.ReadTimeout, sf.ReadTimeout)
	set(&c.WriteTimeout, sf.WriteTimeout)
	set(&c.SendTimeout, sf.SendTimeout)
	set(&c.IdleTimeout, sf.IdleTimeout)
	set(&c.DrainTimeout, sf.DrainTimeout)
	set(&c.ReadyTimeout, sf.ReadyTimeout)
	set(&c.IdleGrace, sf.IdleGrace)
	if sf.MaxHeaderBytes != 0 {
		c.MaxHeaderBytes = sf.MaxHeaderBytes
	}
	if sf.MaxBodySize != 0 {
		c.MaxBodySize = int64(sf.MaxBodySize)
	}
	if sf.AccessLog != nil {
		c.AccessLogDisabled = !*sf.AccessLog
	}
	if sf.LogLevel != "" {
		c.LogLevel = sf.LogLevel
	}
	if len(sf.TrustedProxies) > 0 {
		c.TrustedProxies = slices.Clone(sf.TrustedProxies)
	}
	if sf.ClientIPHeader != "" {
		c.ClientIPHeader = sf.ClientIPHeader
	}
	if len(sf.AllowedHosts) > 0 {
		c.AllowedHosts = slices.Clone(sf.AllowedHosts)
	}
	if sf.Admin.Token != "" {
		c.Admin.Token = sf.Admin.Token
	}
	if sf.Admin.AllowLocal != nil {
		c.Admin.AllowLocal = *sf.Admin.AllowLocal
	}
	if len(sf.Admin.Allow) > 0 {
		c.Admin.Allow = slices.Clone(sf.Admin.Allow)
	}
	if len(sf.Admin.TrustedProxies) > 0 {
		c.Admin.TrustedProxies = slices.Clone(sf.Admin.TrustedProxies)
	}
	sf.applyCookies(c)
}

// applyCookies sets the cookie and session settings the file names on c.
func (sf *serverFile) applyCookies(c *ServerConfig) {
	fc, fs := &sf.Cookie, &sf.Session
	if fc.Path != "" {
		c.Cookie.Path = fc.Path
	}
	if fc.Domain != "" {
		c.Cookie.Domain = fc.Domain
	}
	if fc.MaxAge != 0 {
		c.Cookie.MaxAge = fc.MaxAge
	}
	if fc.SameSite != "" {
		c.Cookie.SameSite = sameSiteModes[strings.ToLower(fc.SameSite)]
	}
	if fc.HttpOnly != nil {
		c.Cookie.DisableHttpOnly = !*fc.HttpOnly
	}
	if fc.Secure != nil {
		c.Cookie.Secure = *fc.Secure
	}
	if fs.CookieName != "" {
		c.Session.CookieName = fs.CookieName
	}
	if fs.TTL != 0 {
		c.Session.TTL = fs.TTL
	}
	if fs.Dir != "" {
		c.Session.Dir = fs.Dir
	}
}

// sectionNode locates a server section in the file: its key ("server",
// "server.api") and its mapping.
type sectionNode struct {
	key     string
	node    *yaml.Node
	written map[string]string // baton's key -> GoFrame's, as the file has it
}

// errorAt is a ConfigError about key of the section, at the key's line,
// named as the file writes it.
func (at sectionNode) errorAt(path, key, msg string) *ConfigError {
	line := 0
	if n := findNode(at.node, key); n != nil {
		line = n.Line
	}
	if w, ok := at.written[key]; ok {
		key = w
	}
	return &ConfigError{File: path, Line: line, Key: at.key + "." + key, Msg: msg}
}

// rename makes a ConfigError of the decoder name the key as the file
// writes it.
func (at sectionNode) rename(err error) error {
	ce, ok := err.(*ConfigError)
	if !ok {
		return err
	}
	if rel, ok := strings.CutPrefix(ce.Key, at.key+"."); ok {
		if w, ok := at.written[rel]; ok {
			ce.Key = at.key + "." + w
		}
	}
	return ce
}

// fileRootError returns why the server root of c, which the file's
// section of server name sets, cannot be opened, as a *ConfigError at the
// line of its key; nil when it opens or when c has none.
func fileRootError(name string, c *ServerConfig) error {
	if c.ServerRoot == "" {
		return nil
	}
	root, err := openStaticDir("server root", c.ServerRoot)
	if err == nil {
		root.Close()
		return nil
	}
	d := Cfg().cur.Load()
	at, ok := d.nodes[name]
	if !ok {
		return err
	}
	cause := err
	if u := errors.Unwrap(err); u != nil {
		cause = u // the *PathError, which names the directory
	}
	ce := at.errorAt(d.path, "serverRoot", cause.Error())
	ce.Err = err
	return ce
}

// fileConfig returns the configuration of a server as the file sets it.
func fileConfig(name string) (ServerConfig, error) {
	var c ServerConfig
	d := Cfg().cur.Load()
	if d.err != nil {
		return c, d.err
	}
	d.servers[name].apply(&c)
	return c, nil
}

// listenerFields are the settings a running server cannot change in
// place: a change to one of them takes a reload.
var listenerFields = []string{"Addr", "HTTPSAddr", "HTTPSCertFile", "HTTPSKeyFile",
	"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "SendTimeout", "IdleTimeout", "MaxHeaderBytes"}

// applyConfigToServers applies a changed file to every server, keeping the
// settings code made, and asks for a reload if listener settings changed.
func applyConfigToServers() {
	registry.Lock()
	list := slices.Clone(registry.order)
	registry.Unlock()
	var reload []string
	for _, s := range list {
		next, _ := fileConfig(s.name)
		cur := s.Config()
		s.mu.Lock()
		code := s.codeSet
		s.mu.Unlock()
		copyFields(&next, &cur, code)
		// Fields that only code can set.
		next.Logger, next.OnListen = cur.Logger, cur.OnListen
		changed := changedFields(&cur, &next)
		if len(changed) == 0 {
			continue
		}
		if err := s.setConfig(next, false); err != nil {
			if ce := fileRootError(s.name, &next); ce != nil && !code["ServerRoot"] {
				err = ce
			}
			s.Logger().Error("baton: config not applied", "server", s.name, "err", err)
			continue
		}
		s.mu.Lock()
		s.fileErr = nil
		s.mu.Unlock()
		running := s.isRunning()
		for _, f := range changed {
			if slices.Contains(listenerFields, f) && running {
				reload = append(reload, s.name+"."+f)
			}
		}
		s.Logger().Info("baton: config applied", "server", s.name, "changed", strings.Join(changed, ","))
	}
	if len(reload) == 0 {
		return
	}
	sort.Strings(reload)
	l := defaultLogger()
	l.Info("baton: listener settings changed, reloading", "changed", strings.Join(reload, ","))
	go func() {
		if err := self.reload("config"); err != nil {
			l.Error("baton: reload for the new listener settings", "err", err)
		}
	}()
}

// changedFields names the fields of ServerConfig that differ.
func changedFields(a, b *ServerConfig) []string {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	var out []string
	for i := 0; i < va.NumField(); i++ {
		fa, fb := va.Field(i), vb.Field(i)
		same := false
		switch fa.Kind() {
		case reflect.Func:
			// Functions never compare equal: a hook counts as changed only
			// when it is set or cleared.
			same = fa.IsNil() == fb.IsNil()
		case reflect.Map:
			if fa.Type().Elem().Kind() != reflect.Func {
				same = reflect.DeepEqual(fa.Interface(), fb.Interface())
				break
			}
			// A map of functions (template functions) is the same setting
			// when it is the same map.
			same = fa.Pointer() == fb.Pointer() && fa.Len() == fb.Len()
		default:
			same = reflect.DeepEqual(fa.Interface(), fb.Interface())
		}
		if !same {
			out = append(out, va.Type().Field(i).Name)
		}
	}
	return out
}

// copyFields copies the named fields from src to dst.
func copyFields(dst, src *ServerConfig, names map[string]bool) {
	vd, vs := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for name := range names {
		vd.FieldByName(name).Set(vs.FieldByName(name))
	}
}
