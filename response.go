package baton

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// bufferLimit is how much output a Response holds before it sends the
// headers and streams the rest: headers set after that are lost.
const bufferLimit = 256 << 10

// Response is the buffered response of a Request. Output is held until the
// handler chain returns, so that headers and the status can be set late,
// and then sent in one write with a Content-Length. Flush sends what is
// buffered at once and switches to streaming, for Server-Sent Events and
// other long responses.
type Response struct {
	w         http.ResponseWriter
	req       *Request
	buf       []byte
	status    int
	committed bool // headers sent
	streaming bool // writes go straight to the connection
	abort     bool
	autoType  bool // Content-Type is the text/plain of a status text, not the handler's
	sniff     bool // that Content-Type was taken off: detect the body's at the end
	written   int64
}

func (w *Response) reset() {
	if cap(w.buf) > 64<<10 {
		w.buf = nil // don't pin large buffers in the pool
	}
	w.buf = w.buf[:0]
	w.w = nil
	w.status, w.written = 0, 0
	w.committed, w.streaming, w.abort, w.autoType, w.sniff = false, false, false, false, false
}

// Header returns the response headers, to be changed before the response
// is sent: until the handler chain returns, or until Flush.
func (w *Response) Header() http.Header { return w.w.Header() }

// WriteHeader sets the status code sent with the response (200 if never
// set). It does not send anything.
func (w *Response) WriteHeader(status int) {
	if !w.committed {
		w.status = status
	}
}

// Status returns the status code set so far, or 200.
func (w *Response) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// BufferLength returns the number of bytes buffered and not yet sent.
func (w *Response) BufferLength() int { return len(w.buf) }

// Buffer returns the bytes buffered and not yet sent. The slice is the
// buffer itself: it is valid until the next write, and changing it changes
// the response.
func (w *Response) Buffer() []byte { return w.buf }

// BufferString returns the bytes buffered and not yet sent, as a string.
func (w *Response) BufferString() string { return string(w.buf) }

// SetBuffer replaces what is buffered and not yet sent with a copy of b.
// Output already sent (after Flush) stays sent.
func (w *Response) SetBuffer(b []byte) {
	w.ClearBuffer()
	w.buf = append(w.buf, b...)
	w.spill()
}

// ClearBuffer discards what is buffered and not yet sent. The status and
// headers set stay, but for the text/plain Content-Type that came with a
// status text (WriteStatus without content): the body that replaces it
// has its type detected, as a body without a Content-Type has.
func (w *Response) ClearBuffer() {
	w.buf = w.buf[:0]
	if w.autoType && !w.committed {
		w.Header().Del("Content-Type")
		w.autoType, w.sniff = false, true
	}
}

// Write appends each value to the response: strings and byte slices as
// they are, errors by their message, nil as nothing, anything else as
// fmt.Sprint prints it.
func (w *Response) Write(content ...any) {
	if len(content) == 1 && !w.streaming {
		// The common case, one string, without the loop.
		if v, ok := content[0].(string); ok {
			w.buf = append(w.buf, v...)
			if len(w.buf) > bufferLimit {
				w.spill()
			}
			return
		}
	}
	w.write(content)
}

func (w *Response) write(content []any) {
	for _, c := range content {
		w.appendValue(c)
	}
	w.spill()
}

// Writeln is Write followed by a newline.
func (w *Response) Writeln(content ...any) {
	for _, c := range content {
		w.appendValue(c)
	}
	w.buf = append(w.buf, '\n')
	w.spill()
}

// Writef appends fmt.Sprintf(format, args...) to the response.
func (w *Response) Writef(format string, args ...any) {
	w.buf = fmt.Appendf(w.buf, format, args...)
	w.spill()
}

func (w *Response) appendValue(c any) {
	switch v := c.(type) {
	case nil:
		// A missing value (r.Session.Get of an absent key, say) shows as
		// nothing rather than "<nil>" on the page.
	case string:
		w.buf = append(w.buf, v...)
	case []byte:
		w.buf = append(w.buf, v...)
	case error:
		w.buf = append(w.buf, v.Error()...)
	default:
		w.buf = fmt.Append(w.buf, v)
	}
}

// spill sends output once streaming, or once the buffer is over its limit.
func (w *Response) spill() {
	if w.streaming || len(w.buf) > bufferLimit {
		w.commit()
		w.sendBuffer()
	}
}

// WriteJson sets Content-Type to application/json and writes v as JSON,
// followed by a newline. A []byte or json.RawMessage is JSON already and
// goes out as it is, once checked to be valid JSON; a string is encoded as
// a JSON string. It returns the encoding error, if any, and writes nothing
// then.
func (w *Response) WriteJson(v any) error {
	data, err := encodeJSON(v)
	if err != nil {
		return fmt.Errorf("baton: WriteJson: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.buf = append(w.buf, data...)
	w.buf = append(w.buf, '\n')
	w.spill()
	return nil
}

// errInvalidJSON is the error for a []byte given as JSON that is not.
var errInvalidJSON = errors.New("bytes given as JSON are not valid JSON")

// encodeJSON encodes v, taking a []byte or json.RawMessage as JSON already.
func encodeJSON(v any) ([]byte, error) {
	var raw []byte
	switch b := v.(type) {
	case []byte:
		raw = b
	case json.RawMessage:
		raw = b
	default:
		return json.Marshal(v)
	}
	if !json.Valid(raw) {
		return nil, errInvalidJSON
	}
	return raw, nil
}

// WriteStatus sets the status and writes content, or the status text if
// content is empty.
func (w *Response) WriteStatus(status int, content ...any) {
	w.WriteHeader(status)
	if len(content) == 0 {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.autoType = true
		}
		w.buf = append(w.buf, http.StatusText(status)...)
		w.buf = append(w.buf, '\n')
		w.spill()
		return
	}
	w.Write(content...)
}

// WriteExit writes content as Write does, then stops the handler chain
// as Request.Exit does.
func (w *Response) WriteExit(content ...any) {
	w.Write(content...)
	w.req.Exit()
}

// WriteOver replaces what is buffered and not yet sent with content, as
// ClearBuffer then Write: a status handler or middleware can swap a body
// written before it.
func (w *Response) WriteOver(content ...any) {
	w.ClearBuffer()
	w.Write(content...)
}

// WriteOverExit is WriteOver followed by Request.Exit.
func (w *Response) WriteOverExit(content ...any) {
	w.WriteOver(content...)
	w.req.Exit()
}

// WritefExit is Writef followed by Request.Exit.
func (w *Response) WritefExit(format string, args ...any) {
	w.Writef(format, args...)
	w.req.Exit()
}

// WritelnExit is Writeln followed by Request.Exit.
func (w *Response) WritelnExit(content ...any) {
	w.Writeln(content...)
	w.req.Exit()
}

// WriteJsonExit is WriteJson followed by Request.Exit. A value that cannot
// be encoded is a programming error: it panics, which answers 500 and logs
// the error with the stack.
func (w *Response) WriteJsonExit(v any) {
	if err := w.WriteJson(v); err != nil {
		panic(err)
	}
	w.req.Exit()
}

// WriteStatusExit is WriteStatus followed by Request.Exit.
func (w *Response) WriteStatusExit(status int, content ...any) {
	w.WriteStatus(status, content...)
	w.req.Exit()
}

// maxCallback bounds the length of a JSONP callback name.
const maxCallback = 128

// WriteJsonP writes v as JSONP: the JSON of v (a []byte or json.RawMessage
// as it is, once checked) passed to the function the query parameter
// "callback" names, or the bare JSON if there is none. Content-Type is
// application/javascript, with X-Content-Type-Options: nosniff.
//
// The callback must be a JavaScript name or a dotted path of names
// ("cb", "jQuery37_1", "ns.cb"), of at most 128 bytes, so that a link to
// the page cannot make it run script of its choosing. Another callback
// gets an *HTTPError of status 400, for WriteError, and nothing is
// written. The output starts with an empty comment, which keeps a
// callback from making it a Flash file or other content a plugin sniffs.
func (w *Response) WriteJsonP(v any) error {
	cb := w.req.Query("callback")
	if cb != "" && !isCallback(cb) {
		return &HTTPError{Status: http.StatusBadRequest, Message: "invalid JSONP callback",
			Err: fmt.Errorf("baton: WriteJsonP: callback %q is not a JavaScript name", cb)}
	}
	data, err := encodeJSON(v)
	if err != nil {
		return fmt.Errorf("baton: WriteJsonP: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if cb == "" {
		w.buf = append(w.buf, data...)
	} else {
		w.buf = append(w.buf, "/**/"...)
		w.buf = append(w.buf, cb...)
		w.buf = append(w.buf, '(')
		w.buf = append(w.buf, data...)
		w.buf = append(w.buf, ");"...)
	}
	w.spill()
	return nil
}

// WriteJsonPExit is WriteJsonP followed by Request.Exit. An invalid
// callback is answered with 400; a value that cannot be encoded panics, as
// with WriteJsonExit.
func (w *Response) WriteJsonPExit(v any) {
	if err := w.WriteJsonP(v); err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			panic(err)
		}
		w.WriteError(err)
	}
	w.req.Exit()
}

// isCallback reports whether s is a dotted path of ASCII JavaScript names.
func isCallback(s string) bool {
	if len(s) > maxCallback {
		return false
	}
	start := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if start {
				return false
			}
			start = true
			continue
		case c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9':
			if start {
				return false
			}
		default:
			return false
		}
		start = false
	}
	return !start
}

// WriteError answers with err: its status if it has a StatusCode method
// (as *HTTPError does) and its client-safe message, else 500 with a
// generic message, logging err.
func (w *Response) WriteError(err error) {
	var sc interface{ StatusCode() int }
	status := http.StatusInternalServerError
	if errors.As(err, &sc) {
		status = sc.StatusCode()
	}
	w.buf = w.buf[:0]
	var he *HTTPError
	if status < 500 && errors.As(err, &he) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteStatus(status, he.Message, "\n")
		return
	}
	if status >= 500 {
		w.req.Server.Logger().Error("baton: request failed", "method", w.req.Method, "path", w.req.URL.Path, "err", err)
	}
	w.WriteStatus(status)
}

// RedirectTo redirects the client to url with the given status, 302 Found
// if none is given.
func (w *Response) RedirectTo(url string, status ...int) {
	code := http.StatusFound
	if len(status) > 0 {
		code = status[0]
	}
	w.buf = w.buf[:0]
	w.Header().Set("Location", url)
	w.WriteHeader(code)
}

// RedirectBack redirects the client to the page it came from, as the
// Referer header names it, with the given status, 302 Found if none is
// given. Only a Referer of this host is followed, and only its path and
// query: another host, a missing or malformed Referer, or a path that a
// browser would read as another host ("//evil.example") redirects to "/"
// instead, so that a link cannot make the site send its users elsewhere.
func (w *Response) RedirectBack(status ...int) {
	w.RedirectTo(sameOriginBack(w.req), status...)
}

// sameOriginBack returns the path and query of the Referer of r if it is
// of r's host, else "/".
func sameOriginBack(r *Request) string {
	ref := r.Header.Get("Referer")
	if ref == "" {
		return "/"
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" ||
		!strings.EqualFold(u.Host, r.Host) {
		return "/"
	}
	// The scheme is left out: behind a proxy that terminates TLS, the
	// Referer says https and the request http, and the host is what
	// matters.
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(u.Path, "\\") ||
		strings.Contains(strings.ToLower(p), "%5c") {
		return "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// ServeFile sends the file at path, honouring Range and conditional
// requests. Output buffered before is discarded. path is trusted: it must
// not come from the client unchecked.
func (w *Response) ServeFile(path string) {
	w.serveFile(path, "")
}

// ServeFileDownload sends the file at path as an attachment named name (the
// file's base name if not given), with ranges supported so that downloads
// can resume.
func (w *Response) ServeFileDownload(path string, name ...string) {
	n := filepath.Base(path)
	if len(name) > 0 && name[0] != "" {
		n = name[0]
	}
	w.serveFile(path, n)
}

func (w *Response) serveFile(path, attachment string) {
	f, err := os.Open(path)
	if err != nil {
		w.buf = w.buf[:0]
		if os.IsNotExist(err) {
			w.WriteStatus(http.StatusNotFound)
		} else {
			w.WriteStatus(http.StatusForbidden)
		}
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		w.buf = w.buf[:0]
		w.WriteStatus(http.StatusNotFound)
		return
	}
	if attachment != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": attachment}))
	}
	w.serveContent(fi.Name(), fi.ModTime(), f)
}

// serveContent hands the raw writer to http.ServeContent.
func (w *Response) serveContent(name string, mod time.Time, content io.ReadSeeker) {
	if w.committed {
		return
	}
	w.buf = w.buf[:0]
	w.beforeSend()
	w.committed = true
	rec := statusRecorder{ResponseWriter: w.w, status: http.StatusOK}
	http.ServeContent(&rec, w.req.Request, name, mod, content)
	w.status, w.written = rec.status, rec.n
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	return n, err
}

// Flush sends the headers and everything buffered, and makes later writes
// go straight to the client: Server-Sent Events and streams reach the
// client before the handler returns. Headers can no longer change after it.
//
// A response that was flushed is a stream: its handler should return when
// Server.Draining is closed, and a drain closes its connection as soon as
// it has, rather than after the idle grace.
func (w *Response) Flush() {
	w.commit()
	if !w.streaming {
		w.streaming = true
		markStreamed(w.req.Request.Context())
	}
	w.sendBuffer()
	if f, ok := w.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Writer returns the response as an http.ResponseWriter, for standard
// handlers and libraries. What it writes is buffered like Write; it
// supports http.Flusher, and http.Hijacker when the connection does.
func (w *Response) Writer() http.ResponseWriter { return (*stdWriter)(w) }

// RawWriter returns the connection's own http.ResponseWriter, bypassing the
// buffer. Anything buffered should be flushed first.
func (w *Response) RawWriter() http.ResponseWriter { return w.w }

// stdWriter adapts Response to http.ResponseWriter.
type stdWriter Response

func (s *stdWriter) Header() http.Header { return s.w.Header() }

func (s *stdWriter) WriteHeader(code int) { (*Response)(s).WriteHeader(code) }

func (s *stdWriter) Write(p []byte) (int, error) {
	w := (*Response)(s)
	w.buf = append(w.buf, p...)
	w.spill()
	return len(p), nil
}

func (s *stdWriter) Flush() { (*Response)(s).Flush() }

func (s *stdWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w := (*Response)(s)
	w.beforeSend()
	w.committed = true
	return http.NewResponseController(w.w).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *stdWriter) Unwrap() http.ResponseWriter { return s.w }
