package baton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// TimeoutConfig configures the Timeout middleware.
type TimeoutConfig struct {
	// Timeout is how long the rest of the chain may run. It must be
	// positive.
	Timeout time.Duration `yaml:"timeout"`
	// Status answers a request that overran: 503 Service Unavailable or
	// 504 Gateway Timeout. If zero, 503.
	Status int `yaml:"status"`
	// Message is the body of that answer. If empty, the status text.
	Message string `yaml:"message"`
}

// Timeout returns middleware that bounds the time of the rest of the
// chain: the handler runs with a context that is cancelled after
// c.Timeout (r.Context().Done(), for database calls and outgoing
// requests), and if it has not returned by then the client is answered
// c.Status at once, with what the handler wrote discarded. Use it on a
// group or route (RouterGroup.Middleware, Server.BindMiddleware), or on
// the server.
//
// The handler runs in a goroutine of its own, writing into a buffer of
// its own, so that it never races with the answer. Its Request stays its
// own until it returns: the middleware waits for that before returning,
// since the Request is recycled afterwards, so a handler that ignores its
// context holds its connection (not the answer) until it ends. What it
// changes of the session and the cookies after the deadline is dropped.
// A handler that has streamed (Flush) before the deadline keeps its
// status; its context is cancelled all the same. A WebSocket upgrade is
// not timed.
//
// It panics if c.Timeout is not positive.
func Timeout(c TimeoutConfig) HandlerFunc { return must(newTimeout(c)) }

// newTimeout is Timeout, with an error for a timeout or status that
// cannot be.
func newTimeout(c TimeoutConfig) (HandlerFunc, error) {
	if c.Timeout <= 0 {
		return nil, errors.New("baton: Timeout: the timeout must be positive")
	}
	status := c.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if status < 500 || status > 599 {
		return nil, fmt.Errorf("baton: Timeout: status %d is not a server error (503 or 504)", status)
	}
	body := c.Message
	if body == "" {
		body = http.StatusText(status) + "\n"
	}
	return func(r *Request) {
		if len(r.Header["Upgrade"]) != 0 {
			r.Middleware.Next()
			return
		}
		runTimed(r, c.Timeout, status, body)
	}, nil
}

// goexit is the value a timed handler's goroutine reports when the
// handler called runtime.Goexit.
type goexit struct{}

// runTimed runs the rest of r's chain in a goroutine under a deadline.
func runTimed(r *Request, d time.Duration, status int, body string) {
	ctx, cancel := context.WithTimeout(r.Request.Context(), d)
	defer cancel()
	outer := r.Response
	tw := &timeoutWriter{out: outer, h: make(http.Header), ctx: ctx}
	if r.x != nil && r.x.id != "" {
		tw.idKey, tw.idVal = r.x.idHeader, r.x.id
	}
	inner := &Response{w: tw, req: r}
	r.Request = r.Request.WithContext(ctx)
	r.Response = inner
	done := make(chan any, 1)
	go func() {
		ended := false
		var p any
		defer func() {
			if !ended {
				if p = recover(); p == nil {
					p = goexit{}
				}
			}
			done <- p
		}()
		r.Middleware.Next()
		if !inner.abort {
			inner.finish()
		}
		ended = true
	}()
	var p any
	select {
	case p = <-done:
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			tw.timeout(status, body)
		}
		// The Request is the handler's until it returns.
		p = <-done
	}
	// From here the handler has returned: r is this goroutine's again.
	r.Response = outer
	if tw.timedOut {
		r.Session.discarded = true
		r.Cookie.discard()
	}
	if inner.abort {
		outer.abort = true
	}
	switch p.(type) {
	case nil:
	case goexit:
		runtime.Goexit()
	default:
		panic(p)
	}
}

// timeoutWriter is the writer of a timed handler's Response. Until the
// deadline it passes the response on to the outer Response; from the
// moment the handler's context is done, writes fail with
// http.ErrHandlerTimeout, so that nothing a handler writes on seeing it
// done gets through. Its header map is its own, so
// that the handler's changes never touch the one the answer is sent
// with.
type timeoutWriter struct {
	mu           sync.Mutex
	ctx          context.Context // the handler's: once done, no write passes
	out          *Response
	h            http.Header
	code         int
	started      bool // h and code are in out
	timedOut     bool
	idKey, idVal string // the request ID header, kept in the answer
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	if !tw.started {
		tw.code = code
	}
	tw.mu.Unlock()
}

func (tw *timeoutWriter) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut || tw.ctx.Err() != nil {
		return 0, http.ErrHandlerTimeout
	}
	tw.start()
	return tw.out.Writer().Write(p)
}

func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut || tw.ctx.Err() != nil {
		return
	}
	tw.start()
	tw.out.Flush()
}

// start moves the handler's status and headers to the outer Response;
// tw.mu is held.
func (tw *timeoutWriter) start() {
	if tw.started {
		return
	}
	tw.started = true
	dst := tw.out.Header()
	for k, v := range tw.h {
		dst[k] = v
	}
	if tw.code != 0 {
		tw.out.WriteHeader(tw.code)
	}
}

// timeout answers status with body at the deadline, unless the response
// is on its way already, and makes later writes fail. It runs beside the
// handler, so it touches neither the Request nor the outer Response's
// cookies: it writes the connection's own writer.
func (tw *timeoutWriter) timeout(status int, body string) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.timedOut = true
	out := tw.out
	if out.committed {
		return
	}
	raw := out.w
	h := raw.Header()
	for k := range h {
		delete(h, k)
	}
	if tw.idKey != "" {
		h[tw.idKey] = []string{tw.idVal}
	}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	out.buf = out.buf[:0]
	out.status, out.committed = status, true
	raw.WriteHeader(status)
	n, _ := io.WriteString(raw, body)
	out.written += int64(n)
	http.NewResponseController(raw).Flush()
}
