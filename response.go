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
	"os"
	"path/filepath"
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
	written   int64
}

func (w *Response) reset() {
	if cap(w.buf) > 64<<10 {
		w.buf = nil // don't pin large buffers in the pool
	}
	w.buf = w.buf[:0]
	w.w = nil
	w.status, w.written = 0, 0
	w.committed, w.streaming, w.abort = false, false, false
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

// Write appends each value to the response: strings and byte slices as
// they are, errors by their message, anything else as fmt.Sprint prints it.
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

// WriteJson sets Content-Type to application/json and writes v as JSON.
// It returns the encoding error, if any, and writes nothing then.
func (w *Response) WriteJson(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("baton: WriteJson: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.buf = append(w.buf, data...)
	w.buf = append(w.buf, '\n')
	w.spill()
	return nil
}

// WriteStatus sets the status and writes content, or the status text if
// content is empty.
func (w *Response) WriteStatus(status int, content ...any) {
	w.WriteHeader(status)
	if len(content) == 0 {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.buf = append(w.buf, http.StatusText(status)...)
		w.buf = append(w.buf, '\n')
		w.spill()
		return
	}
	w.Write(content...)
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
