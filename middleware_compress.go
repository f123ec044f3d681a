package baton

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzhttp"
)

// CompressConfig configures the Compress middleware. The zero value is
// ready to use.
type CompressConfig struct {
	// MinSize is the smallest body compressed, in bytes: smaller ones gain
	// nothing, being sent in a packet anyway. If zero, 1024.
	MinSize int `yaml:"minSize"`
	// Level is the gzip level, from 1 (fastest) to 9 (smallest), or -2
	// for Huffman only. If zero, 5 (gzhttp's default, compress/gzip's 6
	// in output at a fraction of the CPU).
	Level int `yaml:"level"`
	// ZstdLevel is the zstd level, 1 (fastest) to 4 (best). If zero, 1.
	ZstdLevel int `yaml:"zstdLevel"`
	// DisableZstd leaves zstd out: gzip only.
	DisableZstd bool `yaml:"disableZstd"`
	// ContentTypes, if not empty, lists the media types compressed
	// ("text/html", "application/json"); others are sent as they are. If
	// empty, every type is compressed but those compressed already:
	// images but SVG, BMP and icons, WOFF fonts, and what gzhttp's
	// DefaultContentTypeFilter leaves out (audio, video, archives).
	// text/event-stream never is.
	ContentTypes []string `yaml:"contentTypes"`
}

// DefaultCompressMinSize is the CompressConfig.MinSize default.
const DefaultCompressMinSize = gzhttp.DefaultMinSize

// Compress returns middleware that compresses responses with gzip, or
// with zstd when the client accepts it (and prefers it, or is indifferent)
// in Accept-Encoding, with klauspost/compress's gzhttp. It adds Vary:
// Accept-Encoding. A response is sent as it is when its body is smaller
// than c.MinSize, its type is compressed already, it has a
// Content-Encoding or Content-Range of its own, or it is a stream: a
// Flush before the handler returns (Server-Sent Events) sends it
// uncompressed. HEAD requests, requests with a Range header (so that
// ranges stay ranges of the file) and WebSocket upgrades are not
// compressed.
//
// A compressed response has the Content-Length of its compressed bytes
// and no Accept-Ranges; a strong ETag becomes weak (W/"..."), as nginx
// does, since the bytes are not the identity's, and If-None-Match still
// matches it. It panics on levels gzhttp refuses.
func Compress(c CompressConfig) HandlerFunc { return must(newCompress(c)) }

// must returns h, or panics with err: the public constructors of
// middleware panic on a configuration the file would have refused.
func must(h HandlerFunc, err error) HandlerFunc {
	if err != nil {
		panic(err)
	}
	return h
}

// newCompress is Compress, with an error for levels gzhttp refuses.
func newCompress(c CompressConfig) (HandlerFunc, error) {
	minSize := c.MinSize
	if minSize <= 0 {
		minSize = DefaultCompressMinSize
	}
	filter := compressFilter(c.ContentTypes)
	opts := list(gzhttp.MinSize(minSize), gzhttp.ContentTypeFilter(filter), gzhttp.EnableZstd(!c.DisableZstd))
	if c.Level != 0 {
		opts = append(opts, gzhttp.CompressionLevel(c.Level))
	}
	if c.ZstdLevel != 0 {
		opts = append(opts, gzhttp.ZstdCompressionLevel(c.ZstdLevel))
	}
	wrap, err := gzhttp.NewWrapper(opts...)
	if err != nil {
		return nil, fmt.Errorf("baton: Compress: %w", err)
	}
	h := wrap(http.HandlerFunc(compressInner))
	return func(r *Request) {
		hdr := r.Header
		if r.Method == http.MethodHead || len(hdr["Accept-Encoding"]) == 0 || len(hdr["Range"]) != 0 {
			// Nothing to negotiate, or the identity it must be.
			r.Response.Header().Add("Vary", "Accept-Encoding")
			r.Middleware.Next()
			return
		}
		if len(hdr["Upgrade"]) != 0 {
			r.Middleware.Next()
			return
		}
		cw := compressPool.Get().(*compressWriter)
		outer := r.Response
		cw.r, cw.outer = r, outer
		cw.inner.w, cw.inner.req = &cw.guard, r
		r.Response = &cw.inner
		defer cw.release(r)
		h.ServeHTTP(&cw.sink, r.Request)
	}, nil
}

// list returns its arguments: a slice of gzhttp's unexported option type.
func list[T any](xs ...T) []T { return xs }

// MiddlewareGzip is Compress with the default configuration, under
// GoFrame's name.
func MiddlewareGzip(r *Request) { defaultCompress(r) }

var defaultCompress = Compress(CompressConfig{})

// compressFilter returns the content type filter of c.ContentTypes.
func compressFilter(types []string) func(string) bool {
	allow := map[string]bool{}
	for _, t := range types {
		allow[strings.ToLower(strings.TrimSpace(t))] = true
	}
	return func(ct string) bool {
		mt, _, err := mime.ParseMediaType(ct)
		if ct != "" && err != nil {
			return false
		}
		if mt == "text/event-stream" {
			return false
		}
		if len(allow) > 0 {
			return allow[mt]
		}
		return !compressedAlready(mt) && gzhttp.DefaultContentTypeFilter(ct)
	}
}

// compressedAlready reports whether the media type mt is a format
// compressed in itself, beyond those gzhttp knows (audio, video, JPEG,
// archives): the other images but SVG, BMP and icons, and WOFF fonts.
func compressedAlready(mt string) bool {
	switch mt {
	case "image/svg+xml", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon":
		return false
	case "font/woff", "font/woff2", "application/font-woff":
		return true
	}
	return strings.HasPrefix(mt, "image/")
}

// compressInner runs the rest of the chain under gzhttp's writer w and
// sends the buffered response through it.
func compressInner(w http.ResponseWriter, req *http.Request) {
	cw := compressWriterOf(w)
	cw.gz = w
	r := cw.r
	r.Request = req
	r.Middleware.Next()
	if !cw.inner.abort {
		cw.inner.finish()
	}
}

// compressWriterOf finds the compressWriter below gzhttp's writer.
func compressWriterOf(w http.ResponseWriter) *compressWriter {
	for {
		switch x := w.(type) {
		case *compressSink:
			return x.cw
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			panic("baton: Compress: gzhttp's writer hides baton's")
		}
	}
}

// compressWriter is the state of one compressed response. Writes go
//
//	handler -> inner (a Response: the buffer) -> guard -> gzhttp -> sink -> outer
//
// where outer is the Response the middleware found, which buffers again
// and sends with a Content-Length.
type compressWriter struct {
	r     *Request
	outer *Response
	inner Response
	gz    http.ResponseWriter
	guard compressGuard
	sink  compressSink
}

var compressPool = sync.Pool{New: func() any {
	cw := new(compressWriter)
	cw.guard.cw, cw.sink.cw = cw, cw
	return cw
}}

// release puts the outer Response back and cw in the pool.
func (cw *compressWriter) release(r *Request) {
	r.Response = cw.outer
	if cw.inner.abort {
		cw.outer.abort = true
	}
	buf := cw.inner.buf
	if cap(buf) > 64<<10 {
		buf = nil
	}
	cw.r, cw.outer, cw.gz = nil, nil, nil
	cw.inner = Response{buf: buf[:0]}
	cw.sink.etagDone = false
	compressPool.Put(cw)
}

// compressGuard is the inner Response's writer: it keeps gzhttp from
// compressing a stream.
type compressGuard struct{ cw *compressWriter }

func (g *compressGuard) Header() http.Header { return g.cw.gz.Header() }

func (g *compressGuard) WriteHeader(code int) { g.cw.gz.WriteHeader(code) }

func (g *compressGuard) Write(p []byte) (int, error) {
	cw := g.cw
	if cw.inner.streaming {
		cw.noCompressStream()
	}
	return cw.gz.Write(p)
}

func (g *compressGuard) Flush() {
	cw := g.cw
	cw.noCompressStream()
	http.NewResponseController(cw.gz).Flush()
}

// Unwrap lets http.ResponseController reach gzhttp's writer.
func (g *compressGuard) Unwrap() http.ResponseWriter { return g.cw.gz }

// noCompressStream tells gzhttp to send the response as it is, unless it
// has begun compressing it.
func (cw *compressWriter) noCompressStream() {
	h := cw.gz.Header()
	if h.Get("Content-Encoding") == "" {
		h.Set(gzhttp.HeaderNoCompression, "1")
	}
}

// compressSink is gzhttp's writer: it writes into the outer Response.
type compressSink struct {
	cw       *compressWriter
	etagDone bool
}

func (s *compressSink) Header() http.Header { return s.cw.outer.Header() }

func (s *compressSink) WriteHeader(code int) {
	s.weakenETag()
	s.cw.outer.WriteHeader(code)
}

func (s *compressSink) Write(p []byte) (int, error) {
	s.weakenETag()
	return s.cw.outer.Writer().Write(p)
}

func (s *compressSink) Flush() {
	s.weakenETag()
	s.cw.outer.Flush()
}

// weakenETag makes a strong ETag weak once the body is compressed: the
// same entity, other bytes.
func (s *compressSink) weakenETag() {
	if s.etagDone {
		return
	}
	s.etagDone = true
	h := s.cw.outer.Header()
	if h.Get("Content-Encoding") == "" {
		return
	}
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("Etag", "W/"+et)
	}
}
