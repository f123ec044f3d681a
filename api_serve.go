package baton

import (
	"net/http"
	"reflect"
	"runtime/debug"
)

// A typed handler's request, top to bottom: a new request value with its
// defaults, the binding, the validation, the call (a panic in it becomes
// a 500 result), and the result writer.

// apiHandler is a typed function bound to a route.
type apiHandler struct {
	fn    reflect.Value
	bind  *binding
	check func(reflect.Value) []FieldError // nil: no rule
	group *RouterGroup
}

// newAPIHandler compiles fn's binding (once per request type) and rules
// for the route of path in g.
func newAPIHandler(g *RouterGroup, fn *apiFunc, methods []string, path string) (*apiHandler, error) {
	tab, err := bindTableOf(fn.req)
	if err != nil {
		return nil, err
	}
	b, err := newBinding(tab, path)
	if err != nil {
		return nil, err
	}
	h := &apiHandler{fn: fn.fn, bind: b, group: g}
	if h.check, err = compileRules(fn.req); err != nil {
		return nil, err
	}
	return h, nil
}

// serve is the HandlerFunc of a typed handler.
func (h *apiHandler) serve(r *Request) {
	rv := h.bind.tab.newValue()
	fields, err := h.bind.fill(r, rv)
	switch {
	case err != nil:
		h.group.resultWriter()(r, nil, apiError(r, err))
		return
	case len(fields) > 0:
		h.group.resultWriter()(r, nil, fieldsError(CodeInvalidParameter, fields))
		return
	}
	if h.check != nil {
		if fields := h.check(rv); len(fields) > 0 {
			h.group.resultWriter()(r, nil, fieldsError(CodeValidationFailed, fields))
			return
		}
	}
	res, herr, ok := h.call(r, rv.Addr())
	if !ok {
		return // it panicked, and is answered
	}
	resp := r.Response
	if herr == nil && (len(resp.buf) > 0 || resp.committed) {
		return // the handler wrote its own response
	}
	var e *Error
	if herr != nil {
		e = apiError(r, herr)
	}
	h.group.resultWriter()(r, res, e)
}

// call calls the function with the request's context and req. A panic is
// logged with its stack and answered with a 500 result; Exit and
// http.ErrAbortHandler go on up the chain as they do from any handler.
func (h *apiHandler) call(r *Request, req reflect.Value) (res any, err error, ok bool) {
	defer func() {
		if ok {
			return
		}
		p := recover()
		if p == nil {
			return // runtime.Goexit, which goes on
		}
		if _, exit := p.(exitSignal); exit || p == http.ErrAbortHandler {
			panic(p)
		}
		r.Server.logPanic(r, p, debug.Stack())
		r.Session.discarded = true
		r.Cookie.discard()
		r.resp.fail(http.StatusInternalServerError)
		r.resp.WriteHeader(http.StatusInternalServerError)
		r.resp.ClearBuffer()
		h.group.resultWriter()(r, nil, &Error{Status: http.StatusInternalServerError, Code: CodeInternalError,
			Message: http.StatusText(http.StatusInternalServerError)})
	}()
	ctx := &apiCtx{Context: r.Request.Context(), r: r}
	out := h.fn.Call([]reflect.Value{reflect.ValueOf(ctx), req})
	res = out[0].Interface()
	if e := out[1].Interface(); e != nil {
		err = e.(error)
	}
	return res, err, true
}
