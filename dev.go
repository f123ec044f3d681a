package baton

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-go/baton/internal/watch"
	"github.com/gorilla/websocket"
)

// DevPathPrefix is the path below which a worker in development mode
// answers by itself, before any route: DevPathPrefix+"dev.js" is the page
// script and DevPathPrefix+"dev" its WebSocket.
const DevPathPrefix = "/__baton/"

// devMode is the development state of this worker, nil when development
// mode is off. It is process-level, like the worker handle: the master
// sets it through the control channel.
//
// NOTE: when it is nil, the request path pays exactly one atomic load for
// development mode (in ServeHTTP and in Response.finish); keep it so.
var devMode atomic.Pointer[devInfo]

// devInfo is one development state, with what it adds to HTML pages.
type devInfo struct {
	state  devState
	errID  int    // the build whose error shows, 0 if none
	inject []byte // the overlay (if any) and the script tag
}

//go:embed internal/devassets/dev.js
var devScript []byte

// devMarker is in every tag devInfo injects, so a response is never
// injected twice (a wrapping middleware finishes an inner Response).
const devMarker = "data-baton-dev"

func newDevInfo(st devState) *devInfo {
	if st.Failed != 0 && st.Failed < st.Build {
		// The error of a build older than this worker's: the worker
		// serves before the master's word that its build cleared the
		// error arrives, and must not show the error meanwhile.
		st.Error, st.Failed = "", 0
	}
	d := &devInfo{state: st}
	if st.Error != "" {
		d.errID = st.Failed
	}
	var b bytes.Buffer
	if st.Error != "" {
		b.WriteString(`<div id="baton-dev-overlay" ` + devMarker + ` style="position:fixed;inset:0;z-index:2147483647;` +
			`background:rgba(24,24,27,.97);color:#fecaca;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;` +
			`padding:28px;overflow:auto;box-sizing:border-box">`)
		b.WriteString(`<div style="color:#fff;font-weight:bold;font-size:16px;margin-bottom:14px">baton: build `)
		b.WriteString(strconv.Itoa(st.Failed))
		b.WriteString(` failed; this page comes from build `)
		b.WriteString(strconv.Itoa(st.Build))
		b.WriteString(`</div><pre id="baton-dev-error" style="white-space:pre-wrap;margin:0">`)
		b.WriteString(html.EscapeString(st.Error))
		b.WriteString("</pre></div>\n")
	}
	b.WriteString(`<script src="` + DevPathPrefix + `dev.js" ` + devMarker + ` data-build="`)
	b.WriteString(strconv.Itoa(st.Build))
	b.WriteString(`" data-err="`)
	b.WriteString(strconv.Itoa(d.errID))
	b.WriteString("\"></script>\n")
	d.inject = b.Bytes()
	return d
}

// setDevState is proc's Options.OnDevState: it installs the new state and
// tells the pages connected to this worker what changed.
func setDevState(st devState) {
	old := devMode.Swap(newDevInfo(st))
	if old == nil {
		return
	}
	if st.Refresh != old.state.Refresh {
		devHub.send(devMessage{Type: "refresh"})
	}
	if st.Error != old.state.Error || st.Failed != old.state.Failed || st.Latest != old.state.Latest || st.Ready != old.state.Ready {
		devHub.send(devMode.Load().message())
	}
}

// devMessage is what the page script receives on its WebSocket.
type devMessage struct {
	Type  string `json:"type"` // "state" or "refresh"
	Build int    `json:"build"`
	Err   int    `json:"err"`
	Ready bool   `json:"ready"`
}

func (d *devInfo) message() devMessage {
	return devMessage{Type: "state", Build: d.state.Build, Err: d.errID, Ready: d.state.Ready}
}

// injectDev adds the development overlay and script to an HTML response
// still in the buffer: before its last </body>, else at its end.
func (w *Response) injectDev(d *devInfo) {
	if w.committed || len(w.buf) == 0 {
		return
	}
	if st := w.Status(); st < 200 || st == http.StatusNoContent || st == http.StatusNotModified {
		return
	}
	h := w.w.Header()
	if h.Get("Content-Encoding") != "" {
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(w.buf)
		h.Set("Content-Type", ct)
	}
	if !strings.HasPrefix(ct, "text/html") || bytes.Contains(w.buf, []byte(devMarker)) {
		return
	}
	i := lastIndexFold(w.buf, "</body>")
	if i < 0 {
		w.buf = append(w.buf, d.inject...)
	} else {
		w.buf = append(w.buf[:i], append(d.inject, w.buf[i:]...)...)
	}
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", strconv.Itoa(len(w.buf)))
	}
}

// lastIndexFold returns the index of the last ASCII-case-insensitive
// occurrence of the lower-case sep in b, or -1.
func lastIndexFold(b []byte, sep string) int {
	for i := len(b) - len(sep); i >= 0; i-- {
		if b[i] == '<' && strings.EqualFold(string(b[i:i+len(sep)]), sep) {
			return i
		}
	}
	return -1
}

// devChain answers DevPathPrefix in development mode, without the
// application's middleware.
var devChain = []HandlerFunc{serveDev}

func serveDev(r *Request) {
	switch strings.TrimPrefix(r.URL.Path, DevPathPrefix) {
	case "dev.js":
		r.Response.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		r.Response.Header().Set("Cache-Control", "no-store")
		r.Response.Write(devScript)
	case "dev":
		serveDevSocket(r)
	default:
		r.Response.WriteStatus(http.StatusNotFound)
	}
}

// serveDevSocket keeps a page informed: the state at once, then every
// change and refresh. The drain of this worker closes it with 1012, on
// which the page reconnects, to the new worker.
func serveDevSocket(r *Request) {
	ws, err := r.WebSocket()
	if err != nil {
		return
	}
	defer ws.Close()
	c := &devClient{ws: ws, out: make(chan devMessage, 8), done: make(chan struct{})}
	devHub.add(c)
	defer devHub.remove(c)
	if d := devMode.Load(); d != nil {
		c.out <- d.message()
	}
	go c.write()
	defer close(c.done)
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

// devClient is one page's WebSocket. Its writer goroutine sends what the
// hub queues, so that a slow page never holds the control channel.
type devClient struct {
	ws   *WebSocket
	out  chan devMessage
	done chan struct{}
}

func (c *devClient) write() {
	for {
		select {
		case <-c.done:
			return
		case m := <-c.out:
			b, _ := json.Marshal(m)
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		}
	}
}

// pageHub is the set of pages connected to this worker.
type pageHub struct {
	mu      sync.Mutex
	clients map[*devClient]bool
}

// devHub is this worker's pageHub; process-level like devMode.
var devHub pageHub

func (h *pageHub) add(c *devClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients == nil {
		h.clients = make(map[*devClient]bool)
	}
	h.clients[c] = true
}

func (h *pageHub) remove(c *devClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// send queues m for every page; a page too slow to take it is cut, and
// reconnects.
func (h *pageHub) send(m devMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.out <- m:
		default:
			c.ws.Close()
		}
	}
}

// startDevWatch follows the server roots of the running servers in
// development mode: a change to a static file reloads the pages, with no
// build. It polls when the master found that file events do not arrive.
func startDevWatch(servers []*Server, log *slog.Logger) {
	d := devMode.Load()
	if d == nil {
		return
	}
	var roots []string
	for _, s := range servers {
		if r := s.Config().ServerRoot; r != "" {
			if abs, err := filepath.Abs(r); err == nil {
				roots = append(roots, abs)
			}
		}
	}
	if len(roots) == 0 {
		return
	}
	refresh := debounce(devQuiet, func() { devHub.send(devMessage{Type: "refresh"}) })
	o := watch.Options{OnChange: func(string) { refresh() }, Trees: true}
	if d.state.Poll {
		o.Poll = devPollInterval
	}
	w, err := watch.New(roots, o)
	if err != nil {
		o.Poll = devPollInterval
		w, _ = watch.New(roots, o) // polling cannot fail
	}
	how := "watching"
	if w.Polling() {
		how = "polling"
	}
	log.Info("baton: development mode: "+how+" static files", "roots", strings.Join(roots, ","))
}

// devQuiet is how long static files must stay unchanged before pages
// reload.
const devQuiet = 100 * time.Millisecond

// devPollInterval is how often static files are read when file events do
// not arrive.
const devPollInterval = 250 * time.Millisecond

// debounce returns a function that calls f once calls have stopped for d.
func debounce(d time.Duration, f func()) func() {
	var mu sync.Mutex
	var t *time.Timer
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if t == nil {
			t = time.AfterFunc(d, f)
			return
		}
		t.Reset(d)
	}
}

// serveHTMLForDev reads a static HTML file into the buffer, so that
// finish can add the development script and overlay.
func (w *Response) serveHTMLForDev(f io.Reader) {
	b, err := io.ReadAll(f)
	if err != nil {
		w.WriteStatus(http.StatusInternalServerError)
		return
	}
	w.buf = append(w.buf[:0], b...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
}
