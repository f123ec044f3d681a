package baton

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults for WebSocketConfig fields left at their zero value.
const (
	DefaultWebSocketReadLimit        = 1 << 20
	DefaultWebSocketPingInterval     = 30 * time.Second
	DefaultWebSocketPongWait         = 60 * time.Second
	DefaultWebSocketWriteTimeout     = 10 * time.Second
	DefaultWebSocketHandshakeTimeout = 10 * time.Second
)

// WebSocketCloseReason is the reason sent with the close frame (code 1012,
// service restart) that a drain sends to every WebSocket.
const WebSocketCloseReason = "server restarting"

// WebSocketConfig holds the settings of Request.WebSocket. The zero value
// is useful: same-origin upgrades only, a 1 MiB read limit, a ping every
// 30 s and a 10 s write timeout.
type WebSocketConfig struct {
	// AllowedOrigins lists the origins, besides the server's own, whose
	// pages may open a WebSocket: each is an origin as browsers send it
	// ("https://app.example.com") or a bare host ("app.example.com"),
	// compared without regard to case; "*" allows any origin. A request
	// without an Origin header (not from a browser) is always allowed, and
	// so is one whose Origin host equals its Host header, except on a
	// loopback connection, where the Host must also be an IP address,
	// localhost or one of ServerConfig.AllowedHosts (against DNS
	// rebinding). If nil, only those are.
	AllowedOrigins []string
	// ReadLimit is the largest message accepted from the peer, in bytes; a
	// larger one closes the connection with code 1009 (message too big).
	// If zero, DefaultWebSocketReadLimit is used; a negative value means no
	// limit.
	ReadLimit int64
	// PingInterval is how often a ping is sent to the peer. If zero,
	// DefaultWebSocketPingInterval is used; a negative value turns pings,
	// and the read deadline of PongWait, off.
	PingInterval time.Duration
	// PongWait is how long the peer may stay silent: the read deadline is
	// set that far ahead at the upgrade and at every pong, so a dead peer
	// makes a read fail after it. It should exceed PingInterval. If zero,
	// DefaultWebSocketPongWait is used.
	PongWait time.Duration
	// WriteTimeout bounds each write: pings, close frames, and the data
	// frames written with WebSocket.WriteMessage, WriteJSON and
	// WritePreparedMessage. If zero, DefaultWebSocketWriteTimeout is used.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the write of the handshake response. If
	// zero, DefaultWebSocketHandshakeTimeout is used.
	HandshakeTimeout time.Duration
}

// originAllowed applies the origin policy of c to req; hosts are the
// server's AllowedHosts.
func (c *WebSocketConfig) originAllowed(req *http.Request, hosts []string) bool {
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, req.Host) && (hostAllowed(req.Host, hosts) || !loopbackConn(req)) {
		return true
	}
	for _, a := range c.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, origin) || (err == nil && u.Host != "" && strings.EqualFold(a, u.Host)) {
			return true
		}
	}
	return false
}

// loopbackConn reports whether req came in on a loopback address of this
// host, where a page of another site whose name points there (DNS
// rebinding) looks same-origin.
func loopbackConn(req *http.Request) bool {
	a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ip, ok := peerAddr(a.String())
	return ok && ip.IsLoopback()
}

// WebSocket is a server-side WebSocket connection: a *websocket.Conn of
// gorilla/websocket, whose methods it has, registered with its server so
// that a drain (a reload or a shutdown) hands its client over cleanly.
//
// When the drain starts, the server sends the client a close frame with
// code 1012 (service restart) and reason WebSocketCloseReason; a client
// that reconnects reaches the new worker. The handler's read loop sees the
// client's close reply as an error from ReadMessage (a *websocket.CloseError)
// and returns; writes after the close frame fail with
// websocket.ErrCloseSent. The drain waits for Close; a connection still
// open at the drain deadline is cut.
//
// Close must be called once the connection is done with, typically with
// defer right after Request.WebSocket: it releases what the drain waits
// for.
//
// Goroutine safety: as with gorilla/websocket, one goroutine may read and
// one may write at a time; Close and WriteControl are safe for concurrent
// use with every method. A WebSocket may outlive its Request: it keeps no
// reference to it.
type WebSocket struct {
	*websocket.Conn

	writeTimeout time.Duration
	release      func()
	done         chan struct{} // closed by Close; stops the pinger
	closeOnce    sync.Once
	closeErr     error
}

// WebSocket upgrades the request to a WebSocket connection with the
// settings of ServerConfig.WebSocket. Output buffered in the Response is
// discarded and nothing is written after the handler returns; headers set
// on the Response (cookies, for instance) go with the handshake response,
// except those of the HTTP framing (Connection, Content-Type and the like).
//
// A cross-origin request that the AllowedOrigins do not allow gets 403
// and an error wrapping ErrWebSocketOrigin. A request that is not a valid
// handshake gets the status gorilla/websocket chooses (400, 405) and an
// error. In both cases the handler should just return.
//
// The connection pings the client every PingInterval and fails a read
// after PongWait without a pong; see WebSocketConfig. The caller must call
// Close. It is not available on HTTP/2 connections.
func (r *Request) WebSocket() (*WebSocket, error) {
	resp := r.Response
	if resp.committed {
		return nil, fmt.Errorf("baton: websocket %s: %w", r.URL.Path, ErrResponseCommitted)
	}
	sc := r.Server.Config()
	cfg := sc.WebSocket
	if !cfg.originAllowed(r.Request, sc.AllowedHosts) {
		resp.buf = resp.buf[:0]
		resp.WriteStatus(http.StatusForbidden, "websocket: origin not allowed\n")
		return nil, fmt.Errorf("baton: websocket %s: origin %q: %w", r.URL.Path, r.Header.Get("Origin"), ErrWebSocketOrigin)
	}
	writeTimeout := orDefault(cfg.WriteTimeout, DefaultWebSocketWriteTimeout)
	u := websocket.Upgrader{
		HandshakeTimeout: orDefault(cfg.HandshakeTimeout, DefaultWebSocketHandshakeTimeout),
		// The origin was checked above, with the allow-list.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			resp.status = status
			http.Error(w, reason.Error(), status)
		},
	}
	// Whatever happens, the raw writer answers: finish must write nothing.
	resp.buf = resp.buf[:0]
	resp.committed = true
	raw := resp.RawWriter()
	conn, err := u.Upgrade(raw, r.Request, handshakeHeader(raw.Header()))
	if err != nil {
		return nil, fmt.Errorf("baton: websocket %s: %w", r.URL.Path, err)
	}
	resp.status = http.StatusSwitchingProtocols

	limit := cfg.ReadLimit
	if limit == 0 {
		limit = DefaultWebSocketReadLimit
	}
	if limit > 0 {
		conn.SetReadLimit(limit)
	}
	ws := &WebSocket{Conn: conn, writeTimeout: writeTimeout, done: make(chan struct{})}
	ws.release = r.Server.conns.hold(ws.closeForDrain, ws.cut)
	interval := orDefault(cfg.PingInterval, DefaultWebSocketPingInterval)
	if interval > 0 {
		wait := orDefault(cfg.PongWait, DefaultWebSocketPongWait)
		conn.SetReadDeadline(time.Now().Add(wait))
		conn.SetPongHandler(func(string) error {
			return conn.SetReadDeadline(time.Now().Add(wait))
		})
		go ws.ping(interval)
	}
	return ws, nil
}

// handshakeHeader returns the response headers that may go with a
// handshake response: not those of the HTTP framing, which gorilla writes
// itself (a drain sets Connection: close, for one).
func handshakeHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Upgrade", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Content-Type",
			"Sec-Websocket-Accept", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol":
			continue
		}
		out[k] = v
	}
	return out
}

// ping sends a ping every interval until Close, or until a write fails
// (the peer is gone, or a close frame was sent).
func (ws *WebSocket) ping(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ws.done:
			return
		case <-t.C:
			if err := ws.Conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(ws.writeTimeout)); err != nil {
				return
			}
		}
	}
}

// closeForDrain is the drain's notify hook: it sends the close frame
// without blocking the drain, which notifies every WebSocket in turn.
func (ws *WebSocket) closeForDrain() {
	go func() {
		msg := websocket.FormatCloseMessage(websocket.CloseServiceRestart, WebSocketCloseReason)
		ws.Conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(ws.writeTimeout))
	}()
}

// cut is the drain's force hook: the peer did not finish in time, so its
// network connection is closed, and the handler's read fails.
func (ws *WebSocket) cut() {
	ws.Conn.NetConn().Close()
}

// WriteMessage writes a message, as the method of *websocket.Conn does,
// within the WriteTimeout of the server's WebSocketConfig.
func (ws *WebSocket) WriteMessage(messageType int, data []byte) error {
	ws.Conn.SetWriteDeadline(time.Now().Add(ws.writeTimeout))
	return ws.Conn.WriteMessage(messageType, data)
}

// WriteJSON writes v as a JSON text message within the WriteTimeout of
// the server's WebSocketConfig.
func (ws *WebSocket) WriteJSON(v any) error {
	ws.Conn.SetWriteDeadline(time.Now().Add(ws.writeTimeout))
	return ws.Conn.WriteJSON(v)
}

// WritePreparedMessage writes a prepared message (one encoding shared by
// many connections, for broadcasts) within the WriteTimeout of the
// server's WebSocketConfig.
func (ws *WebSocket) WritePreparedMessage(pm *websocket.PreparedMessage) error {
	ws.Conn.SetWriteDeadline(time.Now().Add(ws.writeTimeout))
	return ws.Conn.WritePreparedMessage(pm)
}

// Close closes the network connection without sending a close frame, as
// the method of *websocket.Conn does, stops the pings, and releases the
// connection from the server's drain. It may be called more than once,
// and concurrently; only the first call has an effect.
func (ws *WebSocket) Close() error {
	ws.closeOnce.Do(func() {
		close(ws.done)
		err := ws.Conn.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil // cut by the drain deadline
		}
		ws.closeErr = err
		ws.release()
	})
	return ws.closeErr
}
