package baton

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// lateHost is the process's host with listeners that hold back the first
// connection they accept until release is closed.
type lateHost struct {
	host
	accepted chan struct{} // closed once the kernel has handed over the first connection
	release  chan struct{}
}

func (h *lateHost) listen(key, network, addr string) (net.Listener, error) {
	ln, err := h.host.listen(key, network, addr)
	if err != nil {
		return nil, err
	}
	return &lateListener{Listener: ln, h: h}, nil
}

type lateListener struct {
	net.Listener
	h    *lateHost
	once sync.Once
}

func (l *lateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.once.Do(func() {
		close(l.h.accepted)
		<-l.h.release
	})
	return c, nil
}

// TestDrainAnswersConnectionAcceptedAtTheClose drains a server while its
// accept loop holds a connection the kernel has already handed over: the
// accept of a connection that arrived as the listener closed. The drain
// must wait for that connection and answer its request, not shut the
// server down under it (net/http drops a request it reads during its
// Shutdown, which the client sees as an EOF).
func TestDrainAnswersConnectionAcceptedAtTheClose(t *testing.T) {
	h := &lateHost{host: self, accepted: make(chan struct{}), release: make(chan struct{})}
	self = h
	t.Cleanup(func() { self = h.host })
	s := newServer("late-accept")
	s.SetAccessLogEnabled(false)
	addr := make(chan net.Addr, 1)
	s.SetConfig(ServerConfig{Addr: []string{"127.0.0.1:0"}, OnListen: func(_ string, a net.Addr) { addr <- a }})
	s.BindHandler("GET:/", func(r *Request) { r.Response.Write("ok") })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	shutdownStarted := make(chan struct{})
	s.mu.Lock()
	for _, hs := range s.httpSrvs {
		hs.RegisterOnShutdown(sync.OnceFunc(func() { close(shutdownStarted) }))
	}
	s.mu.Unlock()

	c, err := net.Dial("tcp", (<-addr).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	<-h.accepted
	done := make(chan error, 1)
	go func() { done <- s.Shutdown() }()
	<-s.Draining()
	// Hand the connection over once the drain waits for connections
	// (which it does only after the accept loop has ended, so then after
	// a bound) ...
	pollUntil(time.Second, func() bool { return s.conns.exact.Load() })
	close(h.release)
	// ... and send the request once the drain has either taken the
	// connection or gone on to net/http's Shutdown.
	pollUntil(10*time.Second, func() bool {
		select {
		case <-shutdownStarted:
			return true
		default:
		}
		s.conns.mu.Lock()
		defer s.conns.mu.Unlock()
		return s.conns.exact.Load() && len(s.conns.conns) > 0
	})
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("request on the connection accepted as the drain began: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// pollUntil polls cond until it holds or d has passed, and reports which.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
