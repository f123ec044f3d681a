// Package g is the short facade of baton: g.Server() for the server of a
// name, g.Wait() to block until every server has stopped.
package g

import "github.com/baton-go/baton"

// Server returns the server with the given name, creating it on first use;
// no name means "default". The same name always yields the same server. It
// is safe for concurrent use. See baton.GetServer.
func Server(name ...string) *baton.Server { return baton.GetServer(name...) }

// Wait blocks until every started server has shut down. See baton.Wait.
func Wait() { baton.Wait() }

// Cfg returns the program's configuration: g.Cfg().Get("db.dsn"). See
// baton.Cfg.
func Cfg() *baton.Config { return baton.Cfg() }

// Meta marks a request struct of a typed handler and carries its route in
// its tags: g.Meta `path:"/user" method:"post"`. See baton.Meta.
type Meta = baton.Meta

// Map is a map of string keys to any values, as g.Map is in GoFrame: for
// JSON responses (r.Response.WriteJson(g.Map{...})) and SetConfigWithMap.
type Map = map[string]any

// MapStrAny is Map under its other GoFrame name.
type MapStrAny = map[string]any

// MapStrStr is a map of strings to strings.
type MapStrStr = map[string]string

// Slice is a slice of any values, as g.Slice is in GoFrame.
type Slice = []any

// SliceStr is a slice of strings.
type SliceStr = []string

// SliceInt is a slice of ints.
type SliceInt = []int
