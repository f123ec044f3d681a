package baton

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/baton-go/baton/internal/openapi"
)

type opItemReq struct {
	Meta `path:"/item/{id}" method:"get,put" tags:"item, store" summary:"An item" dc:"The item of an id" deprecated:"true"`
	ID   int `json:"id"`
}

type opItemRes struct{ Name string }

type opAnyReq struct {
	Meta `summary:"Anything"`
}

type opItems struct{}

func (opItems) Item(ctx context.Context, req *opItemReq) (*opItemRes, error) { return nil, nil }

func TestOperations(t *testing.T) {
	s := New()
	s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Group("/api", func(g *RouterGroup) { g.Bind(opItems{}) })
	s.BindHandler("/any/*rest", func(ctx context.Context, req *opAnyReq) (any, error) { return nil, nil })
	s.BindHandler("/plain", func(*Request) {})
	item := openapi.Operation{Path: "/api/item/{id}", Tags: []string{"item", "store"}, Summary: "An item",
		Description: "The item of an id", Deprecated: true,
		Request: reflect.TypeFor[opItemReq](), Response: reflect.TypeFor[opItemRes]()}
	get, put := item, item
	get.Method, put.Method = "GET", "PUT"
	want := []openapi.Operation{get, put}
	for _, m := range openAPIMethods {
		want = append(want, openapi.Operation{Method: m, Path: "/any/{rest}", Summary: "Anything",
			Request: reflect.TypeFor[opAnyReq]()})
	}
	got := s.operations()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("operations:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestOpenAPIPath(t *testing.T) {
	for _, x := range []struct{ in, want string }{
		{"/", "/"},
		{"/user/:id", "/user/{id}"},
		{"/a/:x/b/*rest", "/a/{x}/b/{rest}"},
		{"/{id}.html", "/{id}.html"},
	} {
		if got := openAPIPath(x.in); got != x.want {
			t.Errorf("openAPIPath(%q) = %q, want %q", x.in, got, x.want)
		}
	}
}
