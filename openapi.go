package baton

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/baton-go/baton/internal/openapi"
	"github.com/baton-go/baton/internal/swaggerui"
)

// OpenApiInfo is the title, version and description of a server's OpenAPI
// document. If Title is empty "API" is used; if Version is empty "0.0.0".
type OpenApiInfo struct {
	Title, Version, Description string
}

// apiDoc is the state of the document and its page.
type apiDoc struct {
	mu      sync.Mutex
	info    OpenApiInfo
	path    string // SetOpenApiPath; "" when not served
	swagger string // SetSwaggerPath
	json    []byte // the document last built, for nOps operations
	nOps    int
}

// SetOpenApiPath serves, at GET path ("/api.json"), the server's OpenAPI
// 3.1 document in JSON: every typed handler bound with Bind or BindHandler,
// its parameters, request body and response (in the result envelope) from
// its request and response structs, with the bounds, enums and patterns of
// their v rules. The document is built at its first request and again
// when handlers have been bound since. Serving the path twice panics, as
// any route registered twice does.
func (s *Server) SetOpenApiPath(path string) {
	path = "/" + strings.Trim(path, "/")
	if err := s.router.register(s.router.root, "GET:"+path, s.serveOpenApi, callSite()); err != nil {
		panic(err)
	}
	s.apiDoc.mu.Lock()
	s.apiDoc.path = path
	s.apiDoc.mu.Unlock()
}

// SetOpenApiInfo sets the title, version and description of the document
// SetOpenApiPath serves.
func (s *Server) SetOpenApiInfo(info OpenApiInfo) {
	s.apiDoc.mu.Lock()
	defer s.apiDoc.mu.Unlock()
	s.apiDoc.info = info
	s.apiDoc.json = nil
}

// SetSwaggerPath serves, at GET path ("/swagger"), a documentation page
// that renders the document of SetOpenApiPath with Swagger UI, which lists
// the operations and lets one try them. Its files are embedded in the
// binary (about 480 KB, gzipped): the page loads nothing from elsewhere
// and works offline. SetOpenApiPath must be called first; SetSwaggerPath
// panics otherwise.
func (s *Server) SetSwaggerPath(path string) {
	path = "/" + strings.Trim(path, "/")
	s.apiDoc.mu.Lock()
	spec, title := s.apiDoc.path, s.apiDoc.info.Title
	s.apiDoc.swagger = path
	s.apiDoc.mu.Unlock()
	if spec == "" {
		panic(fmt.Sprintf("baton: SetSwaggerPath(%q) before SetOpenApiPath: the page has no document to show", path))
	}
	if title == "" {
		title = "API documentation"
	}
	h := swaggerui.New(path, spec, title)
	site := callSite()
	for _, p := range []string{"GET:" + path, "GET:" + strings.TrimSuffix(path, "/") + "/*file"} {
		if err := s.router.register(s.router.root, p, stdHandler(h), site); err != nil {
			panic(err)
		}
	}
}

// OpenApi returns the server's OpenAPI 3.1 document in JSON, as
// SetOpenApiPath serves it.
func (s *Server) OpenApi() ([]byte, error) {
	ops := s.operations()
	d := &s.apiDoc
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.json != nil && d.nOps == len(ops) {
		return d.json, nil
	}
	doc, err := openapi.Build(openapi.Info(d.info), ops)
	if err != nil {
		return nil, fmt.Errorf("baton: the OpenAPI document: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("baton: the OpenAPI document: %w", err)
	}
	d.json, d.nOps = b, len(ops)
	return b, nil
}

func (s *Server) serveOpenApi(r *Request) {
	b, err := s.OpenApi()
	if err != nil {
		s.Logger().Error("baton: openapi", "err", err)
		r.Response.WriteStatus(http.StatusInternalServerError, "the OpenAPI document could not be built; see the error log\n")
		return
	}
	h := r.Response.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	r.Response.Write(b)
}
