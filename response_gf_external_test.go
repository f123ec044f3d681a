package baton_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// respCase is a row of the response helper tables: a handler, the request
// and what the client must get.
type respCase struct {
	name    string
	handler baton.HandlerFunc
	target  string
	header  []string // request headers, name then value
	code    int
	body    string
	want    map[string]string // response headers
}

func runRespCases(t *testing.T, tests []respCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.BindHandler("/h", tt.handler)
			target := tt.target
			if target == "" {
				target = "/h"
			}
			rec := serve(t, s, "GET", target, nil, tt.header...)
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Errorf("GET %s = %d %q, want %d %q", target, rec.Code, rec.Body, tt.code, tt.body)
			}
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("GET %s: %s = %q, want %q", target, k, got, v)
				}
			}
		})
	}
}

func TestResponseBuffer(t *testing.T) {
	runRespCases(t, []respCase{
		{name: "WriteOver replaces the buffer", handler: func(r *baton.Request) {
			r.Response.Write("draft")
			r.Response.WriteOver("final", 1)
		}, code: 200, body: "final1"},
		{name: "ClearBuffer empties it", handler: func(r *baton.Request) {
			r.Response.Write("draft")
			r.Response.ClearBuffer()
			r.Response.Write("x")
		}, code: 200, body: "x"},
		{name: "Buffer and BufferString read it", handler: func(r *baton.Request) {
			r.Response.Write("ab")
			b, s, n := string(r.Response.Buffer()), r.Response.BufferString(), r.Response.BufferLength()
			r.Response.WriteOver(b, "|", s, "|", n)
		}, code: 200, body: "ab|ab|2"},
		{name: "SetBuffer copies its argument", handler: func(r *baton.Request) {
			b := []byte("set")
			r.Response.SetBuffer(b)
			b[0] = 'X'
			r.Response.Write("!")
		}, code: 200, body: "set!"},
		{name: "a status handler rewrites a 404 body", handler: func(r *baton.Request) {
			r.Response.WriteStatus(http.StatusNotFound)
			r.Response.WriteOver("custom 404")
		}, code: 404, body: "custom 404"},
		{name: "WriteOverExit", handler: func(r *baton.Request) {
			r.Response.Write("draft")
			r.Response.WriteOverExit("final")
			r.Response.Write("never")
		}, code: 200, body: "final"},
	})
}

func TestResponseWriteNil(t *testing.T) {
	runRespCases(t, []respCase{
		{name: "nil alone", handler: func(r *baton.Request) { r.Response.Write(nil) }, code: 200, body: ""},
		{name: "nil among values", handler: func(r *baton.Request) { r.Response.Write("a", nil, "b") }, code: 200, body: "ab"},
		{name: "missing session value", handler: func(r *baton.Request) {
			r.Response.Write(r.Session.Get("missing"))
		}, code: 200, body: ""},
		{name: "Writeln nil", handler: func(r *baton.Request) { r.Response.Writeln(nil) }, code: 200, body: "\n"},
		{name: "typed nil pointer prints as Sprint does", handler: func(r *baton.Request) {
			var p *int
			r.Response.Write(p)
		}, code: 200, body: "<nil>"},
	})
}

func TestResponseWriteJsonBytes(t *testing.T) {
	var gotErr error
	runRespCases(t, []respCase{
		{name: "[]byte goes out as is", handler: func(r *baton.Request) {
			r.Response.WriteJson([]byte(`{"a":1}`))
		}, code: 200, body: `{"a":1}` + "\n", want: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "json.RawMessage goes out as is", handler: func(r *baton.Request) {
			r.Response.WriteJson(json.RawMessage(`[1, 2]`))
		}, code: 200, body: "[1, 2]\n"},
		{name: "a string is encoded", handler: func(r *baton.Request) {
			r.Response.WriteJson("x")
		}, code: 200, body: `"x"` + "\n"},
		{name: "invalid []byte is refused", handler: func(r *baton.Request) {
			gotErr = r.Response.WriteJson([]byte(`{"a":`))
		}, code: 200, body: ""},
	})
	if gotErr == nil || !strings.HasPrefix(gotErr.Error(), "baton: WriteJson") {
		t.Errorf("WriteJson(invalid) error = %v, want a baton: WriteJson error", gotErr)
	}
}

func TestResponseExitHelpers(t *testing.T) {
	runRespCases(t, []respCase{
		{name: "WriteExit", handler: func(r *baton.Request) {
			r.Response.WriteExit("a", "b")
			r.Response.Write("never")
		}, code: 200, body: "ab"},
		{name: "WriteJsonExit", handler: func(r *baton.Request) {
			r.Response.WriteJsonExit(map[string]int{"n": 1})
			r.Response.Write("never")
		}, code: 200, body: `{"n":1}` + "\n", want: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "WriteJsonExit of a value that cannot be encoded answers 500", handler: func(r *baton.Request) {
			r.Response.WriteJsonExit(func() {})
		}, code: 500, body: "Internal Server Error\n"},
		{name: "WriteStatusExit", handler: func(r *baton.Request) {
			r.Response.WriteStatusExit(http.StatusForbidden)
			r.Response.Write("never")
		}, code: 403, body: "Forbidden\n"},
		{name: "WriteStatusExit with content", handler: func(r *baton.Request) {
			r.Response.WriteStatusExit(http.StatusAccepted, "queued")
			r.Response.Write("never")
		}, code: 202, body: "queued"},
		{name: "WritefExit", handler: func(r *baton.Request) {
			r.Response.WritefExit("%d-%s", 7, "x")
			r.Response.Write("never")
		}, code: 200, body: "7-x"},
		{name: "WritelnExit", handler: func(r *baton.Request) {
			r.Response.WritelnExit("line")
			r.Response.Write("never")
		}, code: 200, body: "line\n"},
	})
}

func TestResponseWriteJsonP(t *testing.T) {
	js := map[string]string{"Content-Type": "application/javascript; charset=utf-8", "X-Content-Type-Options": "nosniff"}
	v := func(r *baton.Request) {
		if err := r.Response.WriteJsonP(map[string]int{"a": 1}); err != nil {
			r.Response.WriteError(err)
		}
	}
	runRespCases(t, []respCase{
		{name: "callback", handler: v, target: "/h?callback=cb", code: 200, body: `/**/cb({"a":1});`, want: js},
		{name: "dotted callback", handler: v, target: "/h?callback=jQuery.cb_1$", code: 200, body: `/**/jQuery.cb_1$({"a":1});`, want: js},
		{name: "no callback", handler: v, target: "/h", code: 200, body: `{"a":1}`, want: js},
		{name: "script in the callback is refused", handler: v, target: "/h?callback=alert(1)%3Bcb", code: 400,
			body: "invalid JSONP callback\n"},
		{name: "a tag in the callback is refused", handler: v, target: "/h?callback=%3Cscript%3E", code: 400,
			body: "invalid JSONP callback\n"},
		{name: "a callback starting with a digit is refused", handler: v, target: "/h?callback=1cb", code: 400,
			body: "invalid JSONP callback\n"},
		{name: "an empty segment is refused", handler: v, target: "/h?callback=a..b", code: 400,
			body: "invalid JSONP callback\n"},
		{name: "a long callback is refused", handler: v, target: "/h?callback=" + strings.Repeat("a", 200), code: 400,
			body: "invalid JSONP callback\n"},
		{name: "raw JSON is wrapped as is", handler: func(r *baton.Request) {
			r.Response.WriteJsonP(json.RawMessage(`[1]`))
		}, target: "/h?callback=f", code: 200, body: `/**/f([1]);`, want: js},
		{name: "WriteJsonPExit", handler: func(r *baton.Request) {
			r.Response.WriteJsonPExit(1)
			r.Response.Write("never")
		}, target: "/h?callback=f", code: 200, body: `/**/f(1);`, want: js},
	})
}

func TestResponseWriteJsonPError(t *testing.T) {
	s := newServer(t)
	var err error
	s.BindHandler("/h", func(r *baton.Request) { err = r.Response.WriteJsonP(1) })
	rec := serve(t, s, "GET", "/h?callback=a-b", nil)
	var he *baton.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("WriteJsonP(callback a-b) error = %v, want an *HTTPError with status 400", err)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("WriteJsonP(callback a-b) wrote %q, want nothing", rec.Body)
	}
}

type xmlItem struct {
	Name string `json:"name"`
	Tags []string
}

func TestResponseWriteXml(t *testing.T) {
	x := map[string]string{"Content-Type": "application/xml; charset=utf-8"}
	runRespCases(t, []respCase{
		{name: "map with a root tag", handler: func(r *baton.Request) {
			r.Response.WriteXml(map[string]any{"b": 2, "a": "x<y"}, "root")
		}, code: 200, body: "<root><a>x&lt;y</a><b>2</b></root>", want: x},
		{name: "map of one key is its own root", handler: func(r *baton.Request) {
			r.Response.WriteXml(map[string]any{"user": map[string]any{"id": 1}})
		}, code: 200, body: "<user><id>1</id></user>", want: x},
		{name: "map of several keys under doc", handler: func(r *baton.Request) {
			r.Response.WriteXml(map[string]any{"a": 1, "b": true})
		}, code: 200, body: "<doc><a>1</a><b>true</b></doc>", want: x},
		{name: "struct by its JSON names, list repeated", handler: func(r *baton.Request) {
			r.Response.WriteXml(xmlItem{Name: "n", Tags: []string{"t1", "t2"}}, "item")
		}, code: 200, body: "<item><Tags>t1</Tags><Tags>t2</Tags><name>n</name></item>", want: x},
		{name: "string as is", handler: func(r *baton.Request) {
			r.Response.WriteXml("<a/>")
		}, code: 200, body: "<a/>", want: x},
		{name: "null value is an empty element", handler: func(r *baton.Request) {
			r.Response.WriteXml(map[string]any{"a": nil}, "r")
		}, code: 200, body: "<r><a></a></r>", want: x},
		{name: "a key that is no XML name is refused", handler: func(r *baton.Request) {
			if err := r.Response.WriteXml(map[string]any{"a><script": 1}, "r"); err != nil {
				r.Response.WriteStatus(http.StatusInternalServerError, "refused")
			}
		}, code: 500, body: "refused"},
		{name: "a root that is no XML name is refused", handler: func(r *baton.Request) {
			if err := r.Response.WriteXml(map[string]any{"a": 1}, "1r"); err != nil {
				r.Response.WriteStatus(http.StatusInternalServerError, "refused")
			}
		}, code: 500, body: "refused"},
		{name: "WriteXmlExit", handler: func(r *baton.Request) {
			r.Response.WriteXmlExit(map[string]any{"a": 1}, "r")
			r.Response.Write("never")
		}, code: 200, body: "<r><a>1</a></r>", want: x},
	})
}

func TestResponseRedirectBack(t *testing.T) {
	back := func(r *baton.Request) { r.Response.RedirectBack() }
	tests := []struct {
		name, referer, location string
		code                    []int
		wantCode                int
	}{
		{"same origin", "http://example.com/form?x=1", "/form?x=1", nil, 302},
		{"same origin, other scheme behind a proxy", "https://example.com/a", "/a", nil, 302},
		{"same origin, host case", "http://EXAMPLE.com/a", "/a", nil, 302},
		{"with a code", "http://example.com/a", "/a", []int{http.StatusSeeOther}, 303},
		{"other host", "http://evil.example/a", "/", nil, 302},
		{"other port", "http://example.com:8080/a", "/", nil, 302},
		{"userinfo trick", "http://example.com@evil.example/a", "/", nil, 302},
		{"no referer", "", "/", nil, 302},
		{"relative referer", "/a", "/", nil, 302},
		{"scheme-relative path on our host", "http://example.com//evil.example/a", "/", nil, 302},
		{"backslash path on our host", "http://example.com/%5Cevil.example", "/", nil, 302},
		{"javascript", "javascript:alert(1)", "/", nil, 302},
		{"not a URL", "http://[::1", "/", nil, 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			if tt.code != nil {
				s.BindHandler("/back", func(r *baton.Request) { r.Response.RedirectBack(tt.code...) })
			} else {
				s.BindHandler("/back", back)
			}
			var hdr []string
			if tt.referer != "" {
				hdr = []string{"Referer", tt.referer}
			}
			rec := serve(t, s, "GET", "http://example.com/back", nil, hdr...)
			if rec.Code != tt.wantCode || rec.Header().Get("Location") != tt.location {
				t.Errorf("RedirectBack(Referer %q) = %d %q, want %d %q", tt.referer, rec.Code, rec.Header().Get("Location"), tt.wantCode, tt.location)
			}
		})
	}
}
