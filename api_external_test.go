package baton_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// The typed handlers of these tests: a user resource.

type apiCreateReq struct {
	g.Meta `path:"/user" method:"post" tags:"user" summary:"Create a user"`
	Name   string   `json:"name"`
	Age    int      `json:"age" d:"18"`
	Tags   []string `json:"tags"`
	Nick   string   `p:"nickname"`
	Token  string   `json:"token" in:"header"`
}

type apiUser struct {
	ID   int      `json:"id"`
	Name string   `json:"name"`
	Age  int      `json:"age"`
	Tags []string `json:"tags,omitempty"`
	Nick string   `json:"nick,omitempty"`
	Tok  string   `json:"tok,omitempty"`
}

type apiCreateRes struct {
	apiUser
}

type apiGetReq struct {
	g.Meta `path:"/user/{id}" method:"get" summary:"Get a user"`
	ID     int    `json:"id"`
	Fields string `json:"fields" d:"all"`
}

type apiGetRes struct {
	User   apiUser `json:"user"`
	Fields string  `json:"fields"`
}

type apiListReq struct {
	baton.Meta `path:"/users" method:"get,post"`
	Page       int      `json:"page" d:"1"`
	IDs        []int    `json:"ids"`
	Sort       string   `p:"sort"`
	Session    string   `json:"sid" in:"cookie"`
	Filter     apiPager // embedded below by name? no: a named field
}

type apiPager struct {
	Size int `json:"size"`
}

type apiListRes struct {
	Page    int    `json:"page"`
	IDs     []int  `json:"ids"`
	Sort    string `json:"sort"`
	Session string `json:"sid"`
}

type apiDeleteReq struct {
	g.Meta `path:"/user/{id}" method:"delete"`
	ID     int `json:"id"`
}

type apiDeleteRes struct{}

type apiUsers struct {
	mu    sync.Mutex
	users map[int]apiUser
}

func (c *apiUsers) Create(ctx context.Context, req *apiCreateReq) (*apiCreateRes, error) {
	if baton.RequestFromCtx(ctx) == nil {
		return nil, errors.New("no request in the context")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range c.users {
		if u.Name == req.Name {
			return nil, baton.NewError(http.StatusConflict, 1001, "name "+req.Name+" taken")
		}
	}
	u := apiUser{ID: len(c.users) + 1, Name: req.Name, Age: req.Age, Tags: req.Tags, Nick: req.Nick, Tok: req.Token}
	c.users[u.ID] = u
	return &apiCreateRes{u}, nil
}

func (c *apiUsers) Get(ctx context.Context, req *apiGetReq) (*apiGetRes, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.users[req.ID]
	if !ok {
		return nil, baton.NewError(http.StatusNotFound, baton.CodeNotFound, "no such user")
	}
	return &apiGetRes{User: u, Fields: req.Fields}, nil
}

func (c *apiUsers) Delete(ctx context.Context, req *apiDeleteReq) (*apiDeleteRes, error) {
	switch req.ID {
	case 13:
		panic("unlucky")
	case 99:
		return nil, errors.New("database is down at 10.0.0.7")
	case 77:
		r := baton.RequestFromCtx(ctx)
		r.Response.Write("written by hand")
		return nil, nil
	}
	return nil, nil
}

type apiLists struct{}

func (apiLists) List(ctx context.Context, req *apiListReq) (*apiListRes, error) {
	return &apiListRes{Page: req.Page, IDs: req.IDs, Sort: req.Sort, Session: req.Session}, nil
}

// apiServer returns a server with the user controllers bound under /api,
// and a buffer that receives its error log.
func apiServer(t *testing.T) (*baton.Server, *syncBuffer) {
	t.Helper()
	s := baton.New()
	s.SetAccessLogEnabled(false)
	log := &syncBuffer{}
	s.SetLogger(slog.New(slog.NewTextHandler(log, nil)))
	s.Group("/api", func(grp *baton.RouterGroup) {
		grp.Bind(&apiUsers{users: map[int]apiUser{1: {ID: 1, Name: "ann", Age: 30}}}, apiLists{})
	})
	return s, log
}

type apiExchange struct {
	name        string
	method, url string
	ctype       string
	header      map[string]string
	body        string
	status      int
	want        string // the body, JSON compared as values
}

func runAPIExchanges(t *testing.T, s http.Handler, rows []apiExchange) {
	t.Helper()
	for _, x := range rows {
		t.Run(x.name, func(t *testing.T) {
			var body io.Reader
			if x.body != "" {
				body = strings.NewReader(x.body)
			}
			req := httptest.NewRequest(x.method, x.url, body)
			if x.ctype != "" {
				req.Header.Set("Content-Type", x.ctype)
			}
			for k, v := range x.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != x.status {
				t.Errorf("%s %s %q: status %d, want %d (body %s)", x.method, x.url, x.body, rec.Code, x.status, rec.Body)
			}
			if !jsonEqual(rec.Body.String(), x.want) {
				t.Errorf("%s %s %q:\ngot  %s\nwant %s", x.method, x.url, x.body, strings.TrimSpace(rec.Body.String()), x.want)
			}
		})
	}
}

// jsonEqual reports whether got and want hold the same JSON value, or are
// the same text when want is not JSON.
func jsonEqual(got, want string) bool {
	var g, w any
	if json.Unmarshal([]byte(want), &w) != nil {
		return strings.TrimSpace(got) == want
	}
	if json.Unmarshal([]byte(got), &g) != nil {
		return false
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

func TestAPIBinding(t *testing.T) {
	s, _ := apiServer(t)
	runAPIExchanges(t, s, []apiExchange{
		{name: "json body, default, header", method: "POST", url: "/api/user", ctype: jsonType,
			header: map[string]string{"Token": "t0k"},
			body:   `{"name":"bob","tags":["a","b"],"nickname":"bobby"}`, status: 200,
			want: `{"code":0,"message":"","data":{"id":2,"name":"bob","age":18,"tags":["a","b"],"nick":"bobby","tok":"t0k"}}`},
		{name: "json body, a number as a string", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"name":"cy","age":"41"}`, status: 200,
			want: `{"code":0,"message":"","data":{"id":3,"name":"cy","age":41}}`},
		{name: "json body, field name in another case", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"NAME":"dee","Nick":"d"}`, status: 200,
			want: `{"code":0,"message":"","data":{"id":4,"name":"dee","age":18,"nick":"d"}}`},
		{name: "urlencoded form, repeated keys", method: "POST", url: "/api/user",
			ctype: "application/x-www-form-urlencoded", body: "name=eve&age=22&tags=x&tags=y", status: 200,
			want: `{"code":0,"message":"","data":{"id":5,"name":"eve","age":22,"tags":["x","y"]}}`},
		{name: "urlencoded form, a[] keys", method: "POST", url: "/api/user",
			ctype: "application/x-www-form-urlencoded", body: "name=fay&tags[]=x&tags[]=z", status: 200,
			want: `{"code":0,"message":"","data":{"id":6,"name":"fay","age":18,"tags":["x","z"]}}`},
		{name: "path parameter and query default", method: "GET", url: "/api/user/1", status: 200,
			want: `{"code":0,"message":"","data":{"user":{"id":1,"name":"ann","age":30},"fields":"all"}}`},
		{name: "path parameter and query", method: "GET", url: "/api/user/1?fields=name", status: 200,
			want: `{"code":0,"message":"","data":{"user":{"id":1,"name":"ann","age":30},"fields":"name"}}`},
		{name: "path parameter cannot be overridden by the query", method: "GET", url: "/api/user/1?id=2", status: 200,
			want: `{"code":0,"message":"","data":{"user":{"id":1,"name":"ann","age":30},"fields":"all"}}`},
		{name: "query slices from repeated keys and a[], p tag", method: "GET",
			url: "/api/users?ids=1&ids=2&sort=name", status: 200,
			want: `{"code":0,"message":"","data":{"page":1,"ids":[1,2],"sort":"name","sid":""}}`},
		{name: "query a[] and Go name in any case", method: "GET", url: "/api/users?IDS[]=3&page=2", status: 200,
			want: `{"code":0,"message":"","data":{"page":2,"ids":[3],"sort":"","sid":""}}`},
		{name: "cookie", method: "GET", url: "/api/users", header: map[string]string{"Cookie": "sid=abc"}, status: 200,
			want: `{"code":0,"message":"","data":{"page":1,"ids":null,"sort":"","sid":"abc"}}`},
		{name: "POST of the same operation reads the body", method: "POST", url: "/api/users", ctype: jsonType,
			body: `{"page":5,"ids":[7]}`, status: 200,
			want: `{"code":0,"message":"","data":{"page":5,"ids":[7],"sort":"","sid":""}}`},
		{name: "empty query value keeps the default", method: "GET", url: "/api/users?page=", status: 200,
			want: `{"code":0,"message":"","data":{"page":1,"ids":null,"sort":"","sid":""}}`},
	})
}

func TestAPIBindingErrors(t *testing.T) {
	s, _ := apiServer(t)
	runAPIExchanges(t, s, []apiExchange{
		{name: "path value not an int", method: "GET", url: "/api/user/abc", status: 400,
			want: `{"code":53,"message":"id: \"abc\" is not an integer of 64 bits","data":[{"field":"id","rule":"type","message":"\"abc\" is not an integer of 64 bits"}]}`},
		{name: "every failing field is listed", method: "GET", url: "/api/users?page=x&ids=1&ids=y", status: 400,
			want: `{"code":53,"message":"page: \"x\" is not an integer of 64 bits; ids: \"y\" is not an integer of 64 bits","data":[{"field":"page","rule":"type","message":"\"x\" is not an integer of 64 bits"},{"field":"ids","rule":"type","message":"\"y\" is not an integer of 64 bits"}]}`},
		{name: "json value of the wrong type", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"name":"bob","age":"old"}`, status: 400,
			want: `{"code":53,"message":"age: \"old\" is not an integer of 64 bits","data":[{"field":"age","rule":"type","message":"\"old\" is not an integer of 64 bits"}]}`},
		{name: "json list for a string", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"name":["bob"]}`, status: 400,
			want: `{"code":53,"message":"name: a list does not fit a string","data":[{"field":"name","rule":"type","message":"a list does not fit a string"}]}`},
		{name: "malformed json", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"name":`, status: 400,
			want: `{"code":53,"message":"malformed JSON at offset 8: unexpected end of JSON input","data":null}`},
		{name: "malformed form", method: "POST", url: "/api/user",
			ctype: "application/x-www-form-urlencoded", body: "name=%zz", status: 400,
			want: `{"code":53,"message":"malformed form: invalid URL escape \"%zz\"","data":null}`},
	})
}

func TestAPIResults(t *testing.T) {
	s, log := apiServer(t)
	runAPIExchanges(t, s, []apiExchange{
		{name: "handler error with a status and code", method: "POST", url: "/api/user", ctype: jsonType,
			body: `{"name":"ann"}`, status: 409, want: `{"code":1001,"message":"name ann taken","data":null}`},
		{name: "404 from the handler", method: "GET", url: "/api/user/5", status: 404,
			want: `{"code":65,"message":"no such user","data":null}`},
		{name: "a plain error is a 500 that shows nothing of it", method: "DELETE", url: "/api/user/99", status: 500,
			want: `{"code":50,"message":"Internal Server Error","data":null}`},
		{name: "panic is a 500 envelope", method: "DELETE", url: "/api/user/13", status: 500,
			want: `{"code":50,"message":"Internal Server Error","data":null}`},
		{name: "nil result", method: "DELETE", url: "/api/user/2", status: 200,
			want: `{"code":0,"message":"","data":null}`},
		{name: "a response written by hand is left alone", method: "DELETE", url: "/api/user/77", status: 200,
			want: `written by hand`},
		{name: "unrouted path stays a plain 404", method: "GET", url: "/api/nothing", status: 404,
			want: "Not Found"},
	})
	logged := log.String()
	for _, want := range []string{"unlucky", "api_external_test.go", "database is down"} {
		if !strings.Contains(logged, want) {
			t.Errorf("error log lacks %q:\n%s", want, logged)
		}
	}
}

func TestAPIResultWriters(t *testing.T) {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	users := func() *apiUsers { return &apiUsers{users: map[int]apiUser{1: {ID: 1, Name: "ann"}}} }
	s.Group("/raw", func(grp *baton.RouterGroup) {
		grp.SetResultWriter(baton.RawJSONWriter)
		grp.Bind(users())
	})
	s.Group("/problem", func(grp *baton.RouterGroup) {
		grp.SetResultWriter(baton.ProblemWriter)
		grp.Group("/inner", func(inner *baton.RouterGroup) { inner.Bind(users()) })
	})
	rows := []struct {
		name, method, url, body string
		status                  int
		ctype, want             string
	}{
		{"raw success", "GET", "/raw/user/1", "", 200, "application/json; charset=utf-8",
			`{"user":{"id":1,"name":"ann","age":0},"fields":"all"}`},
		{"raw error", "GET", "/raw/user/9", "", 404, "application/json; charset=utf-8",
			`{"code":65,"message":"no such user"}`},
		{"raw binding error", "GET", "/raw/user/x", "", 400, "application/json; charset=utf-8",
			`{"code":53,"message":"id: \"x\" is not an integer of 64 bits","errors":[{"field":"id","rule":"type","message":"\"x\" is not an integer of 64 bits"}]}`},
		{"problem success, writer inherited", "GET", "/problem/inner/user/1", "", 200, "application/json; charset=utf-8",
			`{"user":{"id":1,"name":"ann","age":0},"fields":"all"}`},
		{"problem error", "POST", "/problem/inner/user", `{"name":"ann"}`, 409, "application/problem+json",
			`{"type":"about:blank","title":"Conflict","status":409,"detail":"name ann taken","code":1001}`},
		{"problem panic", "DELETE", "/problem/inner/user/13", "", 500, "application/problem+json",
			`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Internal Server Error","code":50}`},
	}
	for _, x := range rows {
		t.Run(x.name, func(t *testing.T) {
			var body io.Reader
			if x.body != "" {
				body = strings.NewReader(x.body)
			}
			req := httptest.NewRequest(x.method, x.url, body)
			req.Header.Set("Content-Type", jsonType)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != x.status || rec.Header().Get("Content-Type") != x.ctype || !jsonEqual(rec.Body.String(), x.want) {
				t.Errorf("%s %s: got %d %q %s, want %d %q %s", x.method, x.url, rec.Code,
					rec.Header().Get("Content-Type"), rec.Body, x.status, x.ctype, x.want)
			}
		})
	}
}

type apiUploadReq struct {
	g.Meta `path:"/upload" method:"post"`
	Title  string                  `json:"title"`
	File   *multipart.FileHeader   `json:"file"`
	More   []*multipart.FileHeader `json:"more"`
	Up     *baton.UploadFile       `json:"up"`
	Ups    baton.UploadFiles       `json:"ups"`
}

type apiUploadRes struct {
	Title string   `json:"title"`
	Names []string `json:"names"`
}

func TestAPIUpload(t *testing.T) {
	s := bindServer(t)
	s.BindHandler("/upload", func(ctx context.Context, req *apiUploadReq) (*apiUploadRes, error) {
		res := &apiUploadRes{Title: req.Title}
		if req.File != nil {
			res.Names = append(res.Names, "file="+req.File.Filename)
		}
		for _, f := range req.More {
			res.Names = append(res.Names, "more="+f.Filename)
		}
		if req.Up != nil {
			res.Names = append(res.Names, "up="+req.Up.Filename)
		}
		for _, f := range req.Ups {
			res.Names = append(res.Names, "ups="+f.Filename)
		}
		return res, nil
	})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("title", "pics")
	for _, f := range [][2]string{{"file", "a.png"}, {"more", "b.png"}, {"more", "c.png"}, {"up", "d.png"}, {"ups", "e.png"}} {
		w, _ := mw.CreateFormFile(f[0], f[1])
		w.Write([]byte("data of " + f[1]))
	}
	mw.Close()
	runAPIExchanges(t, s, []apiExchange{
		{name: "multipart fields and files", method: "POST", url: "/upload", ctype: mw.FormDataContentType(),
			body: buf.String(), status: 200,
			want: `{"code":0,"message":"","data":{"title":"pics","names":["file=a.png","more=b.png","more=c.png","up=d.png","ups=e.png"]}}`},
		{name: "the Meta's methods apply where the pattern names none", method: "PUT", url: "/upload",
			ctype: "application/x-www-form-urlencoded", body: "title=none", status: 405, want: "Method Not Allowed"},
	})
}

type apiEmbedBase struct {
	Lang string `json:"lang" d:"en"`
	apiEmbedDeeper
}

type apiEmbedDeeper struct {
	Debug bool `json:"debug"`
}

type apiEmbedReq struct {
	g.Meta `method:"get"`
	apiEmbedBase
	Q     string  `json:"q" v:"required"`
	Ratio float64 `json:"ratio" d:"0.5"`
	Tags  []int   `json:"tags" d:"1,2"`
}

func TestAPIEmbeddedAndDefaults(t *testing.T) {
	s := bindServer(t)
	s.BindHandler("/search", func(ctx context.Context, req *apiEmbedReq) (*apiEmbedReq, error) {
		req.Tags[0] = 100 // the next request's default must not see this
		return req, nil
	})
	runAPIExchanges(t, s, []apiExchange{
		{name: "embedded fields filled", method: "GET", url: "/search?q=go&lang=fr&debug=true&ratio=2", status: 200,
			want: `{"code":0,"message":"","data":{"lang":"fr","debug":true,"q":"go","ratio":2,"tags":[100,2]}}`},
		{name: "defaults, the slice copied", method: "GET", url: "/search?q=go", status: 200,
			want: `{"code":0,"message":"","data":{"lang":"en","debug":false,"q":"go","ratio":0.5,"tags":[100,2]}}`},
		{name: "bool of the wrong form", method: "GET", url: "/search?debug=maybe", status: 400,
			want: `{"code":53,"message":"debug: \"maybe\" is not a boolean","data":[{"field":"debug","rule":"type","message":"\"maybe\" is not a boolean"}]}`},
	})
}

// The registration errors.

type apiNoMetaReq struct{ Name string }
type apiNoPathReq struct {
	g.Meta `method:"get"`
}
type apiBadInReq struct {
	g.Meta `path:"/bad" method:"get"`
	X      string `in:"body-ish"`
}
type apiBadDefaultReq struct {
	g.Meta `path:"/bad" method:"get"`
	N      int `d:"many"`
}
type apiPathInReq struct {
	g.Meta `path:"/p" method:"get"`
	ID     string `in:"path"`
}
type apiOK struct{}

type apiWrongShape struct{}

func (apiWrongShape) Fine(ctx context.Context, req *apiGetReq) (*apiGetRes, error) { return nil, nil }
func (apiWrongShape) Helper(n int) int                                             { return n }

type apiNoMeta struct{}

func (apiNoMeta) Make(ctx context.Context, req *apiNoMetaReq) (*apiOK, error) { return nil, nil }

type apiNoPath struct{}

func (apiNoPath) Make(ctx context.Context, req *apiNoPathReq) (*apiOK, error) { return nil, nil }

type apiTwice struct{}

func (apiTwice) One(ctx context.Context, req *apiGetReq) (*apiGetRes, error) { return nil, nil }
func (apiTwice) Two(ctx context.Context, req *apiGetReq) (*apiGetRes, error) { return nil, nil }

type apiBadRes struct{}

func (apiBadRes) Make(ctx context.Context, req *apiGetReq) (apiGetRes, error) {
	return apiGetRes{}, nil
}

type apiBadIn struct{}

func (apiBadIn) Make(ctx context.Context, req *apiBadInReq) (*apiOK, error) { return nil, nil }

type apiBadDefault struct{}

func (apiBadDefault) Make(ctx context.Context, req *apiBadDefaultReq) (*apiOK, error) {
	return nil, nil
}

type apiPathIn struct{}

func (apiPathIn) Make(ctx context.Context, req *apiPathInReq) (*apiOK, error) { return nil, nil }

type apiNone struct{}

func TestAPIRegistrationPanics(t *testing.T) {
	rows := []struct {
		name        string
		bind        func(s *baton.Server)
		shouldPanic bool
		want        []string // in the panic message
	}{
		{name: "controller bound", bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiLists{}) }) }},
		{name: "typed func on a verb", bind: func(s *baton.Server) {
			s.Group("/v", func(g *baton.RouterGroup) {
				g.POST("/x", func(ctx context.Context, req *apiEmbedReq) (*apiOK, error) { return nil, nil })
			})
		}},
		{name: "method of the wrong shape", shouldPanic: true, want: []string{"baton_test.apiWrongShape.Helper", "func(int) int", "api_external_test.go"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiWrongShape{}) }) }},
		{name: "result not a pointer", shouldPanic: true, want: []string{"apiBadRes.Make", "apiGetRes", "/user/{id}"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiBadRes{}) }) }},
		{name: "request without Meta", shouldPanic: true, want: []string{"apiNoMeta.Make", "apiNoMetaReq", "has no baton.Meta"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiNoMeta{}) }) }},
		{name: "Meta without path in Bind", shouldPanic: true, want: []string{"apiNoPath.Make", "no path tag"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiNoPath{}) }) }},
		{name: "two operations on one route", shouldPanic: true,
			want: []string{"apiTwice.Two", `conflicts with "GET:/user/:id"`, "api_external_test.go"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiTwice{}) }) }},
		{name: "typed route beside a plain one", shouldPanic: true, want: []string{"apiLists.List", "conflicts with", "/a/users"},
			bind: func(s *baton.Server) {
				s.BindHandler("GET:/a/users", func(*baton.Request) {})
				s.Group("/a", func(g *baton.RouterGroup) { g.Bind(apiLists{}) })
			}},
		{name: "unknown in tag", shouldPanic: true, want: []string{"apiBadInReq.X", "body-ish"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiBadIn{}) }) }},
		{name: "default that does not fit", shouldPanic: true, want: []string{"apiBadDefaultReq.N", `d:"many"`},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiBadDefault{}) }) }},
		{name: "in path without such a parameter", shouldPanic: true, want: []string{"apiPathInReq.ID", `"/p"`},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiPathIn{}) }) }},
		{name: "controller without methods", shouldPanic: true, want: []string{"apiNone", "no exported method"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiNone{}) }) }},
		{name: "nil controller", shouldPanic: true, want: []string{"nil controller"},
			bind: func(s *baton.Server) { s.Group("/", func(g *baton.RouterGroup) { g.Bind(nil) }) }},
		{name: "BindHandler path disagrees with Meta", shouldPanic: true, want: []string{"/elsewhere", `path "/user/{id}"`},
			bind: func(s *baton.Server) { s.BindHandler("/elsewhere", (&apiUsers{}).Get) }},
		{name: "BindHandler of a typed func of the wrong shape", shouldPanic: true, want: []string{"func(context.Context) error", "/f"},
			bind: func(s *baton.Server) { s.BindHandler("/f", func(context.Context) error { return nil }) }},
		{name: "BindHandler of a value of no handler type", shouldPanic: true, want: []string{"type int", "/n"},
			bind: func(s *baton.Server) { s.BindHandler("/n", 5) }},
	}
	for _, x := range rows {
		t.Run(x.name, func(t *testing.T) {
			s := bindServer(t)
			var msg string
			func() {
				defer func() {
					if p := recover(); p != nil {
						if err, ok := p.(error); ok {
							msg = err.Error()
						} else {
							t.Fatalf("panic with %T %v, want an error", p, p)
						}
					}
				}()
				x.bind(s)
			}()
			if !x.shouldPanic {
				if msg != "" {
					t.Fatalf("panic %q, want none", msg)
				}
				return
			}
			if msg == "" {
				t.Fatal("no panic")
			}
			for _, w := range x.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q lacks %q", msg, w)
				}
			}
		})
	}
}

// A func(*baton.Request) and a HandlerFunc still bind as they did.
func TestAPIBindHandlerKeepsPlainHandlers(t *testing.T) {
	s := bindServer(t)
	var hf baton.HandlerFunc = func(r *baton.Request) { r.Response.Write("named") }
	s.BindHandler("/named", hf)
	s.BindHandler("/lit", func(r *baton.Request) { r.Response.Write("literal") })
	s.Group("/g", func(g *baton.RouterGroup) { g.BindHandler("/x", hf) })
	checkBindExchanges(t, s, []bindExchange{
		{"GET", "/named", 200, "named"},
		{"GET", "/lit", 200, "literal"},
		{"GET", "/g/x", 200, "named"},
	})
}

func TestRequestFromCtx(t *testing.T) {
	s := bindServer(t)
	type key struct{}
	s.Use(func(r *baton.Request) {
		r.SetCtxVar(key{}, "from middleware")
		r.Middleware.Next()
	})
	s.BindHandler("/ctx", func(ctx context.Context, req *apiEmbedReq) (*apiGetRes, error) {
		r := baton.RequestFromCtx(ctx)
		if r == nil {
			return nil, errors.New("no request")
		}
		return &apiGetRes{Fields: r.URL.Path + " " + ctx.Value(key{}).(string)}, nil
	})
	runAPIExchanges(t, s, []apiExchange{
		{name: "request and context values", method: "GET", url: "/ctx?q=1", status: 200,
			want: `{"code":0,"message":"","data":{"user":{"id":0,"name":"","age":0},"fields":"/ctx from middleware"}}`},
	})
	if baton.RequestFromCtx(context.Background()) != nil {
		t.Error("RequestFromCtx of a background context is not nil")
	}
}

type apiSignupReq struct {
	g.Meta `path:"/signup" method:"post"`
	Name   string `json:"name" v:"required|length:3,10#name is required|name must be 3-10 characters"`
	Age    int    `json:"age" v:"min:18"`
	Email  string `json:"email" v:"email"`
}

type apiSignup struct{}

func (apiSignup) Signup(ctx context.Context, req *apiSignupReq) (*apiOK, error) { return &apiOK{}, nil }

type apiBadRuleReq struct {
	g.Meta `path:"/bad" method:"post"`
	Name   string `json:"name" v:"length:x"`
}

type apiBadRule struct{}

func (apiBadRule) Make(ctx context.Context, req *apiBadRuleReq) (*apiOK, error) { return nil, nil }

func TestAPIValidation(t *testing.T) {
	s := bindServer(t)
	s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiSignup{}) })
	runAPIExchanges(t, s, []apiExchange{
		{name: "valid", method: "POST", url: "/signup", ctype: jsonType,
			body: `{"name":"bobby","age":20,"email":"b@example.com"}`, status: 200,
			want: `{"code":0,"message":"","data":{}}`},
		{name: "every failing field, custom messages", method: "POST", url: "/signup", ctype: jsonType,
			body: `{"name":"bo","age":12,"email":"nope"}`, status: 400,
			want: `{"code":51,"message":"name: name must be 3-10 characters; age: ` + "The age value `12` must be equal or greater than 18" + `; email: ` + "The email value `nope` is not a valid email address" + `","data":[` +
				`{"field":"name","rule":"length","message":"name must be 3-10 characters"},` +
				`{"field":"age","rule":"min","message":"` + "The age value `12` must be equal or greater than 18" + `"},` +
				`{"field":"email","rule":"email","message":"` + "The email value `nope` is not a valid email address" + `"}]}`},
		{name: "required", method: "POST", url: "/signup", ctype: jsonType, body: `{"age":30}`, status: 400,
			want: `{"code":51,"message":"name: name is required","data":[{"field":"name","rule":"required","message":"name is required"}]}`},
	})
	msg := bindPanic(t, func() { s.Group("/", func(g *baton.RouterGroup) { g.Bind(apiBadRule{}) }) })
	for _, w := range []string{"apiBadRule.Make", "Name", "length"} {
		if !strings.Contains(msg, w) {
			t.Errorf("panic %q lacks %q", msg, w)
		}
	}
}

type apiParseBase struct {
	Lang string `json:"lang"`
}

type apiParseForm struct {
	apiParseBase
	Name  string `p:"username" json:"name"`
	Count int
}

// Parse and Var.Scan read a struct by the same field table as typed
// handlers: embedded structs flattened, the p tag first.
func TestParseByFieldTable(t *testing.T) {
	s := bindServer(t)
	s.BindHandler("/parse", func(r *baton.Request) {
		var f apiParseForm
		if err := r.Parse(&f); err != nil {
			r.Response.WriteError(err)
			return
		}
		var v apiParseForm
		if err := r.GetVar("obj").Scan(&v); err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Response.WriteJson([]apiParseForm{f, v})
	})
	rows := []struct{ name, url, body, want string }{
		{"query", `/parse?lang=fr&username=bo&count=3`, "",
			`[{"lang":"fr","name":"bo","Count":3},{"lang":"","name":"","Count":0}]`},
		{"json body and Scan", `/parse`, `{"lang":"de","username":"cy","Count":2,"obj":{"lang":"it","username":"di","count":4}}`,
			`[{"lang":"de","name":"cy","Count":2},{"lang":"it","name":"di","Count":4}]`},
	}
	for _, x := range rows {
		t.Run(x.name, func(t *testing.T) {
			var body io.Reader
			method := "GET"
			if x.body != "" {
				body, method = strings.NewReader(x.body), "POST"
			}
			req := httptest.NewRequest(method, x.url, body)
			req.Header.Set("Content-Type", jsonType)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != 200 || !jsonEqual(rec.Body.String(), x.want) {
				t.Errorf("%s %q: got %d %s, want 200 %s", x.url, x.body, rec.Code, rec.Body, x.want)
			}
		})
	}
}

type apiExitReq struct {
	g.Meta `method:"get"`
	Mode   string `json:"mode"`
}

func TestAPIExitAndAbort(t *testing.T) {
	s := bindServer(t)
	after := ""
	s.Use(func(r *baton.Request) {
		r.Middleware.Next()
		after = "middleware resumed"
	})
	s.BindHandler("/exit", func(ctx context.Context, req *apiExitReq) (*apiOK, error) {
		r := baton.RequestFromCtx(ctx)
		r.Response.WriteStatus(http.StatusTeapot, "short and stout")
		r.Exit()
		return &apiOK{}, nil
	})
	s.Group("/v", func(grp *baton.RouterGroup) {
		grp.PUT("/put", func(ctx context.Context, req *apiExitReq) (*apiExitReq, error) { return req, nil })
	})
	runAPIExchanges(t, s, []apiExchange{
		{name: "Exit in a typed handler keeps what it wrote", method: "GET", url: "/exit", status: 418, want: "short and stout"},
		{name: "typed func on a group verb", method: "PUT", url: "/v/put", ctype: jsonType, body: `{"mode":"m"}`, status: 200,
			want: `{"code":0,"message":"","data":{"mode":"m"}}`},
		{name: "the verb's method, not the Meta's", method: "GET", url: "/v/put", status: 405, want: "Method Not Allowed"},
	})
	if after != "middleware resumed" {
		t.Errorf("middleware after Next: %q", after)
	}
	msg := bindPanic(t, func() { s.SetResultWriter(baton.RawJSONWriter) })
	if !strings.Contains(msg, "SetResultWriter") || !strings.Contains(msg, "after the server started") {
		t.Errorf("SetResultWriter once serving: panic %q", msg)
	}
}
