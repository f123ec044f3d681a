// Command websocket serves a WebSocket echo endpoint and a chat page whose
// clients ride through reloads: when the old worker drains it sends every
// WebSocket a close frame with code 1012 (service restart), and the page
// reconnects, to the new worker, keeping what it shows.
//
//	go run ./examples/websocket
//	open http://localhost:8199/         # the chat; open it twice
//	kill -USR1 <master pid>             # reload: the page shows the new worker pid
//
// Endpoints: / (the chat page), /ws/chat (the chat socket), /ws/echo
// (greets with "hello <pid>", then echoes), /pid (the worker pid). It
// listens on 8199, or on $PORT.
package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	"github.com/gorilla/websocket"
)

//go:embed chat.html
var chatPage []byte

// chatMessage is what travels on /ws/chat, as JSON: the server greets with
// {"type":"hello","pid":N} and relays {"type":"msg","text":...}.
type chatMessage struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	PID  int    `json:"pid"`
}

// hub relays chat messages to every client of this worker.
type hub struct {
	mu      sync.Mutex
	clients map[*client]struct{}
}

// client is one chat connection; its writer goroutine drains send, so a
// broadcast never waits for a slow client.
type client struct {
	ws   *baton.WebSocket
	send chan []byte
}

func (h *hub) join(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
}

func (h *hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.send)
	}
}

// broadcast queues msg for every client; one whose queue is full is too
// slow to keep and is disconnected.
func (h *hub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- msg:
		default:
			delete(h.clients, c)
			close(c.send)
			c.ws.Close()
		}
	}
}

func (c *client) writeLoop() {
	for msg := range c.send {
		if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			// Gone, or the drain's close frame was sent: the read loop
			// ends the connection.
			for range c.send {
			}
			return
		}
	}
}

func main() {
	s := g.Server()
	pid := os.Getpid()
	h := &hub{clients: make(map[*client]struct{})}

	s.BindHandler("GET:/", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
		r.Response.Write(chatPage)
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(pid)
	})
	s.BindHandler("GET:/ws/echo", func(r *baton.Request) {
		ws, err := r.WebSocket()
		if err != nil {
			return // the client got the error status
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "hello %d", pid)); err != nil {
			return
		}
		for {
			mt, msg, err := ws.ReadMessage()
			if err != nil {
				return // the client's close reply during a drain ends up here
			}
			if err := ws.WriteMessage(mt, msg); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				return
			}
		}
	})
	s.BindHandler("GET:/ws/chat", func(r *baton.Request) {
		ws, err := r.WebSocket()
		if err != nil {
			return
		}
		defer ws.Close()
		c := &client{ws: ws, send: make(chan []byte, 64)}
		hello, _ := json.Marshal(chatMessage{Type: "hello", PID: pid})
		c.send <- hello
		h.join(c)
		defer h.leave(c)
		go c.writeLoop()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var in chatMessage
			if json.Unmarshal(data, &in) != nil || in.Text == "" {
				continue
			}
			out, _ := json.Marshal(chatMessage{Type: "msg", Text: in.Text, PID: pid})
			h.broadcast(out)
		}
	})

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("websocket: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
