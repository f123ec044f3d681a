package baton_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/baton-go/baton"
)

// getterRow is a request served by a handler that answers what a getter
// returned.
type getterRow struct {
	name   string
	method string // GET if empty
	target string // under /x/{id}
	body   string
	ctype  string
	header []string
	h      func(r *baton.Request) string
	code   int // 200 if zero
	want   string
}

// runGetterRows serves each row on a fresh route /x/{id} of a server
// whose body limit is testMax, and checks the status and body.
func runGetterRows(t *testing.T, tests []getterRow) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.SetMaxBodySize(testMax)
			reached := false
			s.BindHandler("/x/{id}", func(r *baton.Request) {
				out := tt.h(r)
				reached = true
				r.Response.Write(out)
			})
			method := tt.method
			if method == "" {
				method = "GET"
			}
			var body io.Reader = strings.NewReader(tt.body)
			if strings.HasPrefix(tt.name, "chunked") {
				body = onlyReader{body}
			}
			h := tt.header
			if tt.ctype != "" {
				h = append([]string{"Content-Type", tt.ctype}, h...)
			}
			rec := serve(t, s, method, tt.target, body, h...)
			code := tt.code
			if code == 0 {
				code = http.StatusOK
			}
			got := rec.Body.String()
			if rec.Code != code || (code == 200 && got != tt.want) || (code != 200 && !strings.Contains(got, tt.want)) {
				t.Errorf("%s %s %q = %d %q, want %d %q", method, tt.target, tt.body, rec.Code, got, code, tt.want)
			}
			if reached != (code == 200) {
				t.Errorf("%s: the handler went past the getter: %v, want %v", tt.name, reached, code == 200)
			}
		})
	}
}

// words is fmt.Sprintln without the newline: operands always spaced.
func words(a ...any) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

// sortedMap renders a map with its keys in order.
func sortedMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s=%s ", k, v)
	}
	return strings.TrimSpace(b.String())
}

func TestGetDefaultAndVar(t *testing.T) {
	runGetterRows(t, []getterRow{
		{name: "GetRequest is GetVar, with its default", target: "/x/1?size=5",
			h: func(r *baton.Request) string {
				return words(r.GetRequest("size", 10).Int(), r.GetRequest("page", 1).Int(), r.GetRequest("id").String())
			}, want: "5 1 1"},
		{name: "GetRequestMap is GetMap", target: "/x/1?a=1",
			h: func(r *baton.Request) string { return sortedMap(r.GetRequestMap(map[string]any{"a": 0, "b": 2})) }, want: `a="1" b=2`},
		{name: "Get without default, missing", target: "/x/1",
			h: func(r *baton.Request) string { return fmt.Sprintf("%q", r.Get("page")) }, want: `""`},
		{name: "Get default when missing", target: "/x/1",
			h: func(r *baton.Request) string { return r.Get("page", 1) }, want: "1"},
		{name: "Get default ignored when present", target: "/x/1?page=3",
			h: func(r *baton.Request) string { return r.Get("page", 1) }, want: "3"},
		{name: "Get default kept for an empty value", target: "/x/1?page=",
			h: func(r *baton.Request) string { return fmt.Sprintf("%q", r.Get("page", "d")) }, want: `""`},
		{name: "GetVar typed default", target: "/x/1",
			h: func(r *baton.Request) string { return words(r.GetVar("page", 1).Int() + 1) }, want: "2"},
		{name: "GetVar missing is nil", target: "/x/1",
			h: func(r *baton.Request) string { v := r.GetVar("page"); return words(v.IsNil(), v.Int(), v.String()) }, want: "true 0 "},
		{name: "GetVar query Int", target: "/x/1?page=7",
			h: func(r *baton.Request) string { return words(r.GetVar("page").Int()) }, want: "7"},
		{name: "GetVar path cannot be overridden by the query", target: "/x/path?id=query",
			h: func(r *baton.Request) string { return r.GetVar("id").String() + " " + r.Get("id") }, want: "path path"},
		{name: "GetVar query over form", method: "POST", target: "/x/1?a=q", body: "a=f", ctype: formType,
			h: func(r *baton.Request) string { return r.GetVar("a").String() }, want: "q"},
		{name: "GetVar json number and bool", method: "POST", target: "/x/1", body: `{"n": 4.5, "b": true, "l": [1, 2]}`, ctype: jsonType,
			h: func(r *baton.Request) string {
				return words(r.GetVar("n").Float64(), r.GetVar("n").Int(), r.GetVar("b").Bool(), r.GetVar("l").Ints(), r.Get("l"))
			}, want: "4.5 4 true [1 2] [1,2]"},
		{name: "GetVar bracket list", target: "/x/1?a[]=1&a[]=2",
			h: func(r *baton.Request) string { return words(r.GetVar("a").Ints(), r.GetVar("a").Strings()) }, want: "[1 2] [1 2]"},
		{name: "GetVar bracket map", target: "/x/1?m[k]=v",
			h: func(r *baton.Request) string { return sortedMap(r.GetVar("m").Map()) }, want: `k="v"`},
		{name: "GetVar Scan", target: "/x/1?n=12",
			h: func(r *baton.Request) string {
				var n int64
				err := r.GetVar("n").Scan(&n)
				return words(n, err)
			}, want: "12 <nil>"},
		{name: "SetParam wins over path", target: "/x/path",
			h: func(r *baton.Request) string { r.SetParam("id", 5); return r.Get("id") + " " + r.Param("id") }, want: "5 path"},
		{name: "GetParam reads SetParam only", target: "/x/1?k=query",
			h: func(r *baton.Request) string {
				r.SetParam("user", "ann")
				return words(r.GetParam("user").String(), r.GetParam("k").IsNil(), r.GetParam("k", "d").String())
			}, want: "ann true d"},
		{name: "GetInt and GetBool unchanged", target: "/x/1?n=x&b=on",
			h: func(r *baton.Request) string { return words(r.GetInt("n", -1), r.GetBool("b")) }, want: "-1 true"},
	})
}

func TestGetQueryFormMap(t *testing.T) {
	runGetterRows(t, []getterRow{
		{name: "GetQuery", target: "/x/1?a=1&a=2",
			h: func(r *baton.Request) string { return r.GetQuery("a").String() }, want: "1"},
		{name: "GetQuery default", target: "/x/1",
			h: func(r *baton.Request) string { return r.GetQuery("a", "d").String() }, want: "d"},
		{name: "GetQuery ignores path and body", method: "POST", target: "/x/1", body: "id=f", ctype: formType,
			h: func(r *baton.Request) string { return words(r.GetQuery("id").IsNil()) }, want: "true"},
		{name: "GetQueryMap", target: "/x/1?a=1&b[]=2&c[k]=3",
			h: func(r *baton.Request) string { return sortedMap(r.GetQueryMap()) }, want: `a="1" b=["2"] c={"k":"3"}`},
		{name: "GetQueryMap filtered", target: "/x/1?a=1&b=2",
			h: func(r *baton.Request) string {
				return sortedMap(r.GetQueryMap(map[string]any{"a": "da", "z": "dz"}))
			}, want: `a="1" z="dz"`},
		{name: "GetForm", method: "POST", target: "/x/1?a=q", body: "a=f", ctype: formType,
			h: func(r *baton.Request) string { return r.GetForm("a").String() }, want: "f"},
		{name: "GetForm DELETE", method: "DELETE", target: "/x/1", body: "a=del", ctype: formType,
			h: func(r *baton.Request) string { return r.GetForm("a").String() }, want: "del"},
		{name: "GetForm JSON", method: "PUT", target: "/x/1", body: `{"a": 3}`, ctype: jsonType,
			h: func(r *baton.Request) string { return words(r.GetForm("a").Int()) }, want: "3"},
		{name: "GetForm default", method: "POST", target: "/x/1", body: "b=1", ctype: formType,
			h: func(r *baton.Request) string { return r.GetForm("a", 9).String() }, want: "9"},
		{name: "GetFormMap", method: "PATCH", target: "/x/1?q=1", body: "a=1&l[]=x&l[]=y", ctype: formType,
			h: func(r *baton.Request) string { return sortedMap(r.GetFormMap()) }, want: `a="1" l=["x","y"]`},
		{name: "GetMap precedence", method: "POST", target: "/x/path?id=q&a=q&b=q", body: "id=f&a=f&c=f", ctype: formType,
			h:    func(r *baton.Request) string { r.SetParam("b", "set"); return sortedMap(r.GetMap()) },
			want: `a="q" b="set" c="f" id="path"`},
		{name: "GetMap filtered", target: "/x/1?a=1",
			h: func(r *baton.Request) string { return sortedMap(r.GetMap(map[string]any{"a": 0, "b": 2})) }, want: `a="1" b=2`},
		{name: "GetHeader", target: "/x/1", header: []string{"X-Token", "t"},
			h: func(r *baton.Request) string {
				return r.GetHeader("x-token") + "," + r.GetHeader("X-None", "d") + "," + r.GetHeader("X-None")
			},
			want: "t,d,"},
	})
}

func TestGetStructJsonBody(t *testing.T) {
	type in struct {
		ID    int               `json:"id"`
		Page  int               `p:"page" json:"pageNum"`
		Tags  []string          `json:"tags"`
		Attrs map[string]string `json:"attrs"`
		User  string            `json:"user"`
	}
	show := func(r *baton.Request) string {
		var v in
		if err := r.GetStruct(&v); err != nil {
			r.Response.WriteError(err)
			r.Exit()
		}
		return fmt.Sprintf("%+v", v)
	}
	runGetterRows(t, []getterRow{
		{name: "GetStruct from query and path", target: "/x/3?page=2&tags[]=a&tags[]=b&attrs[k]=v",
			h: show, want: "{ID:3 Page:2 Tags:[a b] Attrs:map[k:v] User:}"},
		{name: "GetStruct p tag in JSON", method: "POST", target: "/x/3", body: `{"page": 4, "tags": ["j"]}`, ctype: jsonType,
			h: show, want: "{ID:3 Page:4 Tags:[j] Attrs:map[] User:}"},
		{name: "GetStruct SetParam last", target: "/x/3?user=client",
			h:    func(r *baton.Request) string { r.SetParam("user", "server"); return show(r) },
			want: "{ID:3 Page:0 Tags:[] Attrs:map[] User:server}"},
		{name: "GetStruct field error as Parse", target: "/x/3?page=x",
			h: show, code: 400, want: `field "page": "x" is not an integer`},
		{name: "GetStruct malformed JSON", method: "POST", target: "/x/3", body: `{"page": `, ctype: jsonType,
			h: show, code: 400, want: "malformed JSON"},
		{name: "GetJson object", method: "POST", target: "/x/1", body: `{"a": {"b": 1}}`, ctype: "text/plain",
			h: func(r *baton.Request) string {
				v, err := r.GetJson()
				return words(sortedMap(v.Map()), err)
			}, want: `a={"b":1} <nil>`},
		{name: "GetJson array", method: "POST", target: "/x/1", body: `[1, "x"]`, ctype: jsonType,
			h: func(r *baton.Request) string {
				v, err := r.GetJson()
				return words(v.Strings(), err)
			}, want: "[1 x] <nil>"},
		{name: "GetJson empty", method: "POST", target: "/x/1", body: ` `,
			h: func(r *baton.Request) string {
				v, err := r.GetJson()
				return words(v.IsNil(), err)
			}, want: "true <nil>"},
		{name: "GetJson malformed", method: "POST", target: "/x/1", body: `{"a": 1} x`,
			h: func(r *baton.Request) string {
				_, err := r.GetJson()
				var he *baton.HTTPError
				return words(errors.As(err, &he) && he.Status == 400, err != nil)
			}, want: "true true"},
		{name: "GetBody twice, then Get", method: "POST", target: "/x/1", body: "a=1&b=2", ctype: formType,
			h:    func(r *baton.Request) string { return string(r.GetBody()) + "|" + r.GetBodyString() + "|" + r.Get("b") },
			want: "a=1&b=2|a=1&b=2|2"},
		{name: "Get, then GetBody", method: "DELETE", target: "/x/1", body: "a=1", ctype: formType,
			h: func(r *baton.Request) string { return r.Get("a") + "|" + r.GetBodyString() }, want: "1|a=1"},
		{name: "GetBody then JSON Get", method: "POST", target: "/x/1", body: `{"a":"j"}`, ctype: jsonType,
			h: func(r *baton.Request) string { return r.GetBodyString() + "|" + r.Get("a") }, want: `{"a":"j"}|j`},
		{name: "GetBody of another type, after Get", method: "POST", target: "/x/1", body: "raw text", ctype: "text/plain",
			h: func(r *baton.Request) string { return r.Get("a") + "|" + r.GetBodyString() }, want: "|raw text"},
		{name: "GetBody no body", target: "/x/1",
			h: func(r *baton.Request) string { return words(r.GetBody() == nil) }, want: "true"},
	})
}

type ctxKey struct{}

func TestCtxVar(t *testing.T) {
	s := newServer(t)
	s.Use(func(r *baton.Request) {
		r.SetCtxVar(ctxKey{}, "mw")
		r.SetCtxVar("name", 42)
		r.Middleware.Next()
	})
	s.BindHandler("/c", func(r *baton.Request) {
		ctx := r.Context()
		r.Response.Writef("%s %d %v %s %v", r.GetCtxVar(ctxKey{}).String(), r.GetCtxVar("name").Int(),
			r.GetCtxVar("none").IsNil(), r.GetCtxVar("none", "d").String(), ctx.Value(ctxKey{}))
	})
	parent := context.WithValue(context.Background(), "outer", "o")
	for i := range 2 { // the second time on a recycled Request
		req := httptest.NewRequest("GET", "/c", nil).WithContext(parent)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if got, want := rec.Body.String(), "mw 42 true d mw"; got != want {
			t.Errorf("request %d: GET /c = %q, want %q", i, got, want)
		}
		if req.Context().Value(ctxKey{}) != nil {
			t.Errorf("SetCtxVar changed the caller's request context")
		}
	}
}

// TestBodyGettersLimits checks that every body getter ends the request
// with 413 or 400 on a body it cannot read, and the handler stops.
func TestBodyGettersLimits(t *testing.T) {
	big := "a=" + strings.Repeat("x", testMax)
	bigJSON := `{"a":"` + strings.Repeat("x", testMax) + `"}`
	getters := []struct {
		name string
		h    func(r *baton.Request) string
	}{
		{"Get default", func(r *baton.Request) string { return r.Get("a", "d") }},
		{"GetVar", func(r *baton.Request) string { return r.GetVar("a").String() }},
		{"GetForm", func(r *baton.Request) string { return r.GetForm("a").String() }},
		{"GetFormMap", func(r *baton.Request) string { return sortedMap(r.GetFormMap()) }},
		{"GetMap", func(r *baton.Request) string { return sortedMap(r.GetMap()) }},
		{"GetBody", func(r *baton.Request) string { return string(r.GetBody()) }},
		{"GetBodyString", func(r *baton.Request) string { return r.GetBodyString() }},
		{"GetJson", func(r *baton.Request) string { v, _ := r.GetJson(); return v.String() }},
		{"GetUploadFile", func(r *baton.Request) string { return words(r.GetUploadFile("f") == nil) }},
	}
	var rows []getterRow
	for _, g := range getters {
		rows = append(rows,
			getterRow{name: "chunked form over the limit, " + g.name, method: "POST", target: "/x/1", body: big, ctype: formType,
				h: g.h, code: 413, want: fmt.Sprintf("request body larger than %d bytes", testMax)},
			getterRow{name: "chunked JSON over the limit, " + g.name, method: "DELETE", target: "/x/1", body: bigJSON, ctype: jsonType,
				h: g.h, code: 413, want: "request body larger than"},
			getterRow{name: "declared length over the limit, " + g.name, method: "PUT", target: "/x/1", body: big, ctype: formType,
				h: g.h, code: 413, want: "Request Entity Too Large"})
		if g.name != "GetBody" && g.name != "GetBodyString" && g.name != "GetJson" && g.name != "GetUploadFile" {
			rows = append(rows,
				getterRow{name: "malformed form, " + g.name, method: "DELETE", target: "/x/1", body: "a=%zz", ctype: formType,
					h: g.h, code: 400, want: "malformed form"},
				getterRow{name: "malformed JSON, " + g.name, method: "POST", target: "/x/1", body: `{"a": `, ctype: jsonType,
					h: g.h, code: 400, want: "malformed JSON"},
				getterRow{name: "10001 form keys, " + g.name, method: "PATCH", target: "/x/1", body: formKeys(10001), ctype: formType,
					h: g.h, code: 400, want: "form has too many keys"})
		}
	}
	mpOver, mpOverType := multipartParts(t, 1001, 0)
	rows = append(rows,
		getterRow{name: "1001 multipart parts, GetUploadFiles", method: "POST", target: "/x/1", body: mpOver, ctype: mpOverType,
			h: func(r *baton.Request) string { return words(len(r.GetUploadFiles("f"))) }, code: 400, want: "multipart form"},
		getterRow{name: "10001 query keys, GetQuery", target: "/x/1?" + formKeys(10001),
			h: func(r *baton.Request) string { return r.GetQuery("k0").String() }, code: 400, want: "query string has too many keys"},
		getterRow{name: "10001 query keys, GetQueryMap", target: "/x/1?" + formKeys(10001),
			h: func(r *baton.Request) string { return words(len(r.GetQueryMap())) }, code: 400, want: "query string has too many keys"},
		getterRow{name: "10000 form keys, GetFormMap", method: "DELETE", target: "/x/1", body: formKeys(10000), ctype: formType,
			h: func(r *baton.Request) string { return words(len(r.GetFormMap())) }, want: "10000"},
	)
	runGetterRows(t, rows)
}

// TestFormBodyNoServerLimit checks that a url-encoded body stays bounded
// (10 MB, as net/http's ParseForm bounds it) when the server sets no body
// limit.
func TestFormBodyNoServerLimit(t *testing.T) {
	s := newServer(t)
	s.SetMaxBodySize(-1)
	s.BindHandler("/f", func(r *baton.Request) { r.Response.Write(r.GetForm("a").String()) })
	tests := []struct {
		name string
		size int
		code int
		want string
	}{
		{name: "under 10 MB", size: 10<<20 - 2, code: 200, want: "x"},
		{name: "over 10 MB", size: 10 << 20, code: 413, want: "form body larger than 10485760 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := onlyReader{strings.NewReader("a=" + strings.Repeat("x", tt.size))}
			rec := serve(t, s, "DELETE", "/f", body, "Content-Type", formType)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("DELETE /f with a %d-byte form = %d %.80q, want %d %q", tt.size+2, rec.Code, rec.Body.String(), tt.code, tt.want)
			}
		})
	}
}

// multipartFiles returns a multipart form of the given files of field
// "f" (file name -> content) and a field "k", and its content type.
func multipartFiles(t *testing.T, files ...[2]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		h := make(textproto.MIMEHeader)
		// Written by hand: CreateFormFile would escape the name.
		h.Set("Content-Disposition", `form-data; name="f"; filename="`+f[0]+`"`)
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f[1])
	}
	if err := mw.WriteField("k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), mw.FormDataContentType()
}

func TestUploadFiles(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir() // dir's sibling, where a traversal would land
	dir = filepath.Join(root, "up")
	save := func(random bool) func(r *baton.Request) string {
		return func(r *baton.Request) string {
			f := r.GetUploadFile("f")
			if f == nil {
				return "no file"
			}
			name, err := f.Save(dir, random)
			if err != nil {
				return fmt.Sprintf("error %v, ErrUploadFileName %v", err, errors.Is(err, baton.ErrUploadFileName))
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if random {
				name = fmt.Sprintf("random %d%s", len(name), filepath.Ext(name))
			}
			return fmt.Sprintf("%s %q %v %s", name, data, err, r.Get("k"))
		}
	}
	one, oneType := multipartFiles(t, [2]string{"a.txt", "hello"})
	two, twoType := multipartFiles(t, [2]string{"a.txt", "1"}, [2]string{"b.txt", "22"})
	rows := []getterRow{
		{name: "save", method: "POST", target: "/x/1", body: one, ctype: oneType, h: save(false), want: `a.txt "hello" <nil> v`},
		{name: "save random name", method: "POST", target: "/x/1", body: one, ctype: oneType, h: save(true), want: `random 28.txt "hello" <nil> v`},
		{name: "save on DELETE", method: "DELETE", target: "/x/1", body: one, ctype: oneType, h: save(false), want: `a.txt "hello" <nil> v`},
		{name: "two files", method: "POST", target: "/x/1", body: two, ctype: twoType,
			h: func(r *baton.Request) string {
				fs := r.GetUploadFiles("f")
				names, err := fs.Save(dir)
				return words(len(fs), names, fs[1].Size, err)
			}, want: "2 [a.txt b.txt] 2 <nil>"},
		{name: "missing field", method: "POST", target: "/x/1", body: one, ctype: oneType,
			h: func(r *baton.Request) string {
				_, err := r.GetUploadFiles("none").Save(dir)
				_, err1 := r.GetUploadFile("none").Save(dir)
				return words(r.GetUploadFile("none") == nil, err != nil, err1 != nil)
			}, want: "true true true"},
		{name: "not multipart", method: "POST", target: "/x/1", body: "f=x", ctype: formType,
			h: func(r *baton.Request) string { return words(r.GetUploadFiles("f") == nil) }, want: "true"},
		{name: "GetBody first keeps the form", method: "POST", target: "/x/1", body: one, ctype: oneType,
			h: func(r *baton.Request) string {
				n := len(r.GetBody())
				return words(n == len(one), r.GetUploadFile("f").Filename, r.Get("k"))
			}, want: "true a.txt v"},
		{name: "upload after SetCtxVar", method: "POST", target: "/x/1", body: one, ctype: oneType,
			h: func(r *baton.Request) string { r.SetCtxVar(ctxKey{}, 1); return save(false)(r) }, want: `a.txt "hello" <nil> v`},
	}
	// These reach Save as sent: a name with "..", a drive, a backslash.
	for _, bad := range []string{"..", "...", "a..b", "C:x", `..\..\evil.txt`, `a\b`} {
		body, ctype := multipartFiles(t, [2]string{bad, "evil"})
		rows = append(rows, getterRow{name: "refuse " + bad, method: "POST", target: "/x/1", body: body, ctype: ctype,
			h: save(false), want: fmt.Sprintf("error baton: unsafe upload file name: %q, ErrUploadFileName true", bad)})
	}
	// mime/multipart keeps only the last element of a slashed name: the
	// file lands in dir.
	for _, sent := range []string{"../../evil.txt", "/etc/evil.txt", "sub/evil.txt"} {
		body, ctype := multipartFiles(t, [2]string{sent, "evil"})
		rows = append(rows, getterRow{name: "strip " + sent, method: "POST", target: "/x/1", body: body, ctype: ctype,
			h: save(false), want: `evil.txt "evil" <nil> v`})
	}
	runGetterRows(t, rows)
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Dir(p) != dir {
			t.Errorf("a file was written outside %s: %s", dir, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUploadFileNames checks Save's refusal of unsafe names on a file
// header made by hand, as a handler could pass it one.
func TestUploadFileNames(t *testing.T) {
	dir := t.TempDir()
	body, ctype := multipartFiles(t, [2]string{"ok.txt", "data"})
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	fh := req.MultipartForm.File["f"][0]
	tests := []struct {
		name string
		ok   bool
	}{
		{"ok.txt", true}, {".hidden", true}, {"../x", false}, {`..\x`, false}, {"/abs", false}, {`C:\x`, false},
		{"a/b", false}, {"", false}, {".", false}, {"..", false}, {"x\x00y", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			h := *fh
			h.Filename = tt.name
			f := &baton.UploadFile{FileHeader: &h}
			name, err := f.Save(dir)
			if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, baton.ErrUploadFileName)) {
				t.Errorf("Save of %q = %q, %v; want ok %v", tt.name, name, err, tt.ok)
			}
		})
	}
}
