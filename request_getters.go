package baton

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The GoFrame-style getters: typed values (Var), one source at a time
// (GetQuery, GetForm, GetParam, GetCtxVar, GetHeader), all of them merged
// (GetMap, GetStruct), the raw body (GetBody, GetJson) and bracketed keys
// (a[]=1&a[]=2 as a list, m[k]=v as a map). A request that calls none of
// them pays nothing: their state hangs off one pointer, r.x, allocated at
// the first SetParam or bracketed query.

// requestExtra is the state of a request that only these getters use.
type requestExtra struct {
	params   map[string]any // SetParam
	queryMap map[string]any // the query string with bracketed keys nested
	orig     *http.Request  // the request net/http made, before SetCtxVar
}

func (r *Request) extra() *requestExtra {
	if r.x == nil {
		r.x = new(requestExtra)
	}
	return r.x
}

// GetVar returns the value of key as a *Var, from the sources Get reads
// in the same order (SetParam, path, query, body), or def[0] if none has
// it, or a Var holding nil. Values keep their type: a JSON number is a
// json.Number, a bracketed list a []any of strings. It is GoFrame's
// r.Get, which returns a *gvar.Var; baton's Get returns a string.
//
// A source it cannot read whole ends the request, as for Get.
func (r *Request) GetVar(key string, def ...any) *Var {
	if v, ok := r.lookup(key); ok {
		return &Var{v: v}
	}
	return defVar(def)
}

// GetRequest is GetVar under GoFrame's other name for it, so that
// r.GetRequest("page", 1).Int() reads the same in both.
func (r *Request) GetRequest(key string, def ...any) *Var { return r.GetVar(key, def...) }

// GetRequestMap is GetMap under GoFrame's other name for it.
func (r *Request) GetRequestMap(kvMap ...map[string]any) map[string]any { return r.GetMap(kvMap...) }

func defVar(def []any) *Var {
	if len(def) > 0 {
		return &Var{v: def[0]}
	}
	return &Var{}
}

// GetQuery returns the query-string value of key as a *Var, or def[0],
// or a Var holding nil. Of a key given more than once it returns the
// first value, as Query does (GoFrame keeps the last); key[]= values make
// a list and key[k]= values a map. A query string of more than 10,000
// keys ends the request with 400, as for Get.
func (r *Request) GetQuery(key string, def ...any) *Var {
	if r.URL.RawQuery != "" {
		if v, ok := r.queryValue(key); ok {
			return &Var{v: v}
		}
	}
	return defVar(def)
}

// GetQueryMap returns the query string as a map: each key's first value,
// bracketed keys nested. With kvMap, only the keys of kvMap are returned,
// a key the query lacks with kvMap's value for it, as GoFrame does. The
// map is the caller's to change.
func (r *Request) GetQueryMap(kvMap ...map[string]any) map[string]any {
	m := map[string]any{}
	if r.URL.RawQuery != "" {
		if err := r.parseQuery(); err != nil {
			r.fail(err)
		}
		for k, v := range r.queryMap() {
			m[k] = v
		}
	}
	return filterMap(m, kvMap)
}

// queryMap returns the query string with its bracketed keys nested,
// computed once. The caller must have called parseQuery.
func (r *Request) queryMap() map[string]any {
	x := r.extra()
	if x.queryMap == nil {
		x.queryMap = formMap(r.query)
	}
	return x.queryMap
}

// GetForm returns the body's value of key as a *Var, or def[0], or a Var
// holding nil: a field of a url-encoded or multipart form (on any method,
// DELETE included), or of a JSON object, as GoFrame's GetForm reads
// both. A body it cannot read whole ends the request, as for Get.
func (r *Request) GetForm(key string, def ...any) *Var {
	if err := r.readBody(); err != nil {
		r.fail(err)
	}
	if v, ok := r.bodyMap()[key]; ok {
		return &Var{v: v}
	}
	return defVar(def)
}

// bodyMap returns the fields of the body read by readBody: the JSON
// object, or the form, made into a map at the first call.
func (r *Request) bodyMap() map[string]any {
	if r.body == nil && len(r.Request.PostForm) > 0 && !r.isJSON() {
		r.body = formMap(r.Request.PostForm)
	}
	return r.body
}

// GetFormMap returns the body's fields (form or JSON object) as a map,
// filtered by kvMap as GetQueryMap is. A body it cannot read whole ends
// the request, as for Get.
func (r *Request) GetFormMap(kvMap ...map[string]any) map[string]any {
	if err := r.readBody(); err != nil {
		r.fail(err)
	}
	body := r.bodyMap()
	m := make(map[string]any, len(body))
	for k, v := range body {
		m[k] = v
	}
	return filterMap(m, kvMap)
}

// GetMap returns every parameter merged into one map, with the precedence
// of Get: SetParam over path over query over body. With kvMap, only its
// keys are returned, a missing one with kvMap's value for it (GoFrame's
// GetRequestMap). Uploaded files are not in it: see GetUploadFiles. A
// source it cannot read whole ends the request, as for Get.
func (r *Request) GetMap(kvMap ...map[string]any) map[string]any {
	m := r.GetFormMap()
	if r.URL.RawQuery != "" {
		if err := r.parseQuery(); err != nil {
			r.fail(err)
		}
		for k, v := range r.queryMap() {
			m[k] = v
		}
	}
	for _, p := range r.params {
		m[p.Key] = p.Value
	}
	if r.x != nil {
		for k, v := range r.x.params {
			m[k] = v
		}
	}
	return filterMap(m, kvMap)
}

func filterMap(m map[string]any, kvMap []map[string]any) map[string]any {
	if len(kvMap) == 0 || kvMap[0] == nil {
		return m
	}
	out := make(map[string]any, len(kvMap[0]))
	for k, def := range kvMap[0] {
		if v, ok := m[k]; ok {
			out[k] = v
		} else {
			out[k] = def
		}
	}
	return out
}

// GetStruct fills the struct pointed to by pointer from the request, as
// Parse does (GoFrame's name): same sources, tags and errors. Parameters
// set by SetParam are applied last.
func (r *Request) GetStruct(pointer any) error {
	if err := r.Parse(pointer); err != nil {
		return err
	}
	if r.x == nil || len(r.x.params) == 0 {
		return nil
	}
	return (&Var{v: r.x.params}).Scan(pointer)
}

// GetBody returns the request body, read whole once; later calls return
// the same bytes, and the getters that parse the body still can. It is
// nil for a request without a body. A body over the size limit
// (ServerConfig.MaxBodySize) ends the request with 413, as for Get.
//
// After a getter parsed a multipart form, the body is gone: GetBody then
// returns nil. Call it first to keep both.
func (r *Request) GetBody() []byte {
	if !r.rawRead && r.Request.MultipartForm != nil {
		return nil // consumed by ParseMultipartForm
	}
	data, err := r.readRaw(true, 0)
	if err != nil {
		r.fail(err)
	}
	return data
}

// GetBodyString returns GetBody as a string.
func (r *Request) GetBodyString() string { return string(r.GetBody()) }

// GetJson decodes the body as JSON, whatever its Content-Type, and returns
// it as a *Var: an object as a map[string]any (Var.Map), an array as a
// []any, numbers as json.Number. An empty body gives a Var holding nil. A
// body that is not JSON returns an *HTTPError of status 400; a body over
// the size limit ends the request with 413, as for Get.
func (r *Request) GetJson() (*Var, error) {
	data := r.GetBody()
	if len(bytes.TrimSpace(data)) == 0 {
		return &Var{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &Var{}, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Var{}, &HTTPError{Status: http.StatusBadRequest, Message: "malformed JSON: data after the value", Err: err}
	}
	return &Var{v: v}, nil
}

// SetParam sets a custom parameter of the request, which the getters
// (Get, GetVar, GetMap, GetStruct, GetParam) read before any other
// source: middleware passes values to handlers this way. It is set by
// the server's code, never by the client.
func (r *Request) SetParam(key string, value any) {
	x := r.extra()
	if x.params == nil {
		x.params = make(map[string]any)
	}
	x.params[key] = value
}

// GetParam returns the custom parameter key that SetParam set, or def[0],
// or a Var holding nil. It reads no client input.
func (r *Request) GetParam(key string, def ...any) *Var {
	if r.x != nil {
		if v, ok := r.x.params[key]; ok {
			return &Var{v: v}
		}
	}
	return defVar(def)
}

// SetCtxVar stores value under key in the request's context, so that
// r.Context().Value(key), in this handler and those after it, returns it.
// A key should be of a type of its own, as context.WithValue advises;
// GoFrame code that uses string keys works as well.
func (r *Request) SetCtxVar(key, value any) {
	if x := r.extra(); x.orig == nil {
		x.orig = r.Request
	}
	r.Request = r.Request.WithContext(context.WithValue(r.Request.Context(), key, value))
}

// GetCtxVar returns the value under key in the request's context (set by
// SetCtxVar, or by any middleware through the context), or def[0], or a
// Var holding nil.
func (r *Request) GetCtxVar(key any, def ...any) *Var {
	if v := r.Request.Context().Value(key); v != nil {
		return &Var{v: v}
	}
	return defVar(def)
}

// GetHeader returns the first value of the request header key, or def[0]
// if the request has none, or "".
func (r *Request) GetHeader(key string, def ...string) string {
	if vs := r.Header.Values(key); len(vs) > 0 {
		return vs[0]
	}
	if len(def) > 0 {
		return def[0]
	}
	return ""
}

// maxBracketDepth bounds the nesting of a bracketed key, a[b][c]...: a
// deeper key is kept as it was sent.
const maxBracketDepth = 32

// hasBracket reports whether a key of vals is in brackets form.
func hasBracket(vals url.Values) bool {
	for k := range vals {
		if i := strings.IndexByte(k, '['); i > 0 && k[len(k)-1] == ']' {
			return true
		}
	}
	return false
}

// hasBracketKey reports whether vals has a key name[...].
func hasBracketKey(vals url.Values, name string) bool {
	for k := range vals {
		if len(k) > len(name)+1 && k[len(name)] == '[' && strings.HasPrefix(k, name) {
			return true
		}
	}
	return false
}

// splitBracket splits a[b][c] into a, b, c, and a[] into a, "". It returns
// nil for a key that is not in brackets form: no bracket, text after a
// bracket, an empty segment anywhere but last, or too deep a nesting.
func splitBracket(k string) []string {
	i := strings.IndexByte(k, '[')
	if i <= 0 || k[len(k)-1] != ']' {
		return nil
	}
	segs := []string{k[:i]}
	rest := k[i:]
	for rest != "" {
		if rest[0] != '[' || len(segs) > maxBracketDepth {
			return nil
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return nil
		}
		seg := rest[1:j]
		if strings.IndexByte(seg, '[') >= 0 {
			return nil
		}
		rest = rest[j+1:]
		if seg == "" && rest != "" {
			return nil
		}
		segs = append(segs, seg)
	}
	return segs
}

// formMap returns vals as a map of each key's first value, except that
// a[]=1&a[]=2 makes the list "a": ["1", "2"] and m[k]=v the map
// "m": {"k": "v"} (nesting to any depth up to maxBracketDepth), as GoFrame
// parses them. A bracketed key wins over the plain key of the same name;
// keys are applied in sorted order, so the outcome of a conflict
// (a[]=1&a[k]=2) does not depend on map order.
func formMap(vals url.Values) map[string]any {
	m := make(map[string]any, len(vals))
	if !hasBracket(vals) {
		for k, vs := range vals {
			if len(vs) > 0 {
				m[k] = vs[0]
			}
		}
		return m
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := vals[k]
		if len(vs) == 0 {
			continue
		}
		segs := splitBracket(k)
		if segs == nil {
			m[k] = vs[0]
			continue
		}
		cur := m
		for _, seg := range segs[:len(segs)-2] {
			next, ok := cur[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[seg] = next
			}
			cur = next
		}
		parent, last := segs[len(segs)-2], segs[len(segs)-1]
		if last == "" {
			list, _ := cur[parent].([]any)
			for _, v := range vs {
				list = append(list, v)
			}
			cur[parent] = list
			continue
		}
		sub, ok := cur[parent].(map[string]any)
		if !ok {
			sub = map[string]any{}
			cur[parent] = sub
		}
		sub[last] = vs[0]
	}
	return m
}
