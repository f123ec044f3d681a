package baton

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/kubetest"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as editors save
		t.Fatal(err)
	}
}

const sampleConfig = `# application values and two servers
app:
  greeting: hello
  retries: 3
  ratio: 0.5
  debug: true
  timeout: 1m30s
  tags: [a, b]
db:
  dsn: postgres://localhost/app
server:
  address: ":8199"
  maxBodySize: 1MiB
  drainTimeout: 10s
  sendTimeout: 2m
  logLevel: warn
  trustedProxies: 127.0.0.1, 10.9.0.0/16
  clientIpHeader: X-Real-IP
  allowedHosts: [app.example]
  admin:
    allowLocal: true
    allow: [10.0.0.0/8]
server.api:
  address: ["127.0.0.1:9000", "127.0.0.1:9001"]
  accessLog: false
  sendTimeout: -1s
graceful:
  watchBinary: true
`

func TestConfigValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, sampleConfig)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.GetString("app.greeting"); got != "hello" {
		t.Errorf("GetString(app.greeting) = %q", got)
	}
	if got := c.GetInt("app.retries"); got != 3 {
		t.Errorf("GetInt(app.retries) = %d", got)
	}
	if got := c.GetFloat("app.ratio"); got != 0.5 {
		t.Errorf("GetFloat = %v", got)
	}
	if !c.GetBool("app.debug") || c.GetBool("app.missing") || !c.GetBool("app.missing", true) {
		t.Error("GetBool")
	}
	if got := c.GetDuration("app.timeout"); got != 90*time.Second {
		t.Errorf("GetDuration = %v", got)
	}
	if got := c.GetStrings("app.tags"); len(got) != 2 || got[1] != "b" {
		t.Errorf("GetStrings = %q", got)
	}
	if got := c.GetString("server.api.accessLog"); got != "false" {
		t.Errorf("a key holding a dot: %q", got)
	}
	if c.Has("nope") || c.GetString("nope", "def") != "def" || c.GetInt("app.greeting", 7) != 7 {
		t.Error("defaults")
	}
	var db struct {
		DSN string `yaml:"dsn"`
	}
	if err := c.Scan("db", &db); err != nil || db.DSN != "postgres://localhost/app" {
		t.Errorf("Scan(db) = %+v, %v", db, err)
	}
	var wrong struct {
		Retries []int `yaml:"retries"`
	}
	err = c.Scan("app", &wrong)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 4 || ce.Key != "app.retries" {
		t.Errorf("Scan into the wrong type = %v, want line 4 key app.retries", err)
	}

	d := c.cur.Load()
	var def, api ServerConfig
	d.servers["default"].apply(&def)
	d.servers["api"].apply(&api)
	if def.Addr[0] != ":8199" || def.MaxBodySize != 1<<20 || def.DrainTimeout != 10*time.Second || def.LogLevel != "warn" || def.Admin.Allow[0] != "10.0.0.0/8" ||
		!def.Admin.AllowLocal || len(def.TrustedProxies) != 2 || def.TrustedProxies[1] != "10.9.0.0/16" || def.ClientIPHeader != "X-Real-IP" || def.AllowedHosts[0] != "app.example" {
		t.Errorf("default server from the file = %+v", def)
	}
	if len(api.Addr) != 2 || !api.AccessLogDisabled {
		t.Errorf("api server from the file = %+v", api)
	}
	// A negative send timeout turns it off, as a negative read timeout does.
	if def.SendTimeout != 2*time.Minute || api.SendTimeout != -time.Second {
		t.Errorf("sendTimeout from the file: default %v, api %v; want 2m0s, -1s", def.SendTimeout, api.SendTimeout)
	}
	if !d.process.Graceful.WatchBinary {
		t.Error("graceful.watchBinary not read")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		key  string
		msg  string
	}{
		// yaml.v3 places an unclosed flow sequence on the line of its key.
		{"bad yaml", "app:\n  a: [1, 2\n", 1, "", "did not find expected"},
		{"tab indent", "app:\n\ta: 1\n", 2, "", "cannot start any token"},
		{"wrong type", "server:\n  maxHeaderBytes: lots\n", 2, "server.maxHeaderBytes", "cannot unmarshal"},
		{"bad duration", "server:\n  drainTimeout: soon\n", 2, "server.drainTimeout", ""},
		{"bad size", "server:\n  maxBodySize: huge\n", 2, "server.maxBodySize", "not a size"},
		{"bad port", "server:\n  address: \":99999\"\n", 2, "server.address", "0 to 65535"},
		{"no port", "server.api:\n  address: localhost\n", 2, "server.api.address", "not host:port"},
		{"bad level", "server:\n  logLevel: loud\n", 2, "server.logLevel", "not debug"},
		{"bad network", "server:\n  admin:\n    allow: [nowhere]\n", 3, "server.admin.allow", "not a network"},
		{"bad proxy", "server:\n  trustedProxies: [10.0.0.0/33]\n", 2, "server.trustedProxies", "not a network"},
		{"bad client header", "server:\n  clientIpHeader: X-Client\n", 2, "server.clientIpHeader", "not X-Forwarded-For"},
		{"negative", "server:\n  idleGrace: -1s\n", 2, "server.idleGrace", "negative"},
		{"lonely cert", "server:\n  httpsCertFile: c.pem\n", 2, "server.httpsCertFile", "go together"},
		{"not a mapping", "- a\n- b\n", 1, "", "mapping"},
		{"canary share", "graceful:\n  canary:\n    share: 1.5\n", 2, "graceful.canary", "share 1.5 is not between 0 and 1"},
		{"canary error rate", "graceful:\n  canary:\n    maxErrorRate: 5\n", 2, "graceful.canary", "maxErrorRate"},
		{"canary window", "graceful:\n  canary:\n    window: soon\n", 3, "graceful.canary", "into time.Duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, path, tt.text)
			_, err := LoadConfig(path)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig(%q) = %v, want a *ConfigError", tt.text, err)
			}
			if ce.File != path || ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("error = %+v (%v), want line %d key %q msg ~%q", ce, err, tt.line, tt.key, tt.msg)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("%v does not name the file", err)
			}
		})
	}
}

func TestConfigUnknownKeysReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, "server:\n  address: \":1\"\n  adress: \":2\"\n  admin:\n    tokn: x\ngraceful:\n  watchbinary: true\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	warns := strings.Join(c.cur.Load().warns, "\n")
	for _, want := range []string{`:3: unknown key "server.adress"`, `:5: unknown key "server.admin.tokn"`, `:7: unknown key "graceful.watchbinary"`} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings %q lack %q", warns, want)
		}
	}
}

// FuzzParseConfig checks that no file makes the parser panic and that
// every rejection is a *ConfigError.
func FuzzParseConfig(f *testing.F) {
	f.Add(sampleConfig)
	f.Add("server:\n  address: [\n")
	f.Add("server.x:\n  admin: {allow: [1.2.3.4/33]}\n")
	f.Add("a: &x {b: *x}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Skip()
		}
		d, err := parseConfig(path)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("parseConfig error %T %v is not a *ConfigError", err, err)
			}
			return
		}
		for _, sf := range d.servers {
			var c ServerConfig
			sf.apply(&c)
		}
	})
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "app:\n  greeting: one\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	c.logger = slog.New(slog.NewTextHandler(&logs, nil))
	type change struct{ old, new string }
	changes := make(chan change, 10)
	c.OnChange(func(old, new *Config) {
		changes <- change{old.GetString("app.greeting"), new.GetString("app.greeting")}
	})
	if err := c.Watch(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	next := func(want change) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Errorf("OnChange(%q, %q), want (%q, %q)", got.old, got.new, want.old, want.new)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no OnChange for %v", want)
		}
	}
	writeFile(t, path, "app:\n  greeting: two\n")
	next(change{"one", "two"})
	if got := c.GetString("app.greeting"); got != "two" {
		t.Errorf("after the change Get = %q", got)
	}

	// Garbage is rejected: logged with file and line, old values stay.
	writeFile(t, path, "app:\n  greeting: [three\n")
	waitUntil(t, "the rejection in the log", func() bool { return strings.Contains(logs.String(), "config rejected") })
	if !strings.Contains(logs.String(), path+":1") {
		t.Errorf("rejection does not name file and line: %s", logs.String())
	}
	if got := c.GetString("app.greeting"); got != "two" {
		t.Errorf("after garbage Get = %q, want the old value", got)
	}
	// Fixing the file applies it.
	writeFile(t, path, "app:\n  greeting: four\n")
	next(change{"two", "four"})

	// A Kubernetes ConfigMap swaps a symlinked directory.
	kdir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		os.MkdirAll(filepath.Join(kdir, v), 0o755)
		os.WriteFile(filepath.Join(kdir, v, "config.yaml"), []byte("app:\n  greeting: k8s-"+v+"\n"), 0o644)
	}
	os.Symlink("v1", filepath.Join(kdir, "..data"))
	os.Symlink(filepath.Join("..data", "config.yaml"), filepath.Join(kdir, "config.yaml"))
	kc, err := LoadConfig(filepath.Join(kdir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kc.logger = c.logger
	kchanges := make(chan string, 4)
	kc.OnChange(func(_, new *Config) { kchanges <- new.GetString("app.greeting") })
	if err := kc.Watch(); err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	os.Symlink("v2", filepath.Join(kdir, "..data_tmp"))
	os.Rename(filepath.Join(kdir, "..data_tmp"), filepath.Join(kdir, "..data"))
	select {
	case got := <-kchanges:
		if got != "k8s-v2" {
			t.Errorf("after the symlink swap greeting = %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the symlink swap was not seen")
	}
}

func TestConfigFilePrecedence(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-config", "a.yaml"}, "b.yaml", "a.yaml"},
		{[]string{"-x", "--config=c.yaml"}, "", "c.yaml"},
		{[]string{"--", "-config=d.yaml"}, "e.yaml", "e.yaml"},
		{nil, "f.yaml", "f.yaml"},
	} {
		t.Setenv(EnvConfig, tt.env)
		if got := configPath(tt.args); got != tt.want {
			t.Errorf("configPath(%q) with %s=%q = %q, want %q", tt.args, EnvConfig, tt.env, got, tt.want)
		}
	}
}

func TestCodeOverridesFile(t *testing.T) {
	s := newServer("")
	file := ServerConfig{Addr: []string{":1"}, MaxBodySize: 10, LogLevel: "warn"}
	s.setConfig(file, false)
	s.SetPort(2) // code
	next := ServerConfig{Addr: []string{":3"}, MaxBodySize: 20}
	cur := s.Config()
	copyFields(&next, &cur, s.codeSet)
	if next.Addr[0] != ":2" || next.MaxBodySize != 20 {
		t.Errorf("after a file change: %+v, want the code's address and the file's body size", next)
	}
	if got := changedFields(&cur, &next); strings.Join(got, ",") != "MaxBodySize,LogLevel" {
		t.Errorf("changedFields = %v", got)
	}
}

func TestConfigEmptyFile(t *testing.T) {
	for _, text := range []string{"", "\n", "# only a comment\n"} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		writeFile(t, path, text)
		c, err := LoadConfig(path)
		if err != nil {
			t.Errorf("LoadConfig(%q) = %v, want an empty configuration", text, err)
			continue
		}
		if c.Has("server") {
			t.Errorf("LoadConfig(%q) has values", text)
		}
	}
}

func TestConfigServeDotFiles(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		want       bool
	}{
		{"absent", "server:\n  serverRoot: www\n", false},
		{"off", "server:\n  serverRoot: www\n  serveDotFiles: false\n", false},
		{"on", "server:\n  serverRoot: www\n  serveDotFiles: true\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, path, tt.text)
			c, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			d := c.cur.Load()
			if len(d.warns) != 0 {
				t.Errorf("warnings %q, want none", d.warns)
			}
			var sc ServerConfig
			d.servers["default"].apply(&sc)
			if sc.ServeDotFiles != tt.want || sc.ServerRoot != "www" {
				t.Errorf("%q: ServeDotFiles = %v, ServerRoot = %q; want %v, \"www\"", tt.text, sc.ServeDotFiles, sc.ServerRoot, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, "server:\n  serveDotFile: true\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if warns := strings.Join(c.cur.Load().warns, "\n"); !strings.Contains(warns, `unknown key "server.serveDotFile"`) {
		t.Errorf("warnings %q, want one for server.serveDotFile", warns)
	}
}

// useConfigFile makes text the program's configuration file for the test.
func useConfigFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, text)
	d, err := parseConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	old := Cfg().cur.Swap(d)
	t.Cleanup(func() { Cfg().cur.Store(old) })
	return path
}

// A server root of the file that cannot be opened is reported by Start
// with its file, line and key; the rest of the section applies, and a
// root set by code replaces the bad one.
func TestConfigServerRootUnopenable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	path := useConfigFile(t, "server.rootbad:\n"+
		"  address: 127.0.0.1:0\n"+
		"  readTimeout: 7s\n"+
		"  drainTimeout: 9s\n"+
		"  serverRoot: "+missing+"\n")
	s := newServer("rootbad")
	c := s.Config()
	if len(c.Addr) != 1 || c.Addr[0] != "127.0.0.1:0" || c.ReadTimeout != 7*time.Second || c.DrainTimeout != 9*time.Second {
		t.Errorf("config = Addr %q, ReadTimeout %v, DrainTimeout %v; want the file's 127.0.0.1:0, 7s, 9s",
			c.Addr, c.ReadTimeout, c.DrainTimeout)
	}
	err := s.Start()
	if err == nil {
		s.Shutdown()
		t.Fatal("Start succeeded with a server root that cannot be opened")
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.File != path || ce.Line != 5 || ce.Key != "server.rootbad.serverRoot" {
		t.Fatalf("Start = %v, want a *ConfigError at %s:5, key server.rootbad.serverRoot", err, path)
	}
	if msg := err.Error(); !strings.Contains(msg, path+":5: server.rootbad.serverRoot") || !strings.Contains(msg, missing) {
		t.Errorf("Start = %q, want it to name %s:5, the key and the directory", msg, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start = %v, want it to wrap os.ErrNotExist", err)
	}

	s.SetServerRoot(t.TempDir())
	if err := s.Start(); err != nil {
		t.Fatalf("Start with a server root set by code = %v, want nil", err)
	}
	defer s.Shutdown()
	if got := s.Config(); got.ReadTimeout != 7*time.Second || got.Addr[0] != "127.0.0.1:0" {
		t.Errorf("running config = Addr %q, ReadTimeout %v; want the file's", got.Addr, got.ReadTimeout)
	}
}

// TestConfigKubernetesMount applies updates of a ConfigMap-mounted file,
// made as the kubelet makes them, and rejects a broken one.
func TestConfigKubernetesMount(t *testing.T) {
	m := kubetest.New(t, t.TempDir(), map[string]string{"config.yaml": "app:\n  greeting: one\n"})
	c, err := LoadConfig(m.Path("config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logs := new(bytes.Buffer)
	var mu sync.Mutex
	c.logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, nil))
	changes := make(chan string, 4)
	c.OnChange(func(_, new *Config) { changes <- new.GetString("app.greeting") })
	if err := c.Watch(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, v := range []string{"two", "three"} {
		m.Update(map[string]string{"config.yaml": "app:\n  greeting: " + v + "\n"})
		select {
		case got := <-changes:
			if got != v {
				t.Fatalf("after the swap greeting = %q, want %q", got, v)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the swap to %q was not applied", v)
		}
	}
	m.Update(map[string]string{"config.yaml": "app:\n  greeting: [broken\n"})
	waitUntil(t, "the rejection in the log", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "config rejected")
	})
	if got := c.GetString("app.greeting"); got != "three" {
		t.Errorf("after a broken swap greeting = %q, want the old \"three\"", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
