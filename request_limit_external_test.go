package baton_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/baton-go/baton"
)

// formKeys returns a url-encoded form of n keys, k0=v0&k1=v1...
func formKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "k%d=v%d", i, i)
	}
	return b.String()
}

// multipartParts returns a multipart form of n fields k0..k(n-1), and a
// field "pad" of pad bytes if pad > 0, and its content type.
func multipartParts(t *testing.T, n, pad int) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := range n {
		if err := mw.WriteField("k"+strconv.Itoa(i), "v"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if pad > 0 {
		if err := mw.WriteField("pad", strings.Repeat("x", pad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), mw.FormDataContentType()
}

// onlyReader hides the length of a body, so that the client sends it
// chunked.
type onlyReader struct{ io.Reader }

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
	testMax  = 1 << 20
)

// TestGettersBodyOverLimit checks that a getter that meets a body it
// cannot read whole ends the request with 413 or 400 and a reason, and
// that the handler does not go on as if the value were missing.
func TestGettersBodyOverLimit(t *testing.T) {
	s := newServer(t)
	s.SetMaxBodySize(testMax)
	var after atomic.Int64 // requests whose handler went past the getter
	getter := func(r *baton.Request) string {
		switch r.Param("getter") {
		case "get":
			return r.Get("k0")
		case "int":
			return strconv.Itoa(r.GetInt("n", -1))
		case "bool":
			return strconv.FormatBool(r.GetBool("b"))
		case "query":
			return r.Query("k0")
		}
		panic("unknown getter " + r.Param("getter"))
	}
	s.BindHandler("/g/{getter}", func(r *baton.Request) {
		v := getter(r)
		after.Add(1)
		r.Response.Write(v)
	})
	// A middleware that reads a value first: the handler after it must not
	// run either.
	s.Group("/mw", func(g *baton.RouterGroup) {
		g.Use(func(r *baton.Request) {
			if r.Get("token") == "" {
				r.Response.Write("no token ")
			}
			r.Middleware.Next()
		})
		g.BindHandler("/x", func(r *baton.Request) {
			after.Add(1)
			r.Response.Write("handler")
		})
	})

	bigForm := "k0=v0&pad=" + strings.Repeat("x", testMax)
	mpOver, mpOverType := multipartParts(t, 1001, 0)
	mpUnder, mpUnderType := multipartParts(t, 1000, 0)
	mpBig, mpBigType := multipartParts(t, 1, testMax)
	tests := []struct {
		name    string
		target  string
		body    string
		ctype   string
		chunked bool
		code    int
		want    string // in the body
		ran     bool   // the handler went past the getter
	}{
		{name: "chunked form over the limit", target: "/g/get", body: bigForm, ctype: formType, chunked: true,
			code: 413, want: fmt.Sprintf("request body larger than %d bytes", testMax)},
		{name: "chunked form over the limit, GetInt", target: "/g/int", body: bigForm, ctype: formType, chunked: true,
			code: 413, want: "request body larger than"},
		{name: "chunked form over the limit, GetBool", target: "/g/bool", body: bigForm, ctype: formType, chunked: true,
			code: 413, want: "request body larger than"},
		{name: "chunked form over the limit, middleware", target: "/mw/x", body: bigForm, ctype: formType, chunked: true,
			code: 413, want: "request body larger than"},
		{name: "chunked json over the limit", target: "/g/get", body: `{"k0":"` + strings.Repeat("x", testMax) + `"}`, ctype: jsonType, chunked: true,
			code: 413, want: "request body larger than"},
		{name: "chunked multipart over the limit", target: "/g/get", body: mpBig, ctype: mpBigType, chunked: true,
			code: 413, want: "request body larger than"},
		{name: "content-length over the limit", target: "/g/get", body: bigForm, ctype: formType,
			code: 413, want: "Request Entity Too Large"},
		{name: "10001 form keys", target: "/g/get", body: formKeys(10001), ctype: formType,
			code: 400, want: "form has too many keys"},
		{name: "10001 form keys, middleware", target: "/mw/x", body: formKeys(10001), ctype: formType,
			code: 400, want: "form has too many keys"},
		{name: "1001 multipart parts", target: "/g/get", body: mpOver, ctype: mpOverType,
			code: 400, want: "multipart form"},
		{name: "malformed form", target: "/g/get", body: "k0=%zz", ctype: formType,
			code: 400, want: "malformed form"},
		{name: "malformed json", target: "/g/get", body: `{"k0": `, ctype: jsonType,
			code: 400, want: "malformed JSON"},
		{name: "10001 query keys, Query", target: "/g/query?" + formKeys(10001),
			code: 400, want: "query string has too many keys"},
		{name: "10001 query keys, Get", target: "/g/get?" + formKeys(10001), body: "k0=body", ctype: formType,
			code: 400, want: "query string has too many keys"},

		{name: "chunked form just under the limit", target: "/g/get", body: "k0=v0&pad=" + strings.Repeat("x", testMax-len("k0=v0&pad=")), ctype: formType, chunked: true,
			code: 200, want: "v0", ran: true},
		{name: "json just under the limit", target: "/g/get", body: `{"k0":"v0","pad":"` + strings.Repeat("x", testMax-len(`{"k0":"v0","pad":""}`)) + `"}`, ctype: jsonType,
			code: 200, want: "v0", ran: true},
		{name: "10000 form keys", target: "/g/get", body: formKeys(10000), ctype: formType,
			code: 200, want: "v0", ran: true},
		{name: "10000 form keys, GetInt default", target: "/g/int", body: formKeys(10000), ctype: formType,
			code: 200, want: "-1", ran: true},
		{name: "1000 multipart parts", target: "/g/get", body: mpUnder, ctype: mpUnderType,
			code: 200, want: "v0", ran: true},
		{name: "10000 query keys", target: "/g/query?" + formKeys(10000),
			code: 200, want: "v0", ran: true},
		{name: "middleware, small body", target: "/mw/x", body: "token=t", ctype: formType,
			code: 200, want: "handler", ran: true},
		{name: "malformed query stays lenient", target: "/g/get?q=100%", body: "k0=body", ctype: formType,
			code: 200, want: "body", ran: true},
		{name: "json array has no keys", target: "/g/get", body: `[1, 2]`, ctype: jsonType,
			code: 200, want: "", ran: true},
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = onlyReader{body}
			}
			method := "POST"
			if tt.body == "" {
				method = "GET"
			}
			req, err := http.NewRequest(method, ts.URL+tt.target, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			before := after.Load()
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code || !strings.Contains(string(got), tt.want) {
				t.Errorf("%s %s = %d %q, want %d containing %q", method, tt.name, resp.StatusCode, got, tt.code, tt.want)
			}
			if tt.code != 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("%s: Content-Type %q, want text/plain", tt.name, resp.Header.Get("Content-Type"))
			}
			if ran := after.Load() != before; ran != tt.ran {
				t.Errorf("%s: the handler went past the getter: %v, want %v", tt.name, ran, tt.ran)
			}
		})
	}
}
