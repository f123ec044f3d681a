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
