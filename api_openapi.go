package baton

import "github.com/baton-go/baton/internal/openapi"

// operations returns the typed handlers bound so far, in the order of
// their registration, for the OpenAPI document.
func (s *Server) operations() []openapi.Operation {
	s.router.mu.Lock()
	defer s.router.mu.Unlock()
	out := make([]openapi.Operation, len(s.router.api))
	for i, op := range s.router.api {
		out[i] = openapi.Operation{
			Method: op.method, Path: op.path,
			Tags: op.meta.tags, Summary: op.meta.summary, Description: op.meta.description,
			Deprecated: op.meta.deprecated,
			Request:    op.req, Response: op.res,
		}
	}
	return out
}
