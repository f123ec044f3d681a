package baton

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/julienschmidt/httprouter"
)

// The request path, top to bottom: the connection's per-request hook
// (serveConn), Server.ServeHTTP, the route closure (handler) that takes a
// Request from the pool, the handler chain (Middleware.Next, Exit, panics),
// and the response flush (done, Response.finish), then the reset for the
// pool.
//
// NOTE: this path is tuned to the instruction (bench/instructions.sh): no
// allocation, lock or pointer store more per request.

// serveConn is the handler the http.Server runs: during a drain it asks
// HTTP/1 clients to close after the response.
func (s *Server) serveConn(w http.ResponseWriter, req *http.Request) {
	if s.draining.Load() {
		if req.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		s.conns.served.Add(1)
	}
	s.ServeHTTP(w, req)
}

// ServeHTTP dispatches the request to the route its method and path match,
// runs the middleware chain, and writes the buffered response. It makes
// *Server an http.Handler, usable with httptest or mounted anywhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if rw := s.rewrites.Load(); rw != nil {
		if to, ok := (*rw)[req.URL.Path]; ok {
			req.URL.Path, req.URL.RawPath = to, ""
		}
	}
	t := s.router.tree.Load()
	if t == nil {
		t = s.router.compile()
	}
	if devMode.Load() != nil && strings.HasPrefix(req.URL.Path, DevPathPrefix) {
		s.router.dev(w, req, nil)
		return
	}
	if t.own != nil {
		t.own.ServeHTTP(w, req)
		return
	}
	t.hr.ServeHTTP(w, req)
}

var requestPool = sync.Pool{New: func() any {
	r := new(Request)
	r.Response = &r.resp
	r.resp.req = r
	r.Middleware.r = r
	r.Cookie.r = r
	r.Session.r = r
	return r
}}

// handler returns the function the serving tree calls for a route with
// the given chain. The whole of a request's path through baton is in it,
// and the chain is in the closure, so that serving a request costs one
// call besides the chain's.
func (s *Server) handler(chain []HandlerFunc) httprouter.Handle {
	return func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		r := requestPool.Get().(*Request)
		logOn := s.access.Load()
		if logOn {
			r.start = monoNow()
		}
		// While the GC marks, every pointer stored costs a write barrier:
		// what is already in place is not stored again.
		r.Request = req
		if r.Server != s {
			r.Server = s
		}
		if ps != nil || r.params != nil {
			r.params = ps
		}
		m := &r.Middleware
		m.chain = chain
		resp := &r.resp
		resp.w = w
		returned := false
		defer func() {
			if !returned {
				// The chain panicked (or called runtime.Goexit, and
				// recover returns nil). Only then is recover called: the
				// check costs less than the call.
				r.unwound(recover())
				if hs := s.hooks.Load(); hs != nil {
					r.beforeOutput(hs, false)
				}
				r.done(logOn)
			}
		}()
		// Hooks and status handlers (hooks.go): each point is behind a
		// nil check of hs, which is all a server without them pays. The
		// deferred function loads its own, not to capture this one.
		hs := s.hooks.Load()
		if req.Body == nil || req.Body == http.NoBody || s.limitBody(r) {
			if hs != nil && !r.beforeServe(hs) {
				// ExitAll in a HookBeforeServe hook: no chain.
			} else if len(chain) == 1 {
				// No middleware: nothing resumes after an Exit, so this
				// frame's recover serves for it and the handler runs
				// without one of its own.
				m.index = 1
				chain[0](r)
			} else {
				m.Next()
			}
		}
		returned = true
		if hs != nil {
			r.beforeOutput(hs, true)
		}
		if resp.status == 0 && len(resp.buf) < chunkingThreshold && !resp.committed && !resp.abort &&
			!r.Session.loaded && len(r.Cookie.out) == 0 && devMode.Load() == nil {
			// The common response, a small 200 with no cookie to set, is
			// what finish would send: one write, to which net/http adds
			// the Content-Length.
			if len(resp.buf) > 0 {
				n, _ := w.Write(resp.buf)
				resp.written = int64(n)
			}
			if hs != nil {
				r.afterOutput(hs)
			}
			if logOn {
				s.logAccess(r)
			}
			r.reset()
			requestPool.Put(r)
			return
		}
		r.done(logOn)
	}
}

// limitBody applies the body size limit; it answers 413 and returns false
// for a body declared too large.
func (s *Server) limitBody(r *Request) bool {
	limit := s.bodyMax.Load()
	req := r.Request
	if limit <= 0 || req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if req.ContentLength > limit {
		r.resp.Header().Set("Connection", "close")
		r.resp.WriteStatus(http.StatusRequestEntityTooLarge)
		return false
	}
	req.Body = http.MaxBytesReader(r.resp.w, req.Body, limit)
	return true
}

// Middleware is the position of a request in its handler chain.
type Middleware struct {
	r     *Request
	chain []HandlerFunc
	index int
	// exitAll is set by ExitAll, exitHook by ExitHook (hooks.go). A hook
	// that ends with ExitHook clears exitHook; otherwise either flag
	// comes with Request.exited set, which makes reset clear them.
	exitAll, exitHook bool
}

// Next runs the next handler of the chain and returns when it has
// returned. A middleware that does not call Next ends the chain there.
func (m *Middleware) Next() {
	if m.index >= len(m.chain) || m.r.exited {
		return
	}
	h := m.chain[m.index]
	m.index++
	m.r.call(h)
}

// exitSignal is the panic value Exit uses to unwind a handler.
type exitSignal struct{}

// call runs h, turning Exit's unwinding into a stop of the chain and
// keeping the stack of a real panic for the log.
func (r *Request) call(h HandlerFunc) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(exitSignal); ok {
				r.exited = true
				return
			}
			if r.panicStack == nil {
				r.panicStack = debug.Stack()
			}
			panic(p)
		}
	}()
	h(r)
}

// Exit stops the handler chain: the current handler returns at once, no
// handler after it runs, and middleware before it resume after their Next.
func (r *Request) Exit() {
	panic(exitSignal{})
}

// IsExited reports whether Exit was called.
func (r *Request) IsExited() bool { return r.exited }

// unwound handles what stopped a handler chain before it returned: Exit,
// or a panic.
func (r *Request) unwound(p any) {
	if p == nil {
		return
	}
	if _, ok := p.(exitSignal); ok {
		r.exited = true
		return
	}
	r.Server.recovered(r, p)
}

// recovered turns a handler panic into a 500 and a log line with the stack.
func (s *Server) recovered(r *Request, p any) {
	// A request that failed half-way keeps none of its changes.
	r.Session.discarded = true
	r.Cookie.discard()
	if p == http.ErrAbortHandler {
		r.resp.abort = true
		return
	}
	s.logPanic(r, p, r.panicStack)
	r.resp.fail(http.StatusInternalServerError)
}

// logPanic logs a handler's panic, with its stack unless
// ServerConfig.ErrorStackDisabled; a nil stack is taken here.
func (s *Server) logPanic(r *Request, p any, stack []byte) {
	attrs := []any{"err", fmt.Sprint(p), "method", r.Method, "path", r.URL.Path, "pid", s.pid}
	s.mu.Lock()
	withStack := !s.cfg.ErrorStackDisabled
	s.mu.Unlock()
	if withStack {
		if stack == nil {
			stack = debug.Stack()
		}
		attrs = append(attrs, "stack", string(stack))
	}
	if o := canaryObs.Load(); o != nil {
		o.Panic()
	}
	r.Logger().Error("baton: handler panic", attrs...)
}

// done saves the session, if used, sends the response, logs it, and puts
// r back in the pool.
func (r *Request) done(logOn bool) {
	if r.Session.loaded && !r.Session.save() && !r.resp.committed {
		r.Cookie.discard()
		r.resp.fail(http.StatusInternalServerError)
	}
	r.resp.finish()
	if hs := r.Server.hooks.Load(); hs != nil {
		r.afterOutput(hs)
	}
	if logOn {
		r.Server.logAccess(r)
	}
	r.reset()
	requestPool.Put(r)
}

// chunkingThreshold mirrors net/http: a response smaller than its internal
// buffer written before the handler returns gets a Content-Length set by
// net/http itself, so it need not be set here (which would allocate).
const chunkingThreshold = 2048

// finish sends the buffered response in one write.
func (w *Response) finish() {
	if w.abort {
		panic(http.ErrAbortHandler)
	}
	if d := devMode.Load(); d != nil {
		w.injectDev(d)
	}
	if !w.committed {
		if w.sniff && len(w.buf) > 0 && w.w.Header().Get("Content-Type") == "" {
			// As net/http would at the first write, but every writer
			// (a recorder too) gets it.
			w.w.Header().Set("Content-Type", http.DetectContentType(w.buf))
		}
		if len(w.buf) >= chunkingThreshold && w.w.Header().Get("Content-Length") == "" {
			w.w.Header().Set("Content-Length", strconv.Itoa(len(w.buf)))
		}
		w.commit()
	}
	if len(w.buf) > 0 {
		n, _ := w.w.Write(w.buf)
		w.written += int64(n)
		w.buf = w.buf[:0]
	}
}

// commit sends the headers, once.
func (w *Response) commit() {
	if w.committed {
		return
	}
	if r := w.req; r != nil && (r.Session.loaded || len(r.Cookie.out) > r.Cookie.sent) {
		w.beforeSend()
	}
	w.committed = true
	if w.status != 0 && w.status != http.StatusOK {
		w.w.WriteHeader(w.status)
	}
	// A 200 is implied by the first Write or Flush, as net/http does it.
}

// beforeSend puts the cookies of the request, the session's included,
// into the headers about to be sent.
func (w *Response) beforeSend() {
	r := w.req
	if r == nil {
		return
	}
	if r.Session.loaded {
		r.Session.beforeSend()
	}
	if len(r.Cookie.out) > r.Cookie.sent {
		r.Cookie.flush(w.w.Header())
	}
}

func (w *Response) sendBuffer() {
	if len(w.buf) == 0 {
		return
	}
	n, _ := w.w.Write(w.buf)
	w.written += int64(n)
	w.buf = w.buf[:0]
}

// fail replaces an unsent response with a bare status.
func (w *Response) fail(status int) {
	if w.committed {
		return
	}
	w.buf = w.buf[:0]
	h := w.w.Header()
	for k := range h {
		delete(h, k)
	}
	if r := w.req; r != nil && r.x != nil && r.x.id != "" {
		h[r.x.idHeader] = []string{r.x.id} // the ID stays, to be quoted
	}
	w.status = 0
	w.WriteStatus(status)
}

// reset readies r for the pool. It clears each field that a request sets
// rather than assigning a whole Request: that copy moved the embedded
// Response twice and, while the GC runs, put a write barrier on every
// pointer of both structs, which made it the costliest step of a request.
//
// NOTE: a field added to Request must be cleared here (or in resetUsed),
// unless the next request always sets it before use, as it does Server,
// params, the chain and start.
func (r *Request) reset() {
	r.resp.reset()
	// The request and its writer are let go of, not to keep them in the
	// pool; Server, the chain and params are replaced by the next request.
	// Pointers are cleared only when set: while the GC marks, every pointer
	// stored costs a write barrier.
	r.Request = nil
	r.Middleware.index = 0
	if r.query != nil || r.bodyRead || r.rawRead || r.x != nil || r.exited || r.panicStack != nil ||
		len(r.Cookie.out) != 0 || r.Cookie.sent != 0 || r.Session.dirty() {
		r.resetUsed()
	}
}

// resetUsed clears what only some requests use.
func (r *Request) resetUsed() {
	r.query = nil
	r.body, r.bodyErr, r.bodyRead = nil, nil, false
	r.queryNest = false
	r.raw, r.rawErr, r.rawRead = nil, nil, false
	r.x = nil
	r.exited = false
	r.Middleware.exitAll, r.Middleware.exitHook = false, false
	r.panicStack = nil
	r.Cookie.reset(r)
	if r.Session.dirty() {
		r.Session = Session{r: r}
	}
}
