package baton_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/gorilla/websocket"
)

// wsEcho binds an echo WebSocket at /ws that greets with "hello" and
// reports the upgrade error, then the read error that ended it, on errs.
func wsEcho(s *baton.Server, errs chan<- error) {
	s.BindHandler("/ws", func(r *baton.Request) {
		ws, err := r.WebSocket()
		errs <- err
		if err != nil {
			return
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			errs <- err
			return
		}
		for {
			mt, msg, err := ws.ReadMessage()
			if err != nil {
				errs <- err
				return
			}
			if err := ws.WriteMessage(mt, msg); err != nil {
				errs <- err
				return
			}
		}
	})
}

// setWebSocketConfig applies f to the WebSocket settings of s.
func setWebSocketConfig(t *testing.T, s *baton.Server, f func(c *baton.WebSocketConfig)) {
	t.Helper()
	c := s.Config()
	f(&c.WebSocket)
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
}

// wsURL turns an http:// base URL into a ws:// one for path.
func wsURL(base, path string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path
}

// dialWS connects to url with the given Origin (none if empty) and closes
// the connection when the test ends.
func dialWS(t *testing.T, url, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	return dialWSHost(t, url, origin, "")
}

// dialWSHost is dialWS with the Host header host, if not empty.
func dialWSHost(t *testing.T, url, origin, host string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if host != "" {
		h.Set("Host", host)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(url, h)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// recvErr waits for the next value on errs.
func recvErr(t *testing.T, errs <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		return nil
	}
}

// readHello reads the greeting of wsEcho.
// openEcho dials the echo endpoint of the server at base and waits until
// the server's upgrade has succeeded.
func openEcho(t *testing.T, base string, errs <-chan error) *websocket.Conn {
	t.Helper()
	c, _, err := dialWS(t, wsURL(base, "/ws"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := recvErr(t, errs, "upgrade result"); err != nil {
		t.Fatal(err)
	}
	return c
}

func readHello(t *testing.T, c *websocket.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil || string(msg) != "hello" {
		t.Fatalf("first message = %q, %v; want hello", msg, err)
	}
	c.SetReadDeadline(time.Time{})
}

func TestWebSocketOrigin(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		hosts   []string // ServerConfig.AllowedHosts
		host    string   // the Host header's name, if not 127.0.0.1
		origin  string   // "SELF" is the server's own origin, under host
		want    int
	}{
		{name: "no origin", origin: "", want: http.StatusSwitchingProtocols},
		{name: "same host", origin: "SELF", want: http.StatusSwitchingProtocols},
		{name: "same host other case", origin: "SELF-UPPER", want: http.StatusSwitchingProtocols},
		{name: "foreign", origin: "https://evil.example", want: http.StatusForbidden},
		{name: "null origin", origin: "null", want: http.StatusForbidden},
		{name: "foreign not in list", allowed: []string{"https://app.example"}, origin: "https://evil.example", want: http.StatusForbidden},
		{name: "allow-list origin", allowed: []string{"https://app.example"}, origin: "https://app.example", want: http.StatusSwitchingProtocols},
		{name: "allow-list scheme differs", allowed: []string{"https://app.example"}, origin: "http://app.example", want: http.StatusForbidden},
		{name: "allow-list host", allowed: []string{"app.example:8443"}, origin: "https://APP.example:8443", want: http.StatusSwitchingProtocols},
		{name: "star", allowed: []string{"*"}, origin: "https://evil.example", want: http.StatusSwitchingProtocols},
		// DNS rebinding: a page of another site reaches 127.0.0.1 under
		// its own name, so its origin matches the Host it sends.
		{name: "rebinding name", host: "rebind.attacker.example", origin: "SELF", want: http.StatusForbidden},
		{name: "localhost", host: "localhost", origin: "SELF", want: http.StatusSwitchingProtocols},
		{name: "listed name", hosts: []string{"app.internal"}, host: "app.internal", origin: "SELF", want: http.StatusSwitchingProtocols},
		{name: "listed origin under any name", allowed: []string{"http://rebind.attacker.example"}, host: "rebind.attacker.example", origin: "http://rebind.attacker.example", want: http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			c := s.Config()
			c.AllowedHosts = tt.hosts
			c.WebSocket.AllowedOrigins = tt.allowed
			if err := s.SetConfig(c); err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			wsEcho(s, errs)
			ts := httptest.NewServer(s)
			defer ts.Close()
			self, host := ts.URL, ""
			if tt.host != "" {
				host = tt.host + ":" + ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]
				self = "http://" + host
			}
			origin := tt.origin
			switch origin {
			case "SELF":
				origin = self
			case "SELF-UPPER":
				origin = strings.ToUpper(self)
			}
			conn, resp, err := dialWSHost(t, wsURL(ts.URL, "/ws"), origin, host)
			if resp == nil {
				t.Fatalf("Dial with Origin %q: no response: %v", origin, err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("Dial with Origin %q, allowed %q: status %d, want %d (%v)", origin, tt.allowed, resp.StatusCode, tt.want, err)
			}
			upErr := recvErr(t, errs, "upgrade result")
			if tt.want == http.StatusForbidden {
				if !errors.Is(upErr, baton.ErrWebSocketOrigin) {
					t.Errorf("WebSocket() = %v, want ErrWebSocketOrigin", upErr)
				}
				return
			}
			if upErr != nil {
				t.Fatalf("WebSocket() = %v", upErr)
			}
			readHello(t, conn)
		})
	}
}

func TestWebSocketNotAHandshake(t *testing.T) {
	s := newServer(t)
	errs := make(chan error, 4)
	wsEcho(s, errs)
	s.Use(func(r *baton.Request) {
		r.Response.Write("buffered by a middleware")
		r.Middleware.Next()
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "buffered") {
		t.Errorf("plain GET of a WebSocket endpoint: %d %q; want 400 without the buffered output", resp.StatusCode, body)
	}
	if err := recvErr(t, errs, "upgrade result"); err == nil {
		t.Error("WebSocket() of a plain GET succeeded")
	}
}

func TestWebSocketReadLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit int64
		size  int
		want  int // close code, 0 if echoed
	}{
		{name: "default at limit", size: baton.DefaultWebSocketReadLimit},
		{name: "default over limit", size: baton.DefaultWebSocketReadLimit + 1, want: websocket.CloseMessageTooBig},
		{name: "set at limit", limit: 16, size: 16},
		{name: "set over limit", limit: 16, size: 17, want: websocket.CloseMessageTooBig},
		{name: "no limit", limit: -1, size: 2*baton.DefaultWebSocketReadLimit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			setWebSocketConfig(t, s, func(c *baton.WebSocketConfig) { c.ReadLimit = tt.limit })
			errs := make(chan error, 4)
			wsEcho(s, errs)
			ts := httptest.NewServer(s)
			defer ts.Close()
			c := openEcho(t, ts.URL, errs)
			readHello(t, c)
			msg := strings.Repeat("x", tt.size)
			if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, got, err := c.ReadMessage()
			if tt.want == 0 {
				if err != nil || len(got) != tt.size {
					t.Errorf("echo of %d bytes: %d bytes, %v", tt.size, len(got), err)
				}
				return
			}
			if !websocket.IsCloseError(err, tt.want) {
				t.Errorf("after %d bytes with limit %d: %v, want close %d", tt.size, tt.limit, err, tt.want)
			}
			if err := recvErr(t, errs, "server read error"); !errors.Is(err, websocket.ErrReadLimit) {
				t.Errorf("server read = %v, want ErrReadLimit", err)
			}
		})
	}
}

func TestWebSocketPingKeepsAlive(t *testing.T) {
	s := newServer(t)
	const wait = 300 * time.Millisecond
	setWebSocketConfig(t, s, func(c *baton.WebSocketConfig) {
		c.PingInterval = 50 * time.Millisecond
		c.PongWait = wait
	})
	errs := make(chan error, 4)
	wsEcho(s, errs)
	ts := httptest.NewServer(s)
	defer ts.Close()
	c := openEcho(t, ts.URL, errs)
	readHello(t, c)

	// A live peer reads, and so answers the pings with pongs (gorilla's
	// default ping handler), until it has seen enough pings to outlast
	// the pong wait several times over.
	pings := make(chan struct{}, 100)
	c.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	reads := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				reads <- err
				return
			}
		}
	}()
	for n := 0; n < 5*int(wait/(50*time.Millisecond)); n++ {
		select {
		case <-pings:
		case err := <-reads:
			t.Fatalf("connection ended after %d pings: %v", n, err)
		case err := <-errs:
			t.Fatalf("server side ended after %d pings: %v", n, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("no ping within 5s after %d pings", n)
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
		t.Fatalf("write after the pings: %v", err)
	}
	select {
	case err := <-errs:
		t.Fatalf("server side ended: %v", err)
	default:
	}
}

func TestWebSocketDeadPeerTimesOut(t *testing.T) {
	s := newServer(t)
	setWebSocketConfig(t, s, func(c *baton.WebSocketConfig) {
		c.PingInterval = 50 * time.Millisecond
		c.PongWait = 200 * time.Millisecond
	})
	errs := make(chan error, 4)
	wsEcho(s, errs)
	ts := httptest.NewServer(s)
	defer ts.Close()
	// The peer never reads, so it never answers a ping.
	openEcho(t, ts.URL, errs)
	err := recvErr(t, errs, "the server to give up on the silent peer")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("server read from a silent peer = %v, want a timeout", err)
	}
}

func TestDrainSendsWebSocketsServiceRestart(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.DrainTimeout = 10 * time.Second
	s.SetConfig(c)
	errs := make(chan error, 4)
	wsEcho(s, errs)
	base := startServer(t, s)
	ws := openEcho(t, base, errs)
	readHello(t, ws)

	start := time.Now()
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown() }()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := ws.ReadMessage() // gorilla answers the close frame itself
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart || ce.Text != baton.WebSocketCloseReason {
		t.Fatalf("read during drain = %v, want close %d %q", err, websocket.CloseServiceRestart, baton.WebSocketCloseReason)
	}
	t.Logf("close frame %v after Shutdown", time.Since(start))
	if err := recvErr(t, errs, "the handler's read to end"); !websocket.IsCloseError(err, websocket.CloseServiceRestart) {
		t.Errorf("handler read = %v, want the client's close reply", err)
	}
	select {
	case err := <-shutdown:
		if err != nil {
			t.Errorf("Shutdown = %v, want nil once the WebSocket closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown still waiting 5s after the WebSocket closed")
	}
}

func TestDrainCutsWebSocketThatIgnoresClose(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.DrainTimeout = 300 * time.Millisecond
	s.SetConfig(c)
	errs := make(chan error, 4)
	wsEcho(s, errs)
	base := startServer(t, s)
	ws := openEcho(t, base, errs)
	// The client never reads, so it never answers the close frame.
	err := s.Shutdown()
	if err == nil || !strings.Contains(err.Error(), "drain timeout") {
		t.Errorf("Shutdown = %v, want a drain timeout error", err)
	}
	if err := recvErr(t, errs, "the handler's read to fail"); err == nil {
		t.Error("handler read succeeded after the cut")
	}
	// What the client finds afterwards: the greeting, the close frame,
	// then the end of the connection.
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	readHello(t, ws)
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseServiceRestart) {
		t.Errorf("after the greeting: %v, want close %d", err, websocket.CloseServiceRestart)
	}
	if _, err := ws.NetConn().Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after the drain timeout")
	}
}

func TestDrainClosesStreamWithoutGrace(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.IdleGrace = 10 * time.Second
	c.DrainTimeout = 20 * time.Second
	s.SetConfig(c)
	s.BindHandler("/events", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "text/event-stream")
		r.Response.Write("data: hi\n\n")
		r.Response.Flush()
		select {
		case <-r.Server.Draining():
			r.Response.Write("event: bye\ndata: bye\n\n")
			r.Response.Flush()
		case <-r.Context().Done():
		}
	})
	base := startServer(t, s)
	resp, err := http.Get(base + "/events") // keep-alive: the client would reuse the connection
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); line != "data: hi\n" {
		t.Fatalf("first line = %q, %v", line, err)
	}
	start := time.Now()
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown() }()
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "event: bye") {
		t.Errorf("rest of the stream = %q, %v; want the bye event", rest, err)
	}
	select {
	case err := <-shutdown:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		t.Logf("Shutdown returned %v after it began", time.Since(start))
	case <-time.After(c.IdleGrace / 2):
		t.Fatalf("Shutdown waited on after the stream ended: its connection was held for the idle grace")
	}
}
