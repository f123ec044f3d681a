package baton

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// GoFrame's keys in a server section: the ones baton has under another
// name are renamed to it before the section is decoded, so a config.yaml
// written for GoFrame's ghttp keeps working; the ones baton has no
// setting for are reported, each with the reason, and ignored.

// gfKey is one key of GoFrame's ServerConfig.
type gfKey struct {
	name string                 // GoFrame's key
	to   string                 // baton's key, dotted into a sub-section; "" when baton has none
	conv func(*yaml.Node) error // turns GoFrame's value into baton's; nil when it is the same
	why  string                 // when to is "": why baton has no such setting
}

// gfKeys are GoFrame's keys that differ from baton's. GoFrame's keys that
// baton spells the same way and reads the same way (address, serverRoot,
// indexFiles, searchPaths, staticPaths, rewrites, readTimeout,
// writeTimeout, idleTimeout, maxHeaderBytes, errorStack) are not here.
var gfKeys = []gfKey{
	{name: "httpsAddr", to: "httpsAddress"},
	{name: "httpsCertPath", to: "httpsCertFile"},
	{name: "httpsKeyPath", to: "httpsKeyFile"},
	{name: "clientMaxBodySize", to: "maxBodySize", conv: gfSize},
	{name: "indexFolder", to: "directoryListing"},
	{name: "accessLogEnabled", to: "accessLog"},
	{name: "logLevel", to: "logLevel", conv: gfLevel},
	{name: "gracefulShutdownTimeout", to: "drainTimeout", conv: gfSeconds},
	{name: "cookieMaxAge", to: "cookie.maxAge"},
	{name: "cookiePath", to: "cookie.path"},
	{name: "cookieDomain", to: "cookie.domain"},
	{name: "cookieSameSite", to: "cookie.sameSite"},
	{name: "cookieSecure", to: "cookie.secure"},
	{name: "cookieHttpOnly", to: "cookie.httpOnly"},
	{name: "sessionIdName", to: "session.cookieName"},
	{name: "sessionMaxAge", to: "session.ttl"},
	{name: "sessionPath", to: "session.dir"},

	{name: "name", why: "a server's name is its section: server.<name>"},
	{name: "endpoints", why: "set the addresses with address and httpsAddress"},
	{name: "listeners", why: "the master process owns the listening sockets"},
	{name: "tlsConfig", why: "set it in code, with SetConfig"},
	{name: "keepAlive", why: "connections are kept alive; idleTimeout bounds them"},
	{name: "serverAgent", why: "baton sends no Server header"},
	{name: "view", why: "set viewPath and the view functions in code"},
	{name: "fileServerEnabled", why: "static files are served whenever serverRoot, searchPaths or staticPaths are set"},
	{name: "sessionStorage", why: "set SessionConfig.Store in code"},
	{name: "sessionCookieMaxAge", why: "the session cookie lasts as long as the session: session.ttl (sessionMaxAge)"},
	{name: "sessionCookieOutput", why: "the session cookie is always sent, HttpOnly"},
	{name: "logger", why: "set a *slog.Logger in code, with SetLogger"},
	{name: "logPath", why: "baton logs through log/slog to standard error; set a logger in code to write elsewhere"},
	{name: "logStdout", why: "baton logs through log/slog to standard error; set a logger in code to write elsewhere"},
	{name: "errorLogEnabled", why: "errors are always logged; set logLevel to choose how much"},
	{name: "errorLogPattern", why: "baton logs through log/slog to standard error; set a logger in code to write elsewhere"},
	{name: "accessLogPattern", why: "baton logs through log/slog to standard error; set a logger in code to write elsewhere"},
	{name: "pprofEnabled", why: "not a setting of the file: call EnablePProf in code"},
	{name: "pprofPattern", why: "not a setting of the file: call EnablePProf in code"},
	{name: "openapiPath", why: "not a setting of the file: call SetOpenApiPath in code"},
	{name: "swaggerPath", why: "not a setting of the file: call SetSwaggerPath in code"},
	{name: "swaggerUITemplate", why: "the documentation page is built in"},
	{name: "graceful", why: "reloads are always graceful; the top-level graceful section configures them"},
	{name: "gracefulTimeout", why: "an old worker drains until its connections end, up to drainTimeout"},
	{name: "formParsingMemory", why: "multipart bodies are bounded by maxBodySize"},
	{name: "nameToUriType", why: "BindObject maps method names as GoFrame does by default (ShowItem is /show-item)"},
	{name: "routeOverWrite", why: "a second registration of a route panics, naming both"},
	{name: "dumpRouterMap", why: "the admin page lists the routes"},
}

// gfAliases renames the GoFrame keys of a server section mapping node, in
// place, converting their values; the section's key is prefix. GoFrame
// reads its keys in any case, so they are matched that way. It returns a
// warning for each key baton has no setting for, which it removes, and the
// keys it renamed (baton's dotted key to the key as written), so that an
// error can name the key the file has; an error when a key is given twice,
// under both names, or a value cannot be converted.
func gfAliases(path, prefix string, n *yaml.Node) (warns []string, renamed map[string]string, err error) {
	if n.Kind != yaml.MappingNode {
		return nil, nil, nil
	}
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		g := findGFKey(k.Value)
		if g == nil || (g.to == k.Value && g.conv == nil) {
			kept = append(kept, k, v)
			continue
		}
		if g.to == "" {
			warns = append(warns, fmt.Sprintf("%s:%d: GoFrame key %q is not supported (ignored): %s", path, k.Line, joinKey(prefix, k.Value), g.why))
			continue
		}
		written := k.Value
		if g.conv != nil {
			if err := g.conv(v); err != nil {
				return nil, nil, &ConfigError{File: path, Line: v.Line, Key: joinKey(prefix, written), Msg: err.Error()}
			}
		}
		if renamed == nil {
			renamed = map[string]string{}
		}
		renamed[g.to] = written
		parent, leaf := n, g.to
		if sec, rest, ok := strings.Cut(g.to, "."); ok {
			parent, leaf = subMapping(n, sec), rest
		}
		if parent == n {
			kept = append(kept, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: leaf, Line: k.Line, Column: k.Column}, v)
			continue
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: leaf, Line: k.Line, Column: k.Column}, v)
	}
	n.Content = kept
	if err := duplicateKeys(path, prefix, "", n, renamed); err != nil {
		return nil, nil, err
	}
	return warns, renamed, nil
}

// findGFKey returns GoFrame's key of that name in any case, or nil.
func findGFKey(name string) *gfKey {
	for i := range gfKeys {
		if strings.EqualFold(gfKeys[i].name, name) {
			return &gfKeys[i]
		}
	}
	return nil
}

// subMapping returns the mapping under key sec of n, adding it when n has
// none; a key sec that holds something else is left for the decoder to
// reject.
func subMapping(n *yaml.Node, sec string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == sec && n.Content[i+1].Kind == yaml.MappingNode {
			return n.Content[i+1]
		}
	}
	// Without a line, error messages look inside it for the key at fault.
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: sec}, m)
	return m
}

// duplicateKeys rejects a mapping, or a sub-mapping, that holds a key
// twice: after the renaming, that is a setting given under both its
// GoFrame and its baton name. prefix is the section's key, rel the
// mapping's key inside the section ("" for the section itself).
func duplicateKeys(path, prefix, rel string, n *yaml.Node, renamed map[string]string) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := joinKey(rel, k.Value)
		if seen[k.Value] {
			msg := "set twice"
			if w, ok := renamed[key]; ok {
				msg = fmt.Sprintf("set twice, as %s and as GoFrame's %s: keep one", key, w)
			}
			return &ConfigError{File: path, Line: k.Line, Key: joinKey(prefix, key), Msg: msg}
		}
		seen[k.Value] = true
		if v.Kind == yaml.MappingNode && rel == "" && (k.Value == "cookie" || k.Value == "session") {
			if err := duplicateKeys(path, prefix, key, v, renamed); err != nil {
				return err
			}
		}
	}
	return nil
}

// gfSize reads a size as GoFrame does: a number with an optional unit, in
// any case, where K, KB, KiB are all 1024 bytes and M, MB, MiB 1024*1024
// (so "8MB" is 8 MiB, as it is in GoFrame). It rewrites the value in bytes.
func gfSize(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	i := 0
	for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
		i++
	}
	num, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%q is not a size (like 8MB)", n.Value)
	}
	mult := float64(1)
	switch strings.ToLower(strings.TrimSpace(s[i:])) {
	case "", "b", "bytes":
	case "k", "kb", "ki", "kib":
		mult = 1 << 10
	case "m", "mb", "mi", "mib":
		mult = 1 << 20
	case "g", "gb", "gi", "gib":
		mult = 1 << 30
	default:
		return fmt.Errorf("%q is not a size (like 8MB)", n.Value)
	}
	n.Value, n.Tag, n.Style = strconv.FormatInt(int64(num*mult), 10), "!!int", 0
	return nil
}

// gfSeconds reads a whole number of seconds, as GoFrame's graceful
// timeouts are written, and rewrites it as a duration.
func gfSeconds(n *yaml.Node) error {
	secs, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if err != nil || secs < 0 {
		return fmt.Errorf("%q is not a number of seconds", n.Value)
	}
	n.Value, n.Tag, n.Style = strconv.Itoa(secs)+"s", "!!str", 0
	return nil
}

// gfLevel reads GoFrame's level names beside slog's: "all" and "dev" log
// everything (debug), "prod" warnings and errors. A level GoFrame writes
// in capitals ("INFO") is slog's.
func gfLevel(n *yaml.Node) error {
	switch strings.ToLower(strings.TrimSpace(n.Value)) {
	case "all", "dev":
		n.Value = "debug"
	case "prod":
		n.Value = "warn"
	}
	return nil
}
