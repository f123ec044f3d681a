package baton

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// logAccess writes the access log line of a request.
func (s *Server) logAccess(r *Request) {
	end := monoNow()
	dur := time.Duration(end - r.start)
	if o := canaryObs.Load(); o != nil {
		o.Observe(r.resp.Status(), dur)
	}
	if !s.logLine.Load() {
		return
	}
	l := s.Logger()
	ctx := r.Request.Context()
	ip := remoteHost(r.RemoteAddr) // GetClientIp without trusted proxies, inlined
	if s.trust.Load() != nil {
		ip = r.GetClientIp()
	}
	id := ""
	if r.x != nil {
		id = r.x.id // the RequestID middleware's
	}
	if h, ok := l.Handler().(flushingHandler); ok && h.plain && s.logFields == nil {
		// The default logger: the line is formatted here, straight into
		// the buffer, as slog's TextHandler would format it. That costs a
		// tenth of what the Logger and the handler do for the same line.
		if !h.Enabled(ctx, slog.LevelInfo) {
			return
		}
		if h.b.writeAccess(end, dur, r.Method, r.URL.Path, ip, id, r.resp.Status(), r.resp.written, s.pid) {
			return
		}
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", r.resp.Status()),
		slog.Int64("bytes", r.resp.written),
		slog.Duration("dur", dur),
		slog.String("ip", ip),
	}
	if id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	attrs = append(attrs, slog.Int("pid", s.pid))
	if s.logFields != nil {
		attrs = s.accessFields(r, attrs)
	}
	l.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

// monoBase is the origin of monoNow.
var monoBase = time.Now()

// monoNow reads the monotonic clock alone, in nanoseconds since monoBase.
// time.Now reads the wall clock too: on Linux that is a second call into
// the vDSO, which under load costs as much as formatting an access line.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// wallClock converts monotonic readings to wall clock time, from a pair
// of readings it takes again once it is a second old. A wall clock
// stepped meanwhile shows in the lines of the next second; a slewed one
// drifts from it by half a millisecond a second at most.
type wallClock struct {
	mono int64 // monoNow at the pair's reading; 0 before the first
	wall int64 // Unix nanoseconds at the same time
	loc  *time.Location
}

// at returns the Unix time, as seconds and nanoseconds, of the monotonic
// reading mono, and the location of the wall clock.
func (c *wallClock) at(mono int64) (sec, nsec int64, loc *time.Location) {
	if c.mono == 0 || mono-c.mono >= int64(time.Second) || mono < c.mono {
		now := time.Now()
		c.mono, c.wall, c.loc = int64(now.Sub(monoBase)), now.UnixNano(), now.Location()
		if c.mono == 0 {
			c.mono = 1
		}
	}
	w := c.wall + (mono - c.mono)
	sec, nsec = w/1e9, w%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	return sec, nsec, c.loc
}

// Buffering of the default loggers' output.
//
// A write to standard error per access log line cost more CPU than the
// rest of serving a small request. The default loggers write into
// stderrLog instead, which sends what it holds at most logFlushDelay after
// the first line, once it holds logBufferSize bytes, after any record at
// Warn or above (with the lines before it, in order), and when a server
// has stopped. A process that dies without stopping its servers loses the
// last logFlushDelay of lines at most. A logger given by the application
// is used as it is.
const (
	logFlushDelay = 100 * time.Millisecond
	logBufferSize = 32 << 10
)

// stderrLog is the buffered standard error of the default loggers.
var stderrLog = &logBuffer{w: os.Stderr}

// logBuffer is an io.Writer that batches writes to w.
type logBuffer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	armed  bool          // a flush is scheduled
	stamp  timeStamp     // of writeAccess
	clock  wallClock     // of writeAccess
	pid    int           // of writeAccess: the pid of pidEnd
	pidEnd [pidText]byte // " pid=1234\n"
	pidLen int           // of pidEnd
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > logBufferSize {
		b.flushLocked()
		if len(p) > logBufferSize {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		time.AfterFunc(logFlushDelay, b.Flush)
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.armed = false
	b.mu.Unlock()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	b.w.Write(b.buf) // nowhere to report a failed write of the log
	b.buf = b.buf[:0]
}

// flushingHandler is a handler writing into a logBuffer that flushes it
// after each record at Warn or above, so that errors are seen at once.
type flushingHandler struct {
	slog.Handler
	b *logBuffer
	// plain says Handler is a TextHandler on b with no attributes, groups
	// or ReplaceAttr, whose access log lines writeAccess can write.
	plain bool
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), b: h.b}
}

// newTextLogger returns a server's default logger: text on the buffered
// standard error.
func newTextLogger(level slog.Leveler) *slog.Logger {
	return newBufferedLogger(stderrLog, level)
}

func newBufferedLogger(b *logBuffer, level slog.Leveler) *slog.Logger {
	h := slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})
	return slog.New(flushingHandler{Handler: h, b: b, plain: true})
}

// writeAccess appends the access log line of a request that ended at the
// monotonic reading end (of monoNow) and took dur to b, in the format of
// slog's TextHandler:
//
//	time=2026-11-21T17:35:02.113Z level=INFO msg=request method=GET path=/ status=200 bytes=16 dur=41.2µs ip=127.0.0.1 pid=5051
//
// with " request_id=<id>" before the pid when id is not empty.
// It returns false, writing nothing, for a line it does not format the
// same way: a method or path that TextHandler would quote, or a path too
// long to be worth it. The caller then logs it through slog.
func (b *logBuffer) writeAccess(end int64, dur time.Duration, method, path, ip, id string, status int, bytes int64, pid int) bool {
	if len(path) > maxAccessPath || len(ip) > maxAccessIP || !bareMethod(method) || !barePath(path) || !barePath(ip) ||
		id != "" && (len(id) > maxRequestID || !barePath(id)) {
		return false
	}
	b.mu.Lock()
	sec, nsec, loc := b.clock.at(end)
	ok := b.appendAccess(sec, nsec, loc, dur, method, path, ip, id, status, bytes, pid)
	b.mu.Unlock()
	return ok
}

// appendAccess writes the line of writeAccess for the time sec, nsec in
// loc; b.mu is held. It returns false for a year outside 0-9999.
//
// The line is written in place, into the spare capacity of the buffer:
// the parts of fixed size (the time up to its seconds, the zone and the
// keys, the pid) are copied as whole arrays, possibly past their end, and
// the next part is written over the excess, which saves the capacity
// check and the call to memmove that each append makes.
func (b *logBuffer) appendAccess(sec, nsec int64, loc *time.Location, dur time.Duration, method, path, ip, id string, status int, bytes int64, pid int) bool {
	ts := &b.stamp
	if sec != ts.sec || loc != ts.loc || !ts.set {
		ts.build(sec, loc)
	}
	if !ts.ok {
		return false
	}
	need := accessSlack + len(method) + len(path) + len(ip) + len(id)
	if pid != b.pid || b.pidLen == 0 {
		b.setPid(pid)
	}
	if len(b.buf)+need > logBufferSize {
		b.flushLocked()
	}
	if cap(b.buf)-len(b.buf) < need {
		b.buf = slices.Grow(b.buf, logBufferSize+need)
	}
	n := len(b.buf)
	p := b.buf[:cap(b.buf)]
	*(*[stampHead]byte)(p[n:]) = ts.head
	n += stampHead
	put3(p, n, int(nsec/1e6))
	n += 3
	*(*[stampTail]byte)(p[n:]) = ts.tail
	n += ts.tailLen
	n += copy(p[n:], method)
	*(*[8]byte)(p[n:]) = keyPath
	n += len(" path=")
	n += copy(p[n:], path)
	*(*[8]byte)(p[n:]) = keyStatus
	n += len(" status=")
	n = putInt(p, n, int64(status))
	*(*[8]byte)(p[n:]) = keyBytes
	n += len(" bytes=")
	n = putInt(p, n, bytes)
	*(*[8]byte)(p[n:]) = keyDur
	n += len(" dur=")
	if 0 < dur && dur < time.Second {
		n = putSubsecond(p, n, uint64(dur))
	} else {
		n += copy(p[n:], dur.String())
	}
	*(*[8]byte)(p[n:]) = keyIP
	n += len(" ip=")
	n += copy(p[n:], ip)
	if id != "" {
		n += copy(p[n:], " request_id=")
		n += copy(p[n:], id)
	}
	*(*[pidText]byte)(p[n:]) = b.pidEnd
	n += b.pidLen
	b.buf = p[:n]
	if !b.armed {
		b.armed = true
		time.AfterFunc(logFlushDelay, b.Flush)
	}
	return true
}

const (
	// maxAccessPath is the longest path writeAccess writes itself.
	maxAccessPath = 1024
	// maxAccessIP is the longest client address it writes itself: an
	// IPv6 address with a zone fits.
	maxAccessIP = 64
	// accessSlack is room enough for an access line besides its method,
	// path, client and request ID, with what the copies of arrays write
	// past its end.
	accessSlack = 256
	// stampHead is the length of "time=2006-01-02T15:04:05.".
	stampHead = len("time=2006-01-02T15:04:05.")
	// stampTail holds the longest zone and the keys up to the method's
	// value.
	stampTail = 40
	// pidText holds " pid=-9223372036854775808\n".
	pidText = 32
)

// setPid sets the end of the line writeAccess writes: " pid=1234\n".
func (b *logBuffer) setPid(pid int) {
	t := append(strconv.AppendInt([]byte(" pid="), int64(pid), 10), '\n')
	b.pid = pid
	b.pidLen = copy(b.pidEnd[:], t)
}

// The keys writeAccess copies as arrays, padded to eight bytes.
var (
	keyPath   = [8]byte{' ', 'p', 'a', 't', 'h', '='}
	keyStatus = [8]byte{' ', 's', 't', 'a', 't', 'u', 's', '='}
	keyBytes  = [8]byte{' ', 'b', 'y', 't', 'e', 's', '='}
	keyDur    = [8]byte{' ', 'd', 'u', 'r', '='}
	keyIP     = [8]byte{' ', 'i', 'p', '='}
)

// pairs holds the two digits of each number below 100.
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// put3 writes n, 0 <= n <= 999, as three digits into p at i.
func put3(p []byte, i, n int) {
	p[i] = byte('0' + n/100)
	n = n % 100 * 2
	p[i+1], p[i+2] = pairs[n], pairs[n+1]
}

// putInt writes the decimal digits of n into p at i, as strconv.AppendInt
// does, and returns the index after them. p has room for them.
func putInt(p []byte, i int, n int64) int {
	switch {
	case n < 0 || n >= 1e12:
		return len(strconv.AppendInt(p[:i], n, 10))
	case n < 10:
		p[i] = byte('0' + n)
		return i + 1
	case n < 100:
		p[i], p[i+1] = pairs[2*n], pairs[2*n+1]
		return i + 2
	case n < 1000:
		put3(p, i, int(n))
		return i + 3
	}
	d := 4
	for m := n / 1e4; m > 0; m /= 10 {
		d++
	}
	end := i + d
	j := end
	for n >= 10 {
		q := n % 100 * 2
		n /= 100
		j -= 2
		p[j], p[j+1] = pairs[q], pairs[q+1]
	}
	if j > i {
		p[i] = byte('0' + n)
	}
	return end
}

// putSubsecond writes u nanoseconds, 0 < u < 1s, as Duration.String does
// ("7ns", "41.2µs", "1.5ms"), into p at i and returns the index after them.
func putSubsecond(p []byte, i int, u uint64) int {
	if u < 1e3 {
		i = putInt(p, i, int64(u))
		p[i], p[i+1] = 'n', 's'
		return i + 2
	}
	// The fraction's digits, then back over its trailing zeros, and over
	// the point if nothing is left of it.
	if u < 1e6 {
		i = putInt(p, i, int64(u/1e3))
		p[i] = '.'
		put3(p, i+1, int(u%1e3))
		i += 4
	} else {
		i = putInt(p, i, int64(u/1e6))
		p[i] = '.'
		frac := int(u % 1e6)
		put3(p, i+1, frac/1e3)
		put3(p, i+4, frac%1e3)
		i += 7
	}
	for p[i-1] == '0' {
		i--
	}
	if p[i-1] == '.' {
		i--
	}
	if u < 1e6 {
		p[i], p[i+1], p[i+2] = 0xc2, 0xb5, 's' // µs
		return i + 3
	}
	p[i], p[i+1] = 'm', 's'
	return i + 2
}

// bareMethod reports whether TextHandler writes the method s without
// quotes, as bareText judges.
func bareMethod(s string) bool {
	switch s {
	case "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS":
		return true
	}
	return bareText(s)
}

// barePath is bareText, eight bytes at a time.
func barePath(s string) bool {
	if len(s) < 8 {
		return bareText(s)
	}
	for i := 0; i+8 <= len(s); i += 8 {
		if quotable(load64(s, i)) {
			return false
		}
	}
	// The last eight bytes, overlapping those checked already.
	return !quotable(load64(s, len(s)-8))
}

// load64 loads the eight bytes of s at i, little-endian, in one load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// quotable reports whether any of the eight bytes in x is one bareText
// refuses: below '!', above '~', or one of '=', '"' and '\\'. The tests
// are the word-wide ones for a byte below n (x - n) &^ x, above n
// (x + 127 - n) | x, and zero (x - 1) &^ x, each in the high bit of a
// byte; a borrow or carry between bytes only ever follows a byte that
// matched, so whether any byte matched is exact.
func quotable(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	eq := func(c uint64) uint64 {
		y := x ^ ones*c
		return (y - ones) &^ y
	}
	return ((x-ones*'!')&^x|(x+ones)|x|eq('=')|eq('"')|eq('\\'))&highs != 0
}

// bareText reports whether TextHandler writes s without quotes, judging
// by a narrower rule than its own: s is not empty and is printable ASCII
// other than space, '=', '"' and '\\'.
func bareText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// timeStamp is the text of the time in access lines, as TextHandler
// writes it (RFC 3339 with milliseconds), kept for the last second and
// location it was made for: most lines then only write their milliseconds.
type timeStamp struct {
	sec     int64           // Unix seconds of the text held
	loc     *time.Location  // and its location
	set     bool            // the fields are set
	ok      bool            // the year has four digits, as the format needs
	head    [stampHead]byte // "time=2006-01-02T15:04:05."
	tail    [stampTail]byte // "-07:00 level=INFO msg=request method="
	tailLen int             // of tail
}

// build makes the text of the second sec in loc.
func (ts *timeStamp) build(sec int64, loc *time.Location) {
	t := time.Unix(sec, 0).In(loc)
	ts.sec, ts.loc, ts.set = sec, loc, true
	y := t.Year()
	ts.ok = 0 <= y && y <= 9999
	if !ts.ok {
		return
	}
	copy(ts.head[:], t.AppendFormat([]byte("time="), "2006-01-02T15:04:05."))
	tail := append(t.AppendFormat(nil, "Z07:00"), " level=INFO msg=request method="...)
	ts.tailLen = copy(ts.tail[:], tail)
}
