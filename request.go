package baton

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// Request is the request a HandlerFunc receives. It embeds *http.Request,
// so every standard field and method is there, and adds typed parameter
// access, body parsing and the middleware chain.
//
// NOTE: a Request is recycled once its handler chain returns. Do not keep
// it, or its Response, in a goroutine that outlives the handler; copy what
// such a goroutine needs.
type Request struct {
	*http.Request

	// Response is the buffered response to this request.
	Response *Response
	// Server is the server serving the request.
	Server *Server
	// Middleware runs the rest of the handler chain: r.Middleware.Next().
	Middleware Middleware
	// Cookie reads the request's cookies and sets the response's. It hides
	// the Cookie method of http.Request: use r.Request.Cookie for that.
	Cookie Cookie
	// Session is the client's session, loaded from the store at its first
	// use and saved when the handler chain returns.
	Session Session

	params     httprouter.Params
	query      url.Values
	queryNest  bool // the query string has a bracketed key: a[]= or m[k]=
	body       map[string]any
	bodyErr    error
	bodyRead   bool
	raw        []byte // the body, once read whole (rawRead)
	rawErr     error
	rawRead    bool
	x          *requestExtra // what only the GoFrame-style getters use
	exited     bool
	panicStack []byte
	start      int64 // monoNow at the start, set only when the access log is on
	resp       Response
}

// Param returns the path parameter key, or "" if the route has none of that
// name.
func (r *Request) Param(key string) string { return r.params.ByName(key) }

// Query returns the first query-string value for key, or "". Malformed
// pairs are skipped; a query string of more keys than net/url parses
// (10,000, GODEBUG urlmaxqueryparams) ends the request with 400, as Exit
// does, rather than answer "".
func (r *Request) Query(key string) string {
	if err := r.parseQuery(); err != nil {
		r.fail(err)
	}
	return r.query.Get(key)
}

// parseQuery parses the query string into r.query once. It returns an
// *HTTPError when the query string has too many keys to be parsed.
func (r *Request) parseQuery() error {
	if r.query != nil {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	r.query = q
	r.queryNest = hasBracket(q)
	if err != nil && err.Error() == errTooManyKeys {
		return &HTTPError{Status: http.StatusBadRequest, Message: "query string has too many keys", Err: err}
	}
	return nil
}

// fail answers err, the *HTTPError of a body or query string that a
// getter cannot read whole, and stops the handler chain as Exit does: a
// value past a limit must not look like a value that is missing.
func (r *Request) fail(err error) {
	r.Response.WriteError(err)
	r.Exit()
}

// Get returns the value of key from, in order of precedence, the
// parameters set by SetParam, the path parameters, the query string, and
// the body (a url-encoded or multipart form, or a JSON object). It returns
// def[0] (as a string, converted as Var.String converts it) or "" if no
// source has it. JSON values that are not strings, and the lists and maps
// of bracketed form keys (a[]=1&a[]=2, m[k]=v), are returned in their JSON
// form; GetVar returns them as they are.
//
// Unlike GoFrame, where a query or form value overrides a path parameter,
// a path parameter here cannot be overridden by the client: /user/{id}
// with ?id=other still reads the id of the path.
//
// A source Get cannot read whole ends the request, as Exit does, with a
// short plain-text reason: 413 for a body over the size limit
// (ServerConfig.MaxBodySize), 400 for a malformed body or one over the
// limits of the form parsers (10,000 keys, 1,000 multipart parts), 400
// for a query string of more than 10,000 keys. The handler does not go on
// as if the value were missing.
func (r *Request) Get(key string, def ...any) string {
	if str, v, ok := r.find(key); ok {
		switch x := v.(type) {
		case nil:
			return str
		case string:
			return x
		default:
			b, _ := json.Marshal(x)
			return string(b)
		}
	}
	if len(def) > 0 {
		return varString(def[0])
	}
	return ""
}

// lookup finds key in the sources Get reads.
func (r *Request) lookup(key string) (any, bool) {
	if r.x != nil {
		if v, ok := r.x.params[key]; ok {
			return v, true
		}
	}
	str, v, ok := r.find(key)
	if ok && v == nil {
		return str, true
	}
	return v, ok
}

// find finds key in the sources Get reads. A plain string value (a path
// parameter, a query value) comes back in str with v nil, so that Get
// does not box it in an interface, which would allocate.
func (r *Request) find(key string) (str string, v any, ok bool) {
	if r.x != nil {
		if v, ok := r.x.params[key]; ok {
			return "", v, true
		}
	}
	for _, p := range r.params {
		if p.Key == key {
			return p.Value, nil, true
		}
	}
	if r.URL.RawQuery != "" {
		if err := r.parseQuery(); err != nil {
			r.fail(err)
		}
		if !r.queryNest {
			if vs, ok := r.query[key]; ok && len(vs) > 0 {
				return vs[0], nil, true
			}
		} else if v, ok := r.queryMap()[key]; ok {
			return "", v, true
		}
	}
	if err := r.readBody(); err != nil {
		r.fail(err)
	}
	if r.body != nil {
		if v, ok := r.body[key]; ok {
			if s, isStr := v.(string); isStr {
				return s, nil, true
			}
			return "", v, true
		}
	} else if vs := r.Request.PostForm[key]; len(vs) > 0 {
		return vs[0], nil, true
	}
	return "", nil, false
}

// queryValue finds key in the query string: its first value, or the list
// or map its bracketed forms (key[]=, key[k]=) make.
func (r *Request) queryValue(key string) (any, bool) {
	if err := r.parseQuery(); err != nil {
		r.fail(err)
	}
	if !r.queryNest {
		if vs, ok := r.query[key]; ok && len(vs) > 0 {
			return vs[0], true
		}
		return nil, false
	}
	v, ok := r.queryMap()[key]
	return v, ok
}

// GetInt returns Get(key) as an int, or def (0 if not given) when it is
// missing or not an integer. A source it cannot read whole ends the
// request, as for Get.
func (r *Request) GetInt(key string, def ...int) int {
	n, err := strconv.Atoi(strings.TrimSpace(r.Get(key)))
	if err != nil {
		if len(def) > 0 {
			return def[0]
		}
		return 0
	}
	return n
}

// GetBool returns Get(key) as a bool: "1", "t", "true", "on" and "yes"
// (any case) are true, everything else false. A source it cannot read
// whole ends the request, as for Get.
func (r *Request) GetBool(key string) bool {
	switch strings.ToLower(strings.TrimSpace(r.Get(key))) {
	case "1", "t", "true", "on", "yes", "y":
		return true
	}
	return false
}

// Context returns the request's context, which is cancelled when the
// client goes away.
func (r *Request) Context() context.Context { return r.Request.Context() }

// isJSON reports whether the request declares a JSON body.
func (r *Request) isJSON() bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// readBody parses the body once: a JSON object, or a form (url-encoded or
// multipart, whatever the method: a DELETE may carry a form too). Form
// keys in brackets (a[]=1, m[k]=v) become lists and maps in r.body.
func (r *Request) readBody() error {
	if r.bodyRead {
		return r.bodyErr
	}
	r.bodyRead = true
	req := r.Request
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	if r.isJSON() {
		data, err := r.readRaw(true, 0)
		if err != nil {
			r.bodyErr = err
			return r.bodyErr
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "" {
				// Well-formed JSON that is not an object (an array, a
				// number): it has no keys, and a handler may read it.
				return nil
			}
			r.bodyErr = jsonError(err)
			return r.bodyErr
		}
		r.body = m
		return nil
	}
	ct := req.Header.Get("Content-Type")
	var err error
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		err = req.ParseMultipartForm(32 << 20)
		if r.x != nil && r.x.orig != nil && r.x.orig.MultipartForm == nil {
			// net/http removes the temporary files of the form of the
			// request it made, not of the copy SetCtxVar made.
			r.x.orig.MultipartForm = req.MultipartForm
		}
	case isFormType(ct):
		// Read here rather than by ParseForm, which reads the body of a
		// POST, PUT or PATCH only, and keep the bytes for GetBody.
		err = r.parseFormBody()
	default:
		err = req.ParseForm()
	}
	var he *HTTPError
	switch {
	case err == nil:
	case errors.As(err, &he):
		r.bodyErr = err
		return err
	case isFormType(ct) || !queryError(req, err):
		r.bodyErr = formError(err)
		return r.bodyErr
	}
	if len(req.PostForm) > 0 && hasBracket(req.PostForm) {
		// A plain form is read from PostForm as it is; bodyMap makes
		// the map of it when a getter needs one.
		r.body = formMap(req.PostForm)
	}
	return nil
}

// isFormType reports whether ct is application/x-www-form-urlencoded.
func isFormType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// parseFormBody reads a url-encoded body into PostForm and Form, as
// ParseForm does for a POST, for any method.
func (r *Request) parseFormBody() error {
	req := r.Request
	data, err := r.readRaw(false, maxFormSize)
	if err != nil {
		return err
	}
	post, err := url.ParseQuery(string(data))
	if err != nil {
		return err
	}
	req.PostForm = post
	if req.Form == nil {
		q, _ := url.ParseQuery(req.URL.RawQuery)
		form := make(url.Values, len(post)+len(q))
		for k, vs := range post {
			form[k] = vs
		}
		for k, vs := range q {
			form[k] = append(form[k], vs...)
		}
		req.Form = form
	}
	return nil
}

// errFormTooLarge is the error of a url-encoded body of more than
// maxFormSize bytes when the server sets no body limit of its own.
var errFormTooLarge = errors.New(errPostTooLarge)

// readRaw reads the whole body once into r.raw. With keep, the body is
// replaced by a reader of the bytes, for a later reader (ParseMultipartForm,
// the handler). A limit > 0 bounds a body that the server does not bound.
func (r *Request) readRaw(keep bool, limit int64) ([]byte, error) {
	if r.rawRead {
		return r.raw, r.rawErr
	}
	r.rawRead = true
	req := r.Request
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	var src io.Reader = req.Body
	if limit > 0 && (r.Server == nil || r.Server.bodyMax.Load() <= 0) {
		src = io.LimitReader(req.Body, limit+1)
	}
	data, err := io.ReadAll(src)
	switch {
	case err != nil:
		r.rawErr = bodyError(err)
	case limit > 0 && int64(len(data)) > limit:
		r.rawErr = formError(errFormTooLarge)
		data = nil
	}
	if r.rawErr != nil {
		return nil, r.rawErr
	}
	if len(data) == 0 {
		return nil, nil
	}
	r.raw = data
	if keep {
		req.Body = io.NopCloser(bytes.NewReader(data))
	}
	return data, nil
}

// HTTPError is an error with the HTTP status it should be answered with.
// Parse, GetStruct and GetJson return it; Response.WriteError answers
// with its status and message, as the other getters (Get, GetVar,
// GetForm, GetMap, GetBody, GetUploadFile, Query...) do themselves before
// they stop the chain.
type HTTPError struct {
	Status  int    // HTTP status code
	Message string // safe to show to the client
	Err     error  // the cause, for the log
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("baton: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// StatusCode returns the HTTP status.
func (e *HTTPError) StatusCode() int { return e.Status }

// Unwrap returns the cause.
func (e *HTTPError) Unwrap() error { return e.Err }

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &HTTPError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit), Err: err}
	}
	return &HTTPError{Status: http.StatusBadRequest, Message: "cannot read request body: " + err.Error(), Err: err}
}

// The messages of errors that net/http and net/url return without an
// exported value to compare with.
const (
	errTooManyKeys  = "number of URL query parameters exceeded limit" // url.ParseQuery, urlmaxqueryparams
	errPostTooLarge = "http: POST too large"                          // ParseForm with no MaxBodySize
)

// maxFormSize is the size at which ParseForm stops reading a url-encoded
// body that has no size limit of its own.
const maxFormSize = 10 << 20

// formError turns an error of ParseForm or ParseMultipartForm into the
// *HTTPError to answer it with.
func formError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return bodyError(err)
	case err.Error() == errPostTooLarge:
		return &HTTPError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("form body larger than %d bytes", maxFormSize), Err: err}
	case err.Error() == errTooManyKeys:
		return &HTTPError{Status: http.StatusBadRequest, Message: "form has too many keys", Err: err}
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return &HTTPError{Status: http.StatusBadRequest,
			Message: "multipart form has too many parts, or too large headers or values", Err: err}
	}
	return &HTTPError{Status: http.StatusBadRequest, Message: "malformed form: " + err.Error(), Err: err}
}

// queryError reports whether err, returned by ParseForm, is the error of
// the query string alone, whose malformed pairs Get skips as Query does.
// ParseForm returns the body's error in preference to the query's.
func queryError(req *http.Request, err error) bool {
	_, qerr := url.ParseQuery(req.URL.RawQuery)
	return qerr != nil && qerr.Error() == err.Error()
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &HTTPError{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed JSON at offset %d: %v", se.Offset, se), Err: err}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &HTTPError{Status: http.StatusBadRequest, Message: fmt.Sprintf("JSON body: want an object, got %s", te.Value), Err: err}
		}
		return &HTTPError{Status: http.StatusBadRequest, Message: fmt.Sprintf("field %q: want %s, got JSON %s", field, te.Type, te.Value), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &HTTPError{Status: http.StatusBadRequest, Message: "malformed JSON: unexpected end of input", Err: err}
	}
	if be := bodyError(err); be.(*HTTPError).Status == http.StatusRequestEntityTooLarge {
		return be
	}
	return &HTTPError{Status: http.StatusBadRequest, Message: "malformed JSON: " + err.Error(), Err: err}
}

// Parse fills the struct pointed to by v from the request: first the JSON
// body (if the request has one), then form values, query values and path
// parameters, matched to fields (embedded structs flattened) by their p
// tag (GoFrame's), json tag or Go name, the Go name in any case, each
// source overriding the one before. A slice field takes every
// value of its key, or of key[] (a[]=1&a[]=2); a map field takes the keys
// m[k]=v. A malformed body or a value that does not fit its field returns
// an *HTTPError with status 400 (413 for a body over the limit) whose
// message names the field.
func (r *Request) Parse(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("baton: Parse needs a non-nil pointer to a struct, got %T", v)
	}
	tab, err := bindTableOf(rv.Elem().Type())
	if err != nil {
		return fmt.Errorf("baton: Parse: %w", err)
	}
	req := r.Request
	if r.isJSON() && req.Body != nil && req.Body != http.NoBody {
		data, err := r.readRaw(true, 0)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, v); err != nil {
				return jsonError(err)
			}
			if tab.needMap {
				if err := r.readBody(); err == nil && r.body != nil {
					if err := fillTagged(rv.Elem(), tab, r.body); err != nil {
						return err
					}
				}
			}
		}
	} else if err := r.readBody(); err != nil {
		return err
	}
	var sources []url.Values
	if !r.isJSON() && len(req.PostForm) > 0 {
		sources = append(sources, req.PostForm)
	}
	if req.URL.RawQuery != "" {
		if err := r.parseQuery(); err != nil {
			return err
		}
		sources = append(sources, r.query)
	}
	if len(r.params) > 0 {
		pv := make(url.Values, len(r.params))
		for _, p := range r.params {
			pv[p.Key] = []string{p.Value}
		}
		sources = append(sources, pv)
	}
	return fillStruct(rv.Elem(), tab, sources)
}

// fillTagged sets, from the decoded JSON object m, the fields whose p tag
// names a key other than the one encoding/json matched them by.
func fillTagged(sv reflect.Value, tab *bindTable, m map[string]any) error {
	for i := range tab.fields {
		f := &tab.fields[i]
		if f.byJSON && f.alt == "" {
			continue
		}
		name := f.paramName()
		e, ok := m[name]
		if !ok {
			continue
		}
		fv := sv.FieldByIndex(f.index)
		b, _ := json.Marshal(e)
		if err := json.Unmarshal(b, fv.Addr().Interface()); err != nil {
			return &HTTPError{Status: http.StatusBadRequest,
				Message: fmt.Sprintf("field %q: want %s, got JSON %s", name, fv.Type(), b), Err: err}
		}
	}
	return nil
}

// fillStruct sets the fields of sv from string sources, later sources
// winning, by the field table of its type (api_bind.go).
func fillStruct(sv reflect.Value, tab *bindTable, sources []url.Values) error {
	for i := range tab.fields {
		f := &tab.fields[i]
		name := f.paramName()
		fv := sv.FieldByIndex(f.index)
		var vals []string
		var sub map[string]any
		for _, src := range sources {
			if vs, ok := src[name]; ok {
				vals, sub = vs, nil
			} else if vs, ok := src[name+"[]"]; ok {
				vals, sub = vs, nil
			} else if f.isMap && hasBracketKey(src, name) {
				if m, ok := formMap(src)[name].(map[string]any); ok {
					vals, sub = nil, m
				}
			} else if vs := foldLookup(src, f.goName); vs != nil {
				vals, sub = vs, nil
			}
		}
		var err error
		switch {
		case sub != nil:
			err = assign(fv, sub)
		case vals != nil:
			err = setField(fv, vals)
		default:
			continue
		}
		if err != nil {
			return &HTTPError{Status: http.StatusBadRequest, Message: fmt.Sprintf("field %q: %v", name, err), Err: err}
		}
	}
	return nil
}

// foldLookup returns the values of the key of src that is name, or
// name[], in another case, as GoFrame matches a field's Go name.
func foldLookup(src url.Values, name string) []string {
	for k, vs := range src {
		if strings.EqualFold(strings.TrimSuffix(k, "[]"), name) {
			return vs
		}
	}
	return nil
}

func setField(fv reflect.Value, vals []string) error {
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 {
		s := reflect.MakeSlice(fv.Type(), len(vals), len(vals))
		for i, v := range vals {
			if err := setScalar(s.Index(i), v); err != nil {
				return err
			}
		}
		fv.Set(s)
		return nil
	}
	return setScalar(fv, vals[0])
}

func setScalar(fv reflect.Value, s string) error {
	if fv.Kind() == reflect.Pointer {
		p := reflect.New(fv.Type().Elem())
		if err := setScalar(p.Elem(), s); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer of %d bits", s, fv.Type().Bits())
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an unsigned integer of %d bits", s, fv.Type().Bits())
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		fv.SetFloat(n)
	default:
		// Structs, maps and the like take a JSON text.
		if err := json.Unmarshal([]byte(s), fv.Addr().Interface()); err != nil {
			return fmt.Errorf("%q does not fit %s", s, fv.Type())
		}
	}
	return nil
}
