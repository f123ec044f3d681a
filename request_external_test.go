package baton_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

func TestGetPrecedence(t *testing.T) {
	s := newServer(t)
	s.BindHandler("/p/{name}", func(r *baton.Request) {
		r.Response.Writef("name=%s age=%d admin=%v missing=%q", r.Get("name"), r.GetInt("age"), r.GetBool("admin"), r.Get("missing"))
	})
	tests := []struct {
		name   string
		method string
		target string
		body   string
		ctype  string
		want   string
	}{
		{name: "path wins over query", method: "GET", target: "/p/path?name=query&age=3", want: `name=path age=3 admin=false missing=""`},
		{name: "query over form", method: "POST", target: "/p/x?age=5", body: "age=9&admin=on", ctype: "application/x-www-form-urlencoded", want: `name=x age=5 admin=true missing=""`},
		{name: "form", method: "POST", target: "/p/x", body: "age=9&admin=yes", ctype: "application/x-www-form-urlencoded", want: `name=x age=9 admin=true missing=""`},
		{name: "json body", method: "POST", target: "/p/x", body: `{"age": 41, "admin": true, "name": "json"}`, ctype: "application/json", want: `name=x age=41 admin=true missing=""`},
		{name: "query over json", method: "POST", target: "/p/x?age=2", body: `{"age": 41}`, ctype: "application/json", want: `name=x age=2 admin=false missing=""`},
		{name: "unparsable int is zero", method: "GET", target: "/p/x?age=abc", want: `name=x age=0 admin=false missing=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.ctype != "" {
				h = []string{"Content-Type", tt.ctype}
			}
			rec := serve(t, s, tt.method, tt.target, strings.NewReader(tt.body), h...)
			if rec.Body.String() != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.method, tt.target, rec.Body, tt.want)
			}
		})
	}
}

type signup struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Age     int      `json:"age"`
	Score   float64  `json:"score"`
	Admin   bool     `json:"admin"`
	Tags    []string `json:"tags"`
	Ignored string   `json:"-"`
	Nick    *string  `json:"nick"`
}

func TestParse(t *testing.T) {
	s := newServer(t)
	s.SetMaxBodySize(64)
	s.BindHandler("/u/{id}", func(r *baton.Request) {
		var v signup
		if err := r.Parse(&v); err != nil {
			r.Response.WriteError(err)
			return
		}
		nick := "<nil>"
		if v.Nick != nil {
			nick = *v.Nick
		}
		r.Response.Writef("%d %s %d %g %v %v %s", v.ID, v.Name, v.Age, v.Score, v.Admin, v.Tags, nick)
	})
	tests := []struct {
		name   string
		target string
		body   string
		ctype  string
		code   int
		want   string
	}{
		{name: "query and path", target: "/u/7?name=ann&age=30&score=1.5&admin=true&tags=a&tags=b&nick=an", code: 200, want: "7 ann 30 1.5 true [a b] an"},
		{name: "json body, query overrides", target: "/u/7?age=31", body: `{"name":"bob","age":20,"tags":["x"]}`, ctype: "application/json", code: 200, want: "7 bob 31 0 false [x] <nil>"},
		{name: "form body", target: "/u/8", body: "name=cy&age=4", ctype: "application/x-www-form-urlencoded", code: 200, want: "8 cy 4 0 false [] <nil>"},
		{name: "path id wins over json id", target: "/u/9", body: `{"id": 1}`, ctype: "application/json", code: 200, want: "9  0 0 false [] <nil>"},
		{name: "bad int in query", target: "/u/7?age=old", code: 400, want: `field "age": "old" is not an integer`},
		{name: "bad bool", target: "/u/7?admin=maybe", code: 400, want: `field "admin": "maybe" is not a boolean`},
		{name: "bad path int", target: "/u/seven", code: 400, want: `field "id": "seven" is not an integer`},
		{name: "malformed json", target: "/u/7", body: `{"name": "x",}`, ctype: "application/json", code: 400, want: "malformed JSON at offset"},
		{name: "truncated json", target: "/u/7", body: `{"name": "x"`, ctype: "application/json", code: 400, want: "malformed JSON"},
		{name: "json type mismatch", target: "/u/7", body: `{"age": "old"}`, ctype: "application/json", code: 400, want: `field "age": want int, got JSON string`},
		{name: "body over limit", target: "/u/7", body: `{"name": "` + strings.Repeat("x", 100) + `"}`, ctype: "application/json", code: 413, want: "Request Entity Too Large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.ctype != "" {
				h = []string{"Content-Type", tt.ctype}
			}
			rec := serve(t, s, "POST", tt.target, strings.NewReader(tt.body), h...)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("POST %s %q = %d %q, want %d containing %q", tt.target, tt.body, rec.Code, rec.Body, tt.code, tt.want)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	s := newServer(t)
	s.SetMaxBodySize(10)
	ran := false
	s.BindHandler("/", func(r *baton.Request) {
		ran = true
		b, err := io.ReadAll(r.Body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.Response.WriteStatus(413)
			return
		}
		r.Response.Write(b)
	})
	// Declared too large: refused before the handler runs.
	rec := serve(t, s, "POST", "/", strings.NewReader(strings.Repeat("x", 11)))
	if rec.Code != 413 || ran {
		t.Errorf("declared 11 bytes: got %d, handler ran %v; want 413, false", rec.Code, ran)
	}
	// Undeclared (chunked) and too large: the reader stops at the limit.
	req, _ := http.NewRequest("POST", "/", io.MultiReader(strings.NewReader(strings.Repeat("y", 20))))
	req.ContentLength = -1
	rec2 := &bufRecorder{h: http.Header{}}
	s.ServeHTTP(rec2, req)
	if rec2.code != 413 {
		t.Errorf("chunked 20 bytes: got %d, want 413", rec2.code)
	}
	if rec := serve(t, s, "POST", "/", strings.NewReader("small")); rec.Code != 200 || rec.Body.String() != "small" {
		t.Errorf("small body: got %d %q", rec.Code, rec.Body)
	}
}

type bufRecorder struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func (b *bufRecorder) Header() http.Header { return b.h }
func (b *bufRecorder) WriteHeader(c int) {
	if b.code == 0 {
		b.code = c
	}
}
func (b *bufRecorder) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = 200
	}
	return b.buf.Write(p)
}

func TestMultipartGet(t *testing.T) {
	s := newServer(t)
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write(r.Get("field")) })
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("field", "from multipart")
	mw.Close()
	rec := serve(t, s, "POST", "/", &body, "Content-Type", mw.FormDataContentType())
	if rec.Body.String() != "from multipart" {
		t.Errorf("multipart Get = %q", rec.Body)
	}
}

func TestPanicRecovered(t *testing.T) {
	s := newServer(t)
	var logs bytes.Buffer
	s.SetLogger(newTextLogger(&logs))
	s.SetAccessLogEnabled(false)
	s.BindHandler("/boom", func(r *baton.Request) {
		r.Response.Header().Set("X-Partial", "1")
		r.Response.Write("partial output")
		panic("kaboom")
	})
	s.BindHandler("/ok", echo("fine"))
	rec := serve(t, s, "GET", "/boom", nil)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "kaboom") || strings.Contains(rec.Body.String(), "partial") || rec.Header().Get("X-Partial") != "" {
		t.Errorf("panic answered %d %q %v; want a bare 500", rec.Code, rec.Body, rec.Header())
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), "request_external_test.go") {
		t.Errorf("error log lacks the panic or its stack:\n%s", logs.String())
	}
	if rec := serve(t, s, "GET", "/ok", nil); rec.Code != 200 {
		t.Errorf("after a panic GET /ok = %d", rec.Code)
	}
}

func TestAccessLog(t *testing.T) {
	s := newServer(t)
	var logs bytes.Buffer
	s.SetLogger(newTextLogger(&logs))
	s.SetAccessLogEnabled(true)
	s.BindHandler("/hello", echo("hi there"))
	serve(t, s, "GET", "/hello?x=1", nil)
	line := logs.String()
	for _, want := range []string{"msg=request", "method=GET", "path=/hello", "status=200", "bytes=8", "dur=", fmt.Sprintf("pid=%d", osGetpid())} {
		if !strings.Contains(line, want) {
			t.Errorf("access log %q lacks %q", line, want)
		}
	}
	logs.Reset()
	s.SetAccessLogEnabled(false)
	serve(t, s, "GET", "/hello", nil)
	if logs.Len() != 0 {
		t.Errorf("access log off still wrote %q", logs.String())
	}
}
