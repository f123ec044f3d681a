package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// errConnClosed is the reason calls fail after the connection was closed on
// purpose, in place of the network error the reader saw.
var errConnClosed = errors.New("browser: connection closed")

// writeTimeout bounds sending one frame to Chromium.
const writeTimeout = 10 * time.Second

// conn is one Chrome DevTools Protocol connection: the browser's websocket,
// shared by the browser target and every page session attached through it
// (flat sessions, so each message carries its sessionId).
//
// One reader goroutine owns the socket's read side. It hands each response to
// the call waiting for its id and each event to the handler of its session.
// It ends when the socket fails or is closed, and then every pending and
// future call fails at once.
type conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex // gorilla/websocket allows one concurrent writer
	nextID  atomic.Int64

	mu       sync.Mutex
	pending  map[int64]chan *message
	handlers map[string]func(method string, params json.RawMessage)

	closing   atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed when the reader has ended
	err       error         // why the reader ended; written before done is closed
}

// message is any frame Chromium sends: a response (ID set) or an event
// (Method set).
type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protocolError  `json:"error,omitempty"`
}

// request is a command sent to Chromium.
type request struct {
	ID        int64  `json:"id"`
	SessionID string `json:"sessionId,omitempty"`
	Method    string `json:"method"`
	Params    any    `json:"params,omitempty"`
}

// protocolError is the error object of a failed command.
type protocolError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *protocolError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("%s (%d): %s", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// dial connects to the browser websocket URL printed by Chromium and starts
// the reader.
func dial(ctx context.Context, url string) (*conn, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("browser: dial %s: %w", url, err)
	}
	c := &conn{
		ws:       ws,
		pending:  make(map[int64]chan *message),
		handlers: make(map[string]func(string, json.RawMessage)),
		done:     make(chan struct{}),
	}
	go c.read()
	return c, nil
}

func (c *conn) read() {
	var err error
	for {
		var data []byte
		if _, data, err = c.ws.ReadMessage(); err != nil {
			break
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue // not ours to understand; the protocol only sends objects
		}
		c.dispatch(&m)
	}
	if c.closing.Load() {
		c.err = errConnClosed
	} else {
		c.err = fmt.Errorf("browser: devtools connection lost: %w", err)
	}
	close(c.done)
}

func (c *conn) dispatch(m *message) {
	c.mu.Lock()
	if m.ID != 0 {
		ch := c.pending[m.ID]
		c.mu.Unlock()
		if ch != nil {
			ch <- m // buffered, and each id is answered once
		}
		return
	}
	session := m.SessionID
	if session == "" && m.Method == "Target.detachedFromTarget" {
		// The browser reports a detached page on its own session; route it
		// to the page so its waiters stop.
		var p struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(m.Params, &p)
		session = p.SessionID
	}
	h := c.handlers[session]
	c.mu.Unlock()
	if h != nil {
		h(m.Method, m.Params)
	}
}

// handle registers the event handler of a session ("" is the browser). The
// handler runs on the reader goroutine, so it must not block or call back
// into the connection.
func (c *conn) handle(session string, h func(method string, params json.RawMessage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.handlers, session)
		return
	}
	c.handlers[session] = h
}

// call sends one command and waits for its response, the context's end or
// the connection's end, whichever comes first. result, if not nil, receives
// the response's result object.
func (c *conn) call(ctx context.Context, session, method string, params, result any) error {
	id := c.nextID.Add(1)
	ch := make(chan *message, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	data, err := json.Marshal(request{ID: id, SessionID: session, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("browser: %s: %w", method, err)
	}
	if err := c.write(ctx, data); err != nil {
		return fmt.Errorf("browser: %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("browser: %s: %w", method, m.Error)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("browser: %s: decode result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("browser: %s: %w", method, ctx.Err())
	case <-c.done:
		return fmt.Errorf("browser: %s: %w", method, c.err)
	}
}

// write sends one frame. A write that times out breaks a gorilla/websocket
// connection for good, so the deadline is not the call's (which may be a
// moment away, as at the end of WaitFor) but writeTimeout: a local Chromium
// that does not take a frame in that long is wedged.
func (c *conn) write(ctx context.Context, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// close closes the socket and waits for the reader to end. It is safe to
// call more than once.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		// A polite close frame first (WriteControl may run beside a
		// writer); the socket is closed regardless.
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
	<-c.done
}
