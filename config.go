package baton

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvConfig names the configuration file, when set; the -config flag of
// the command line wins over it.
const EnvConfig = "BATON_CONFIG"

// ConfigFiles are the files Cfg looks for, in order, when neither -config
// nor EnvConfig names one.
var ConfigFiles = []string{"config.yaml", "config/config.yaml"}

// Config is a YAML configuration: server sections that baton applies, and
// the application's own values read with Get, the typed getters and Scan.
// Keys are dotted paths: Get("db.dsn") reads dsn below db.
//
// The file Cfg loads is watched: a valid change is swapped in atomically
// and OnChange callbacks run; an invalid one is rejected with a log line
// naming the file, line and key, and the values in force stay.
//
// A Config is safe for concurrent use.
type Config struct {
	cur    atomic.Pointer[configData]
	logger *slog.Logger

	mu       sync.Mutex
	onChange []func(old, new *Config)
	watcher  *fileWatcher
}

// configData is one parsed version of the file.
type configData struct {
	path    string
	root    map[string]any
	node    *yaml.Node // the document, for line numbers
	servers map[string]*serverFile
	nodes   map[string]sectionNode // where each server section is, by server name
	process processFile
	warns   []string
	err     error // why the file was rejected at start; nil once a valid one is in force
}

// processFile is the part of the file the master reads.
type processFile struct {
	Graceful struct {
		Enabled     *bool `yaml:"enabled"`
		WatchBinary bool  `yaml:"watchBinary"`
	} `yaml:"graceful"`
	Dev bool `yaml:"dev"`
}

// ConfigError is an invalid configuration: its message names the file,
// the line and the key.
type ConfigError struct {
	File string // the configuration file
	Line int    // its line, or 0 if unknown
	Key  string // the dotted key at fault, such as "server.drainTimeout", or ""
	Msg  string // what is wrong
	Err  error  // the error behind Msg, such as a directory that cannot be opened, or nil
}

// Error implements error.
func (e *ConfigError) Error() string {
	switch {
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("baton: config %s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("baton: config %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("baton: config %s: %s", e.File, e.Msg)
}

// Unwrap returns Err, so that errors.Is sees through a ConfigError.
func (e *ConfigError) Unwrap() error { return e.Err }

var program struct {
	once sync.Once
	cfg  *Config
}

// Cfg returns the program's configuration, loaded at the first call from
// the file named by the -config flag (-config=path or -config path on the
// command line), else by EnvConfig, else the first of ConfigFiles that
// exists. Without a file it is empty. The file is watched for changes from
// then on. If the file is invalid at start, Cfg is empty and the servers'
// Start returns the error.
func Cfg() *Config {
	program.once.Do(func() {
		path := configPath(os.Args[1:])
		c := &Config{logger: defaultLogger()}
		c.cur.Store(&configData{path: path, root: map[string]any{}})
		program.cfg = c
		if path == "" {
			return
		}
		d, err := parseConfig(path)
		if err != nil {
			c.cur.Store(&configData{path: path, root: map[string]any{}, err: err})
			c.logger.Error("baton: config rejected", "err", err)
		} else {
			c.cur.Store(d)
			d.logWarnings(c.logger)
		}
		if err := c.watch(); err != nil {
			c.logger.Warn("baton: config not watched", "file", path, "err", err)
		}
		c.OnChange(func(_, _ *Config) { applyConfigToServers() })
	})
	return program.cfg
}

// configPath finds the configuration file's path.
func configPath(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, p := range []string{"-config", "--config"} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	for _, f := range ConfigFiles {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// LoadConfig parses the file at path. The result is not watched; see
// Config.Watch.
func LoadConfig(path string) (*Config, error) {
	d, err := parseConfig(path)
	if err != nil {
		return nil, err
	}
	c := &Config{logger: defaultLogger()}
	c.cur.Store(d)
	return c, nil
}

// Path returns the file the configuration was read from, or "".
func (c *Config) Path() string { return c.cur.Load().path }

// Watch follows the file: valid changes are applied, invalid ones logged
// and rejected. Close stops it.
func (c *Config) Watch() error { return c.watch() }

// Close stops watching the file.
func (c *Config) Close() error {
	c.mu.Lock()
	w := c.watcher
	c.watcher = nil
	c.mu.Unlock()
	if w != nil {
		return w.close()
	}
	return nil
}

func (c *Config) watch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watcher != nil {
		return nil
	}
	path := c.Path()
	w, err := newFileWatcher(DefaultQuietPeriod, func([]string) { c.reload() })
	if err != nil {
		return err
	}
	if err := w.add(path); err != nil {
		w.close()
		return err
	}
	c.watcher = w
	return nil
}

// reload reads the file again and swaps it in if it is valid.
func (c *Config) reload() {
	old := c.cur.Load()
	d, err := parseConfig(old.path)
	if err != nil {
		c.logger.Error("baton: config rejected, the running configuration stays", "err", err)
		return
	}
	c.cur.Store(d)
	d.logWarnings(c.logger)
	c.logger.Info("baton: config applied", "file", d.path)
	c.mu.Lock()
	fs := append([]func(old, new *Config){}, c.onChange...)
	c.mu.Unlock()
	oldC, newC := frozen(old), frozen(d)
	for _, f := range fs {
		f(oldC, newC)
	}
}

func frozen(d *configData) *Config {
	c := &Config{}
	c.cur.Store(d)
	return c
}

// OnChange registers f to run after a valid change of the file, with the
// configuration before and after it.
func (c *Config) OnChange(f func(old, new *Config)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, f)
}

func (d *configData) logWarnings(l *slog.Logger) {
	for _, w := range d.warns {
		l.Warn("baton: config", "problem", w)
	}
}

// parseConfig reads and validates the file.
func parseConfig(path string) (*configData, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	d := &configData{path: path, root: map[string]any{}, servers: map[string]*serverFile{}, nodes: map[string]sectionNode{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil // an empty file
		}
		return nil, yamlError(path, err)
	}
	d.node = &doc
	top := &doc
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: path, Line: top.Line, Msg: "the top level must be a mapping"}
	}
	if err := doc.Decode(&d.root); err != nil {
		return nil, yamlError(path, err)
	}
	if d.root == nil {
		d.root = map[string]any{}
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch {
		case k.Value == "server" || strings.HasPrefix(k.Value, "server."):
			name := DefaultServerName
			if k.Value != "server" {
				name = strings.TrimPrefix(k.Value, "server.")
			}
			sf, warns, err := decodeSection[serverFile](path, k.Value, v)
			if err != nil {
				return nil, err
			}
			if err := sf.validate(path, k.Value, v); err != nil {
				return nil, err
			}
			d.servers[name] = sf
			d.nodes[name] = sectionNode{key: k.Value, node: v}
			d.warns = append(d.warns, warns...)
		case k.Value == "graceful" || k.Value == "dev":
			sub := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, v}}
			pf, warns, err := decodeSection[processFile](path, "", sub)
			if err != nil {
				return nil, err
			}
			if k.Value == "graceful" {
				d.process.Graceful = pf.Graceful
			} else {
				d.process.Dev = pf.Dev
			}
			d.warns = append(d.warns, warns...)
		}
	}
	return d, nil
}

func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			line, _ = strconv.Atoi(n)
			msg = strings.TrimSpace(after)
		}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.TrimPrefix(te.Errors[0], "line ")
		if n, after, ok := strings.Cut(msg, ":"); ok {
			line, _ = strconv.Atoi(n)
			msg = strings.TrimSpace(after)
		}
	}
	return &ConfigError{File: path, Line: line, Msg: msg}
}

// decodeSection decodes node into a T, reporting keys T does not know.
func decodeSection[T any](path, prefix string, node *yaml.Node) (*T, []string, error) {
	v := new(T)
	var warns []string
	unknownKeys(path, prefix, node, reflect.TypeOf(v).Elem(), &warns)
	if err := node.Decode(v); err != nil {
		ce := yamlError(path, err).(*ConfigError)
		ce.Key = keyAtLine(prefix, node, ce.Line)
		return nil, nil, ce
	}
	return v, warns, nil
}

// unknownKeys reports mapping keys that no yaml tag of t names.
func unknownKeys(path, prefix string, node *yaml.Node, t reflect.Type, warns *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k := node.Content[i]
		key := joinKey(prefix, k.Value)
		ft, ok := fields[k.Value]
		if !ok {
			*warns = append(*warns, fmt.Sprintf("%s:%d: unknown key %q (ignored)", path, k.Line, key))
			continue
		}
		unknownKeys(path, key, node.Content[i+1], ft, warns)
	}
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// keyAtLine names the key whose value is at line, for error messages.
func keyAtLine(prefix string, node *yaml.Node, line int) string {
	if node.Kind != yaml.MappingNode {
		return prefix
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Line == line || v.Line == line {
			return joinKey(prefix, k.Value)
		}
		if v.Line <= line && line <= lastLine(v) {
			return keyAtLine(joinKey(prefix, k.Value), v, line)
		}
	}
	return prefix
}

func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// lookup finds a dotted key. A key may itself hold dots ("server.api"), so
// each prefix is tried.
func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for i := 0; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		if sub, ok := m[key[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, key[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// Get returns the value at key (a dotted path), or nil.
func (c *Config) Get(key string) any {
	v, _ := lookup(c.cur.Load().root, key)
	return v
}

// Has reports whether key is set.
func (c *Config) Has(key string) bool {
	_, ok := lookup(c.cur.Load().root, key)
	return ok
}

// GetString returns the value at key as a string, or def (or "").
func (c *Config) GetString(key string, def ...string) string {
	v, ok := lookup(c.cur.Load().root, key)
	if !ok || v == nil {
		return first(def)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// GetInt returns the value at key as an int, or def (or 0) if it is
// missing or not an integer.
func (c *Config) GetInt(key string, def ...int) int {
	switch v := c.Get(key).(type) {
	case int:
		return v
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	}
	return first(def)
}

// GetFloat returns the value at key as a float64, or def (or 0).
func (c *Config) GetFloat(key string, def ...float64) float64 {
	switch v := c.Get(key).(type) {
	case int:
		return float64(v)
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
	}
	return first(def)
}

// GetBool returns the value at key as a bool, or def (or false).
func (c *Config) GetBool(key string, def ...bool) bool {
	switch v := c.Get(key).(type) {
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return first(def)
}

// GetDuration returns the value at key ("1m30s") as a duration, or def
// (or 0).
func (c *Config) GetDuration(key string, def ...time.Duration) time.Duration {
	if s, ok := c.Get(key).(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d
		}
	}
	return first(def)
}

// GetStrings returns the list at key as strings, or nil.
func (c *Config) GetStrings(key string) []string {
	switch v := c.Get(key).(type) {
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = fmt.Sprint(x)
		}
		return out
	case string:
		return []string{v}
	}
	return nil
}

func first[T any](def []T) T {
	var z T
	if len(def) > 0 {
		return def[0]
	}
	return z
}

// Scan decodes the value at key (a dotted path; "" for the whole file)
// into v, by yaml tags, and reports a value of the wrong type with its
// line.
func (c *Config) Scan(key string, v any) error {
	d := c.cur.Load()
	if d.node == nil {
		return nil
	}
	n := d.node
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if key != "" {
		n = findNode(n, key)
		if n == nil {
			return nil
		}
	}
	if err := n.Decode(v); err != nil {
		ce := yamlError(d.path, err).(*ConfigError)
		ce.Key = keyAtLine(key, n, ce.Line)
		return ce
	}
	return nil
}

func findNode(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == key {
			return n.Content[i+1]
		}
		if rest, ok := strings.CutPrefix(key, k+"."); ok {
			if found := findNode(n.Content[i+1], rest); found != nil {
				return found
			}
		}
	}
	return nil
}

// serverFile is a server section of the file.
type serverFile struct {
	Address           stringList    `yaml:"address"`
	HTTPSAddress      stringList    `yaml:"httpsAddress"`
	HTTPSCertFile     string        `yaml:"httpsCertFile"`
	HTTPSKeyFile      string        `yaml:"httpsKeyFile"`
	ServerRoot        string        `yaml:"serverRoot"`
	IndexFiles        []string      `yaml:"indexFiles"`
	DirectoryListing  bool          `yaml:"directoryListing"`
	ServeDotFiles     bool          `yaml:"serveDotFiles"`
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	ReadTimeout       time.Duration `yaml:"readTimeout"`
	WriteTimeout      time.Duration `yaml:"writeTimeout"`
	SendTimeout       time.Duration `yaml:"sendTimeout"`
	IdleTimeout       time.Duration `yaml:"idleTimeout"`
	MaxHeaderBytes    int           `yaml:"maxHeaderBytes"`
	MaxBodySize       byteSize      `yaml:"maxBodySize"`
	DrainTimeout      time.Duration `yaml:"drainTimeout"`
	ReadyTimeout      time.Duration `yaml:"readyTimeout"`
	IdleGrace         time.Duration `yaml:"idleGrace"`
	AccessLog         *bool         `yaml:"accessLog"`
	LogLevel          string        `yaml:"logLevel"`
	TrustedProxies    stringList    `yaml:"trustedProxies"`
	ClientIPHeader    string        `yaml:"clientIpHeader"`
	AllowedHosts      stringList    `yaml:"allowedHosts"`
	Admin             struct {
		Token          string   `yaml:"token"`
		AllowLocal     *bool    `yaml:"allowLocal"`
		Allow          []string `yaml:"allow"`
		TrustedProxies []string `yaml:"trustedProxies"` // deprecated: trustedProxies
	} `yaml:"admin"`
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
func (sf *serverFile) validate(path, prefix string, node *yaml.Node) error {
	at := sectionNode{key: prefix, node: node}
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
	return nil
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
	c.DirectoryListing = c.DirectoryListing || sf.DirectoryListing
	c.ServeDotFiles = c.ServeDotFiles || sf.ServeDotFiles
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
}

// sectionNode locates a server section in the file: its key ("server",
// "server.api") and its mapping.
type sectionNode struct {
	key  string
	node *yaml.Node
}

// errorAt is a ConfigError about key of the section, at the key's line.
func (at sectionNode) errorAt(path, key, msg string) *ConfigError {
	line := 0
	if n := findNode(at.node, key); n != nil {
		line = n.Line
	}
	return &ConfigError{File: path, Line: line, Key: at.key + "." + key, Msg: msg}
}

// fileRootError returns why the server root of c, which the file's
// section of server name sets, cannot be opened, as a *ConfigError at the
// line of its key; nil when it opens or when c has none.
func fileRootError(name string, c *ServerConfig) error {
	if c.ServerRoot == "" {
		return nil
	}
	st, err := openStatic(c)
	if err == nil {
		st.close()
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
