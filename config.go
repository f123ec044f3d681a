package baton

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton/internal/watch"
	"gopkg.in/yaml.v3"
)

// DefaultQuietPeriod is how long a watched file must stay unchanged after
// an event before it is read: editors and deploy tools write in bursts.
const DefaultQuietPeriod = 100 * time.Millisecond

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
	watcher  *watch.Files
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
		return w.Close()
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
	w, err := watch.NewFiles(DefaultQuietPeriod, func([]string) { c.reload() })
	if err != nil {
		return err
	}
	if err := w.Add(path); err != nil {
		w.Close()
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
			sf, at, warns, err := decodeServerSection(path, k.Value, v)
			if err != nil {
				return nil, err
			}
			d.servers[name] = sf
			d.nodes[name] = at
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
