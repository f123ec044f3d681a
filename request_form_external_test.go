package baton_test

import (
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// TestFormBodyEveryMethod checks that a url-encoded body is read whatever
// the method: net/http's ParseForm reads it only for POST, PUT and PATCH.
func TestFormBodyEveryMethod(t *testing.T) {
	s := newServer(t)
	s.BindHandler("/f", func(r *baton.Request) {
		r.Response.Writef("id=%s form=%s", r.Get("id"), r.Request.PostFormValue("id"))
	})
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		t.Run(method, func(t *testing.T) {
			rec := serve(t, s, method, "/f", strings.NewReader("id=7"), "Content-Type", formType+"; charset=utf-8")
			if got, want := rec.Body.String(), "id=7 form=7"; got != want {
				t.Errorf("%s /f with body id=7 = %d %q, want %q", method, rec.Code, got, want)
			}
		})
	}
}

// TestBracketKeys checks that a[]=1&a[]=2 reads as a list and m[k]=v as
// a map, in the query string and in forms, through Get and Parse.
func TestBracketKeys(t *testing.T) {
	type target struct {
		A []int           `json:"a"`
		M map[string]int  `json:"m"`
		S map[string]bool `json:"s"`
		N string          `json:"n"`
	}
	s := newServer(t)
	s.BindHandler("/get", func(r *baton.Request) {
		r.Response.Writef("a=%s m=%s n=%s", r.Get("a"), r.Get("m"), r.Get("n"))
	})
	s.BindHandler("/parse", func(r *baton.Request) {
		var v target
		if err := r.Parse(&v); err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Response.Writef("%v %v %v %q", v.A, v.M, v.S, v.N)
	})
	tests := []struct {
		name   string
		method string
		target string
		body   string
		code   int
		want   string
	}{
		{name: "get list from query", method: "GET", target: "/get?a[]=1&a[]=2&n=x",
			want: `a=["1","2"] m= n=x`},
		{name: "get map from query", method: "GET", target: "/get?m[x]=1&m[y]=2",
			want: `a= m={"x":"1","y":"2"} n=`},
		{name: "get escaped brackets", method: "GET", target: "/get?a%5B%5D=1&m%5Bk%5D=v",
			want: `a=["1"] m={"k":"v"} n=`},
		{name: "get nested map", method: "GET", target: "/get?m[x][y]=1",
			want: `a= m={"x":{"y":"1"}} n=`},
		{name: "get list from form", method: "POST", target: "/get", body: "a[]=1&a[]=2&m[k]=v",
			want: `a=["1","2"] m={"k":"v"} n=`},
		{name: "get list from DELETE form", method: "DELETE", target: "/get", body: "a[]=3",
			want: `a=["3"] m= n=`},
		{name: "query list wins over form list", method: "POST", target: "/get?a[]=q", body: "a[]=f",
			want: `a=["q"] m= n=`},
		{name: "malformed brackets stay literal", method: "GET", target: "/get?a[=1&m]x[=2&n[]x=3",
			want: `a= m= n=`},
		{name: "parse query", method: "GET", target: "/parse?a[]=1&a[]=2&m[x]=3&s[on]=true&n=z",
			want: `[1 2] map[x:3] map[on:true] "z"`},
		{name: "parse form", method: "POST", target: "/parse", body: "a[]=4&m[y]=5",
			want: `[4] map[y:5] map[] ""`},
		{name: "parse DELETE form", method: "DELETE", target: "/parse", body: "a[]=6&n=d",
			want: `[6] map[] map[] "d"`},
		{name: "parse plain repeated keys", method: "GET", target: "/parse?a=7&a=8",
			want: `[7 8] map[] map[] ""`},
		{name: "parse bad list element", method: "GET", target: "/parse?a[]=1&a[]=x",
			code: 400, want: `field "a": "x" is not an integer`},
		{name: "parse bad map value", method: "GET", target: "/parse?m[k]=x",
			code: 400, want: `field "m": key "k": "x" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.body != "" {
				h = []string{"Content-Type", formType}
			}
			rec := serve(t, s, tt.method, tt.target, strings.NewReader(tt.body), h...)
			code := tt.code
			if code == 0 {
				code = 200
			}
			if rec.Code != code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("%s %s %q = %d %q, want %d %q", tt.method, tt.target, tt.body, rec.Code, rec.Body, code, tt.want)
			}
		})
	}
}
