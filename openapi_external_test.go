package baton_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// The typed handlers of the document's tests: a pet store.

type docPet struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type docListReq struct {
	g.Meta `path:"/pets" method:"get" tags:"pets" summary:"List pets"`
	Kind   string `json:"kind" v:"in:cat,dog" dc:"only pets of this kind"`
	Limit  int    `json:"limit" d:"10" v:"between:1,50"`
}

type docListRes struct {
	Pets []docPet `json:"pets"`
}

type docCreateReq struct {
	g.Meta `path:"/pets" method:"post" tags:"pets" summary:"Add a pet"`
	Name   string `json:"name" v:"required|length:1,30"`
	Kind   string `json:"kind" v:"required|in:cat,dog"`
}

type docGetReq struct {
	g.Meta `path:"/pets/{id}" method:"get" tags:"pets" summary:"Get a pet" deprecated:"true"`
	ID     int64 `json:"id" v:"min:1"`
}

type docPets struct{}

func (docPets) List(ctx context.Context, req *docListReq) (*docListRes, error) {
	return &docListRes{Pets: []docPet{}}, nil
}

func (docPets) Create(ctx context.Context, req *docCreateReq) (*docPet, error) {
	return &docPet{ID: 1, Name: req.Name, Kind: req.Kind}, nil
}

func (docPets) Get(ctx context.Context, req *docGetReq) (*docPet, error) {
	return &docPet{ID: req.ID}, nil
}

func docServer(t *testing.T) *baton.Server {
	t.Helper()
	s := baton.New()
	s.Group("/v1", func(g *baton.RouterGroup) { g.Bind(docPets{}) })
	s.BindHandler("GET:/plain", func(r *baton.Request) { r.Response.Write("not in the document") })
	s.SetOpenApiInfo(baton.OpenApiInfo{Title: "Pets", Version: "2.0.0"})
	s.SetOpenApiPath("/api.json")
	s.SetSwaggerPath("/swagger")
	return s
}

func get(t *testing.T, s http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// TestOpenApiPath reads the served document back with kin-openapi's
// loader and validates it, then checks what it says of the operations.
func TestOpenApiPath(t *testing.T) {
	s := docServer(t)
	w := get(t, s, "/api.json")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api.json: %d %q\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(w.Body.Bytes())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v\n%s", err, w.Body)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "Pets" || doc.Info.Version != "2.0.0" {
		t.Errorf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"/v1/pets", "/v1/pets/{id}"}) {
		t.Fatalf("paths = %q, want the typed handlers only, with the group's prefix", paths)
	}
	list := doc.Paths.Value("/v1/pets").Get
	if list == nil || list.Summary != "List pets" || !slices.Equal(list.Tags, []string{"pets"}) {
		t.Fatalf("GET /v1/pets = %+v", list)
	}
	kind := list.Parameters.GetByInAndName("query", "kind")
	if kind == nil || !slices.Equal(kind.Schema.Value.Enum, []any{"cat", "dog"}) || kind.Description != "only pets of this kind" {
		t.Errorf("kind parameter = %+v", kind)
	}
	if l := list.Parameters.GetByInAndName("query", "limit"); l == nil || *l.Schema.Value.Max != 50 || l.Schema.Value.Default != float64(10) {
		t.Errorf("limit parameter = %+v", l)
	}
	create := doc.Paths.Value("/v1/pets").Post
	body := create.RequestBody.Value.Content.Get("application/json").Schema.Value
	if !slices.Equal(body.Required, []string{"name", "kind"}) || *body.Properties["name"].Value.MaxLength != 30 {
		t.Errorf("POST /v1/pets body: required %q, name %+v", body.Required, body.Properties["name"].Value)
	}
	getOp := doc.Paths.Value("/v1/pets/{id}").Get
	if id := getOp.Parameters.GetByInAndName("path", "id"); id == nil || !id.Required || !getOp.Deprecated {
		t.Errorf("GET /v1/pets/{id}: id %+v, deprecated %v", id, getOp.Deprecated)
	}
	data := getOp.Responses.Status(200).Value.Content.Get("application/json").Schema.Value.Properties["data"]
	if data == nil || !strings.HasSuffix(data.Ref, "/docPet") {
		t.Errorf("GET /v1/pets/{id} data = %+v, want the pet", data)
	}
}

func TestSwaggerPath(t *testing.T) {
	s := docServer(t)
	tests := []struct {
		name, path, typ, want string
		encoding              string
	}{
		{"page", "/swagger", "text/html; charset=utf-8", `data-url="/api.json"`, ""},
		{"page slash", "/swagger/", "text/html; charset=utf-8", "<title>Pets</title>", ""},
		{"script", "/swagger/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "", "gzip"},
		{"style", "/swagger/swagger-ui.css", "text/css; charset=utf-8", "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, s, tt.path, "Accept-Encoding", "gzip")
			if w.Code != 200 || w.Header().Get("Content-Type") != tt.typ || w.Header().Get("Content-Encoding") != tt.encoding {
				t.Fatalf("GET %s: %d %q %q, want 200 %q %q", tt.path, w.Code, w.Header().Get("Content-Type"),
					w.Header().Get("Content-Encoding"), tt.typ, tt.encoding)
			}
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("GET %s: body lacks %q", tt.path, tt.want)
			}
		})
	}
	if w := get(t, s, "/swagger/nothing.js"); w.Code != 404 {
		t.Errorf("GET /swagger/nothing.js: %d, want 404", w.Code)
	}
}

func TestOpenApiRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(s *baton.Server)
		want string
	}{
		{"swagger first", func(s *baton.Server) { s.SetSwaggerPath("/swagger") }, "before SetOpenApiPath"},
		{"twice", func(s *baton.Server) { s.SetOpenApiPath("/api.json"); s.SetOpenApiPath("/api.json") }, "/api.json"},
		{"over a route", func(s *baton.Server) {
			s.BindHandler("GET:/docs", func(r *baton.Request) {})
			s.SetOpenApiPath("/x.json")
			s.SetSwaggerPath("/docs")
		}, "/docs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Fatal("no panic")
				}
				if msg := panicText(p); !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want it to contain %q", msg, tt.want)
				}
			}()
			tt.f(baton.New())
		})
	}
}

func panicText(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return ""
}

// TestOpenApiDocumentFollowsBinds: a handler bound after the first
// request of the document is in the next one.
func TestOpenApiDocumentFollowsBinds(t *testing.T) {
	s := baton.New()
	s.SetOpenApiPath("/api.json")
	if w := get(t, s, "/api.json"); w.Code != 200 || strings.Contains(w.Body.String(), "/pets") {
		t.Fatalf("GET /api.json with no handler: %d\n%s", w.Code, w.Body)
	}
	s.Group("/", func(g *baton.RouterGroup) { g.Bind(docPets{}) })
	if w := get(t, s, "/api.json"); !strings.Contains(w.Body.String(), `"/pets/{id}"`) {
		t.Errorf("GET /api.json after Bind lacks /pets/{id}:\n%s", w.Body)
	}
}
