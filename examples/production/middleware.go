package main

import "github.com/baton-go/baton"

// useMiddleware adds the middleware shipped with baton.
func useMiddleware(s *baton.Server) {}
