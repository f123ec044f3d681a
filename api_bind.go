package baton

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
)

// The binding of a typed handler's request: a table of the request
// struct's fields, compiled once per type (bindTableOf) and cached, and a
// fill that walks the table, never the type, per request.
//
// The field rules, which the OpenAPI document follows too:
//   - name: the json tag, else the p tag, else the Go name; on input the
//     p tag and the Go name (in any case) are accepted as well;
//   - location: the in tag (path, query, header, cookie, body); else a
//     field named as a path parameter of the route is that parameter;
//     else the query for GET, HEAD and DELETE, and the body (a JSON
//     object or a form) for the other methods;
//   - d: the default, when the request does not give the field;
//   - embedded structs are flattened, the Meta field skipped;
//   - *multipart.FileHeader, []*multipart.FileHeader, *UploadFile and
//     UploadFiles take the files of a multipart field;
//   - a slice takes every value of its key, or of key[].

// bindLoc is where a field is read from.
type bindLoc uint8

const (
	locAuto bindLoc = iota // decided by the route and the method
	locPath
	locQuery
	locHeader
	locCookie
	locBody
)

var locNames = map[string]bindLoc{"path": locPath, "query": locQuery, "header": locHeader, "cookie": locCookie, "body": locBody}

// fileKind is the kind of an upload field.
type fileKind uint8

const (
	fileNone fileKind = iota
	fileHeader
	fileHeaders
	fileUpload
	fileUploads
)

var (
	fileHeaderType  = reflect.TypeFor[*multipart.FileHeader]()
	fileHeadersType = reflect.TypeFor[[]*multipart.FileHeader]()
	uploadType      = reflect.TypeFor[*UploadFile]()
	uploadsType     = reflect.TypeFor[UploadFiles]()
	uploadSliceType = reflect.TypeFor[[]*UploadFile]()
)

// bindField is one field of a request struct, embedded ones flattened.
type bindField struct {
	index  []int
	name   string // the json name, else p, else the Go name
	alt    string // the p tag, when it differs from name
	goName string
	in     bindLoc // the in tag, or locAuto
	file   fileKind
	isMap  bool
	// byJSON: encoding/json finds the field under name, so a JSON body
	// needs no second pass for it.
	byJSON bool
}

// bindTable is the compiled binding of a request struct type.
type bindTable struct {
	typ    reflect.Type
	fields []bindField
	// tmpl is the struct with every d default set, copied into each new
	// request value; slices lists the fields whose default is a slice,
	// copied anew so that a handler cannot change the next default.
	tmpl     reflect.Value
	defaults bool
	slices   []int
	needMap  bool // a body field is named other than encoding/json names it
}

var bindTables sync.Map // reflect.Type -> *bindTable

// bindTableOf returns the table of struct type t, compiling it at the
// first call. An error names the type, the field and what is wrong.
func bindTableOf(t reflect.Type) (*bindTable, error) {
	if v, ok := bindTables.Load(t); ok {
		return v.(*bindTable), nil
	}
	tab := &bindTable{typ: t, tmpl: reflect.New(t).Elem()}
	if err := tab.walk(t, nil); err != nil {
		return nil, err
	}
	v, _ := bindTables.LoadOrStore(t, tab)
	return v.(*bindTable), nil
}

func (tab *bindTable) walk(t reflect.Type, index []int) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(index[:len(index):len(index)], i)
		if f.Type == metaType {
			continue
		}
		jname, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && f.Type.Kind() == reflect.Struct && jname == "" {
			if err := tab.walk(f.Type, idx); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() || jname == "-" {
			continue
		}
		bf := bindField{index: idx, goName: f.Name, name: jname, byJSON: true}
		p := f.Tag.Get("p")
		if p == "" {
			p = f.Tag.Get("param")
		}
		p, _, _ = strings.Cut(p, ",")
		if p == "-" {
			continue
		}
		switch {
		case bf.name != "":
			if p != "" && p != bf.name {
				bf.alt = p
			}
		case p != "":
			bf.name, bf.byJSON = p, strings.EqualFold(p, f.Name)
		default:
			bf.name = f.Name
		}
		if in, ok := f.Tag.Lookup("in"); ok {
			loc, known := locNames[strings.ToLower(strings.TrimSpace(in))]
			if !known {
				return fmt.Errorf("field %s.%s: in:%q: want path, query, header, cookie or body", tab.typ, f.Name, in)
			}
			bf.in = loc
		}
		switch f.Type {
		case fileHeaderType:
			bf.file = fileHeader
		case fileHeadersType:
			bf.file = fileHeaders
		case uploadType:
			bf.file = fileUpload
		case uploadsType, uploadSliceType:
			bf.file = fileUploads
		}
		bf.isMap = f.Type.Kind() == reflect.Map
		if d, ok := f.Tag.Lookup("d"); ok {
			fv := tab.tmpl.FieldByIndex(idx)
			if err := setDefault(fv, d); err != nil {
				return fmt.Errorf("field %s.%s: d:%q: %v", tab.typ, f.Name, d, err)
			}
			tab.defaults = true
			if fv.Kind() == reflect.Slice {
				tab.slices = append(tab.slices, len(tab.fields))
			}
		}
		if !bf.byJSON || bf.alt != "" {
			tab.needMap = true
		}
		tab.fields = append(tab.fields, bf)
	}
	return nil
}

// paramName is the name Parse and Var.Scan read the field by: the p tag
// first, as GoFrame's gconv does, then the json tag, then the Go name.
func (f *bindField) paramName() string {
	if f.alt != "" {
		return f.alt
	}
	return f.name
}

// setDefault sets fv from a d tag: a slice from its comma-separated
// elements (or a JSON array), anything else as a single value.
func setDefault(fv reflect.Value, d string) error {
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 {
		s := strings.TrimSpace(d)
		if strings.HasPrefix(s, "[") {
			return json.Unmarshal([]byte(s), fv.Addr().Interface())
		}
		return setField(fv, splitList(d))
	}
	return setScalar(fv, d)
}

// newValue returns a new request struct, defaults set, as the
// addressable value it points to.
func (tab *bindTable) newValue() reflect.Value {
	rv := reflect.New(tab.typ).Elem()
	if tab.defaults {
		tab.applyDefaults(rv)
	}
	return rv
}

func (tab *bindTable) applyDefaults(rv reflect.Value) {
	rv.Set(tab.tmpl)
	for _, i := range tab.slices {
		idx := tab.fields[i].index
		d := tab.tmpl.FieldByIndex(idx)
		s := reflect.MakeSlice(d.Type(), d.Len(), d.Len())
		reflect.Copy(s, d)
		rv.FieldByIndex(idx).Set(s)
	}
}

// FieldError is one field of a request that failed binding or
// validation.
type FieldError struct {
	Field   string `json:"field"`   // the json name, dotted for a nested field
	Rule    string `json:"rule"`    // the rule that failed; "type" for a value that does not fit
	Message string `json:"message"` // safe to show to the client
}

// binding is a request type's table placed on a route: where each field
// is read from, for the methods that read a query (GET, HEAD, DELETE) and
// for the others.
type binding struct {
	tab      *bindTable
	locs     [2][]bindLoc
	pathKeys []string // per field, the route's parameter of that name
	body     [2]bool  // a field is read from the body
}

// newBinding places tab on the route of path (in the ":name" form).
func newBinding(tab *bindTable, path string) (*binding, error) {
	params := routeParams(path)
	b := &binding{tab: tab, pathKeys: make([]string, len(tab.fields))}
	for c := range b.locs {
		b.locs[c] = make([]bindLoc, len(tab.fields))
	}
	for i, f := range tab.fields {
		key := ""
		for _, p := range params {
			if p == f.name || p == f.alt || strings.EqualFold(p, f.goName) {
				key = p
				break
			}
		}
		if f.in == locPath && key == "" {
			return nil, fmt.Errorf("field %s.%s is in:\"path\", but the route %q has no parameter %q", tab.typ, f.goName, path, f.name)
		}
		b.pathKeys[i] = key
		for c := range b.locs {
			loc := f.in
			switch {
			case loc != locAuto:
			case key != "":
				loc = locPath
			case f.file != fileNone:
				loc = locBody
			case c == 0:
				loc = locQuery
			default:
				loc = locBody
			}
			b.locs[c][i] = loc
			if loc == locBody {
				b.body[c] = true
			}
		}
	}
	return b, nil
}

// routeParams returns the parameter names of a route path.
func routeParams(path string) []string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		if s != "" && (s[0] == ':' || s[0] == '*') {
			out = append(out, s[1:])
			continue
		}
		for {
			i := strings.IndexByte(s, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				break
			}
			out = append(out, s[i+1:i+j])
			s = s[i+j+1:]
		}
	}
	return out
}

// methodClass is 0 for the methods whose fields default to the query.
func methodClass(m string) int {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		return 0
	}
	return 1
}

// fill sets rv, a new value of the table's type, from r. It returns an
// *HTTPError for a body that cannot be read (413, a malformed body), or
// the fields whose values do not fit them.
func (b *binding) fill(r *Request, rv reflect.Value) ([]FieldError, error) {
	c := methodClass(r.Method)
	locs := b.locs[c]
	var errs []FieldError
	req := r.Request
	jsonBody := false
	if b.body[c] && req.Body != nil && req.Body != http.NoBody {
		if r.isJSON() {
			jsonBody = true
			fe, err := b.fillJSON(r, rv)
			if err != nil {
				return nil, err
			}
			errs = fe
		} else if err := r.readBody(); err != nil {
			return nil, err
		}
	}
	var form url.Values
	if b.body[c] && !jsonBody {
		form = req.PostForm
	}
	if req.URL.RawQuery != "" {
		if err := r.parseQuery(); err != nil {
			return nil, err
		}
	}
	for i := range b.tab.fields {
		f := &b.tab.fields[i]
		var vals []string
		switch locs[i] {
		case locPath:
			vals = []string{r.params.ByName(b.pathKeys[i])}
		case locQuery:
			vals = f.lookup(r.query, rv.FieldByIndex(f.index), &errs)
		case locHeader:
			vals = req.Header.Values(f.name)
		case locCookie:
			if ck, err := req.Cookie(f.name); err == nil {
				vals = []string{ck.Value}
			}
		case locBody:
			if jsonBody {
				continue
			}
			if f.file != fileNone {
				f.setFiles(req, rv.FieldByIndex(f.index))
				continue
			}
			vals = f.lookup(form, rv.FieldByIndex(f.index), &errs)
		}
		if len(vals) == 0 {
			continue
		}
		fv := rv.FieldByIndex(f.index)
		if len(vals) == 1 && vals[0] == "" && fv.Kind() != reflect.String && fv.Kind() != reflect.Slice {
			continue // an empty value leaves a number or a bool at its default
		}
		if err := setField(fv, vals); err != nil {
			errs = append(errs, FieldError{Field: f.name, Rule: "type", Message: err.Error()})
		}
	}
	return errs, nil
}

// lookup returns the values of f in src: under its name, name[], its p
// tag, or its Go name in any case. A map field takes the keys
// name[k]=v, which it sets itself.
func (f *bindField) lookup(src url.Values, fv reflect.Value, errs *[]FieldError) []string {
	if len(src) == 0 {
		return nil
	}
	if vs, ok := src[f.name]; ok {
		return vs
	}
	if vs, ok := src[f.name+"[]"]; ok {
		return vs
	}
	if f.alt != "" {
		if vs, ok := src[f.alt]; ok {
			return vs
		}
	}
	if f.isMap && hasBracketKey(src, f.name) {
		if m, ok := formMap(src)[f.name].(map[string]any); ok {
			if err := assign(fv, m); err != nil {
				*errs = append(*errs, FieldError{Field: f.name, Rule: "type", Message: err.Error()})
			}
		}
		return nil
	}
	if vs := foldLookup(src, f.goName); vs != nil {
		return vs
	}
	return foldLookup(src, f.name)
}

// setFiles sets an upload field from the multipart form.
func (f *bindField) setFiles(req *http.Request, fv reflect.Value) {
	if req.MultipartForm == nil {
		return
	}
	fhs := req.MultipartForm.File[f.name]
	if len(fhs) == 0 && f.alt != "" {
		fhs = req.MultipartForm.File[f.alt]
	}
	if len(fhs) == 0 {
		return
	}
	switch f.file {
	case fileHeader:
		fv.Set(reflect.ValueOf(fhs[0]))
	case fileHeaders:
		fv.Set(reflect.ValueOf(fhs))
	case fileUpload:
		fv.Set(reflect.ValueOf(&UploadFile{FileHeader: fhs[0]}))
	case fileUploads:
		list := reflect.MakeSlice(fv.Type(), len(fhs), len(fhs))
		for i, fh := range fhs {
			list.Index(i).Set(reflect.ValueOf(&UploadFile{FileHeader: fh}))
		}
		fv.Set(list)
	}
}

// fillJSON decodes a JSON body into rv. A value of the wrong JSON type
// ("5" for an int, say) is read again from the decoded object as the
// form values are, leniently, and one that does not fit is reported with
// its field and value.
func (b *binding) fillJSON(r *Request, rv reflect.Value) ([]FieldError, error) {
	data, err := r.readRaw(true, 0)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	err = json.Unmarshal(data, rv.Addr().Interface())
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		if !b.tab.needMap {
			return nil, nil
		}
	case errors.As(err, &te) && te.Field != "":
		// Start again from the defaults, by the field table.
		if b.tab.defaults {
			b.tab.applyDefaults(rv)
		} else {
			rv.SetZero()
		}
	default:
		return nil, jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, jsonError(err)
	}
	var errs []FieldError
	for i := range b.tab.fields {
		f := &b.tab.fields[i]
		if err == nil && f.byJSON && f.alt == "" {
			continue // encoding/json has set it
		}
		x, ok := m[f.name]
		if !ok && f.alt != "" {
			x, ok = m[f.alt]
		}
		if !ok {
			for k, e := range m {
				if strings.EqualFold(k, f.goName) || strings.EqualFold(k, f.name) {
					x, ok = e, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		if aerr := assign(rv.FieldByIndex(f.index), x); aerr != nil {
			errs = append(errs, FieldError{Field: f.name, Rule: "type", Message: aerr.Error()})
		}
	}
	return errs, nil
}
