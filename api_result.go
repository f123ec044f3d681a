package baton

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The results of typed handlers: the error type that carries a status and
// a code, the envelope, and the writers that put a result or an error on
// the wire.

// The envelope codes baton answers with, GoFrame's (gcode) where it has
// one. A handler chooses its own with NewError.
const (
	CodeOK               = 0  // success
	CodeInternalError    = 50 // a handler's error of no status, or a panic
	CodeValidationFailed = 51 // the v rules of the request failed
	CodeInvalidParameter = 53 // a value that does not fit its field, a malformed body
	CodeNotAuthorized    = 61 // 401, 403
	CodeUnknown          = 64 // another status
	CodeNotFound         = 65 // 404
)

// Error is the error of a typed handler as the client sees it: the HTTP
// status, the envelope code and a message safe to show. A handler returns
// one (NewError) to choose them; binding and validation return one with
// status 400 and Fields set, listing every field that failed. Any other
// error a handler returns is answered as 500 with a generic message, and
// logged, unless it has a StatusCode method (as *HTTPError does).
type Error struct {
	Status  int          // HTTP status
	Code    int          // envelope code
	Message string       // safe to show to the client
	Fields  []FieldError // the fields that failed binding or validation
	Err     error        // the cause, for the log
}

// NewError returns an *Error with the given HTTP status, envelope code and
// message, for a typed handler to return:
//
//	return nil, baton.NewError(http.StatusConflict, 1001, "name taken")
func NewError(status, code int, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("baton: %d %s (code %d): %s", e.Status, http.StatusText(e.Status), e.Code, e.Message)
}

// StatusCode returns the HTTP status.
func (e *Error) StatusCode() int { return e.Status }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// codeOf returns the envelope code of an HTTP status.
func codeOf(status int) int {
	switch {
	case status < 400:
		return CodeOK
	case status == http.StatusBadRequest:
		return CodeInvalidParameter
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return CodeNotAuthorized
	case status == http.StatusNotFound:
		return CodeNotFound
	case status >= 500:
		return CodeInternalError
	}
	return CodeUnknown
}

// apiError returns err as the *Error the client is answered with. An
// error the client must not see is logged, and answered as a bare 500.
func apiError(r *Request, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Status == 0 {
			c := *e
			c.Status = http.StatusInternalServerError
			e = &c
		}
		return e
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Status < 500 {
		return &Error{Status: he.Status, Code: codeOf(he.Status), Message: he.Message, Err: err}
	}
	status := http.StatusInternalServerError
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) {
		status = sc.StatusCode()
	}
	if status < 500 {
		return &Error{Status: status, Code: codeOf(status), Message: err.Error(), Err: err}
	}
	r.Server.Logger().Error("baton: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return &Error{Status: status, Code: codeOf(status), Message: http.StatusText(status), Err: err}
}

// fieldsError returns the 400 of fields that failed binding (code
// CodeInvalidParameter) or validation (CodeValidationFailed).
func fieldsError(code int, fields []FieldError) *Error {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Message: b.String(), Fields: fields}
}

// ResultWriter writes the result of a typed handler: res, the value it
// returned, when err is nil, else err. A handler that wrote a response
// itself (a body, a stream) and returned no error is left as it is, and
// no ResultWriter runs. EnvelopeWriter is the default; a server or a
// group chooses another with SetResultWriter.
type ResultWriter func(r *Request, res any, err *Error)

// Envelope is the body EnvelopeWriter writes, GoFrame's: Code 0 and the
// result in Data for a success, the error's code and message otherwise,
// with the failing fields in Data for a binding or validation error.
type Envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// EnvelopeWriter writes {"code":0,"message":"","data":<res>}, with the
// status the handler set (200 if none); an error is written as
// {"code":N,"message":"...","data":null} with its status, data then
// listing the failing fields of a binding or validation error.
func EnvelopeWriter(r *Request, res any, err *Error) {
	if err == nil {
		writeJSON(r, Envelope{Data: res})
		return
	}
	var data any
	if len(err.Fields) > 0 {
		data = err.Fields
	}
	r.Response.WriteHeader(err.Status)
	writeJSON(r, Envelope{Code: err.Code, Message: err.Message, Data: data})
}

// rawError is the body RawJSONWriter writes for an error.
type rawError struct {
	Code    int          `json:"code"`
	Message string       `json:"message"`
	Errors  []FieldError `json:"errors,omitempty"`
}

// RawJSONWriter writes the result itself as JSON, with no envelope; an
// error is written as {"code":N,"message":"...","errors":[...]} with its
// status.
func RawJSONWriter(r *Request, res any, err *Error) {
	if err == nil {
		writeJSON(r, res)
		return
	}
	r.Response.WriteHeader(err.Status)
	writeJSON(r, rawError{Code: err.Code, Message: err.Message, Errors: err.Fields})
}

// problem is an RFC 9457 problem details object; Code and Errors are
// extension members.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   int          `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
}

// ProblemWriter writes the result itself as JSON, and an error as RFC
// 9457 problem details (application/problem+json): type about:blank, the
// status's text as title, the message as detail, and the envelope code
// and failing fields as the extension members code and errors.
func ProblemWriter(r *Request, res any, err *Error) {
	if err == nil {
		writeJSON(r, res)
		return
	}
	r.Response.WriteHeader(err.Status)
	writeJSON(r, problem{Type: "about:blank", Title: http.StatusText(err.Status), Status: err.Status,
		Detail: err.Message, Code: err.Code, Errors: err.Fields})
	r.Response.Header().Set("Content-Type", "application/problem+json")
}

// writeJSON writes v as WriteJson does; a value that cannot be encoded
// is a 500, logged.
func writeJSON(r *Request, v any) {
	if err := r.Response.WriteJson(v); err != nil {
		r.Server.Logger().Error("baton: encode result", "method", r.Method, "path", r.URL.Path, "err", err)
		r.Response.fail(http.StatusInternalServerError)
	}
}

// SetResultWriter sets how the typed handlers of the group, and of its
// sub-groups that set none, write their results; nil restores the
// parent's. Like Use, it belongs to registration: it panics once the
// server has started serving.
func (g *RouterGroup) SetResultWriter(w ResultWriter) *RouterGroup {
	g.s.router.mu.Lock()
	defer g.s.router.mu.Unlock()
	if g.s.router.compiled() {
		panic(fmt.Sprintf("baton: SetResultWriter at %s after the server started serving", callSite()))
	}
	g.result = w
	return g
}

// SetResultWriter sets how the server's typed handlers write their
// results, unless their group sets its own; see
// RouterGroup.SetResultWriter. The default is EnvelopeWriter.
func (s *Server) SetResultWriter(w ResultWriter) { s.router.root.SetResultWriter(w) }

// resultWriter returns the writer of g: its own, or its nearest
// ancestor's, or EnvelopeWriter.
func (g *RouterGroup) resultWriter() ResultWriter {
	for ; g != nil; g = g.parent {
		if g.result != nil {
			return g.result
		}
	}
	return EnvelopeWriter
}
