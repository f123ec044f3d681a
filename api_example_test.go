package baton_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

type HelloReq struct {
	g.Meta `path:"/hello/{name}" method:"post" tags:"demo" summary:"Greet"`
	Name   string `json:"name" v:"length:2,16"`
	Times  int    `json:"times" d:"1" v:"between:1,3"`
}

type HelloRes struct {
	Text string `json:"text"`
}

type Hello struct{}

func (Hello) Say(ctx context.Context, req *HelloReq) (*HelloRes, error) {
	return &HelloRes{Text: strings.Repeat("hi "+req.Name+" ", req.Times)}, nil
}

func ExampleRouterGroup_Bind() {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.Group("/api", func(grp *baton.RouterGroup) { grp.Bind(Hello{}) })

	for _, body := range []string{`{"times":2}`, `{"times":9}`} {
		req := httptest.NewRequest("POST", "/api/hello/ann", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 {"code":0,"message":"","data":{"text":"hi ann hi ann "}}
	// 400 {"code":51,"message":"times: The times value `9` must be between 1 and 3","data":[{"field":"times","rule":"between","message":"The times value `9` must be between 1 and 3"}]}
}
