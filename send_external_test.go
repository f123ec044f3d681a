package baton_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/selfsigned"
)

// stallLimit bounds what a test handler writes to a client that does not
// read: far more than the kernel buffers of a loopback connection hold.
const stallLimit = 1 << 30

// writeResult is what a streaming test handler reports when it stops.
type writeResult struct {
	err     error
	written int64
	stalled time.Duration // how long the failed write had been blocked
}

// streamUntilError writes chunks to w until a write fails or stallLimit
// bytes are written, and reports on done.
func streamUntilError(w io.Writer, done chan<- writeResult) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	var res writeResult
	for res.written < stallLimit {
		start := time.Now()
		n, err := w.Write(chunk)
		res.written += int64(n)
		if err != nil {
			res.err, res.stalled = err, time.Since(start)
			break
		}
	}
	done <- res
}

// sendTimeoutServer returns a server with the given SendTimeout whose
// /stream handler writes until a write fails and /hijack does the same
// on the hijacked connection.
func sendTimeoutServer(t *testing.T, d time.Duration, done chan<- writeResult) *baton.Server {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	c.SendTimeout = d
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/stream", func(r *baton.Request) {
		w := r.Response.RawWriter()
		w.Header().Set("Content-Type", "application/octet-stream")
		streamUntilError(w, done)
	})
	s.BindHandler("/hijack", func(r *baton.Request) {
		conn, rw, err := r.Response.Writer().(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			done <- writeResult{err: err}
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
		rw.Flush()
		streamUntilError(conn, done)
	})
	return s
}

// awaitWrite waits for the handler's report.
func awaitWrite(t *testing.T, done <-chan writeResult, within time.Duration) writeResult {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(within):
		t.Fatalf("handler still writing to a client that does not read, %v after the request", within)
		return writeResult{}
	}
}

func TestSendTimeoutCutsClientThatDoesNotRead(t *testing.T) {
	const sendTimeout = 300 * time.Millisecond
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	dialTLS := func(addr string) (net.Conn, error) {
		// HTTP/1.1 only: an HTTP/2 client's flow control would stop the
		// server before its socket fills.
		return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	}
	dialPlain := func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }
	for _, tt := range []struct {
		name, path string
		https      bool
	}{
		{"plain", "/stream", false},
		{"tls", "/stream", true},
		{"hijacked", "/hijack", false},
		{"hijacked tls", "/hijack", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan writeResult, 1)
			s := sendTimeoutServer(t, sendTimeout, done)
			dial, scheme := dialPlain, "http"
			if tt.https {
				s.EnableHTTPS(cert, key)
				s.SetHTTPSAddr("127.0.0.1:0")
				dial, scheme = dialTLS, "https"
			}
			startServer(t, s)
			c, err := dial(strings.TrimPrefix(s.URL(scheme), scheme+"://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tt.path)
			// Never read: the server's socket fills and its write blocks.
			res := awaitWrite(t, done, sendTimeout+10*time.Second)
			if res.err == nil {
				t.Fatalf("handler wrote %d bytes to a client that reads nothing without an error", res.written)
			}
			if res.stalled < sendTimeout {
				t.Errorf("the write failed (%v) after %v without progress, before the send timeout %v", res.err, res.stalled, sendTimeout)
			}
			// The connection is closed: once the client reads what the
			// kernel buffers held, it gets EOF or a reset.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after the handler's write failed: read %d bytes, then %v", n, err)
			}
		})
	}
}

// TestSendTimeoutSparesSlowReader checks that a client reading slowly but
// steadily, with the server's writes blocked for far longer than the send
// timeout in all, gets the whole body.
func TestSendTimeoutSparesSlowReader(t *testing.T) {
	if runtime.GOOS != "linux" {
		// Elsewhere progress is a whole 64 KiB piece, which this reader
		// takes more slowly than the 300 ms timeout asks.
		t.Skip("a slow reader's progress shows within 300 ms only where the kernel reports acknowledged bytes (Linux)")
	}
	const (
		sendTimeout = 300 * time.Millisecond
		size        = 32 << 20
		slowFor     = 5 * sendTimeout
		step        = 16 << 10
		every       = 20 * time.Millisecond
	)
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i % 251)
	}
	written := make(chan error, 1)
	s := newServer(t)
	c := s.Config()
	c.SendTimeout = sendTimeout
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	s.BindHandler("/big", func(r *baton.Request) {
		w := r.Response.RawWriter()
		w.Header().Set("Content-Length", fmt.Sprint(size))
		var err error
		for off := 0; off < size && err == nil; off += 256 << 10 {
			_, err = w.Write(body[off : off+256<<10])
		}
		written <- err
	})
	addr := strings.TrimPrefix(startServer(t, s), "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A small receive buffer, so that the server's writes block soon and
	// the client's reads open its window a little at a time.
	if err := conn.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReaderSize(conn, step)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, 0, size)
	buf := make([]byte, step)
	start := time.Now()
	for time.Since(start) < slowFor {
		n, err := io.ReadFull(resp.Body, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("slow read after %d bytes, %v: %v", len(got), time.Since(start), err)
		}
		time.Sleep(every) // the client's pace, not a wait for the server
	}
	select {
	case err := <-written:
		t.Fatalf("handler finished (%v) while the client had read %d of %d bytes: its writes never blocked", err, len(got), size)
	default:
	}
	rest, err := io.ReadAll(resp.Body)
	got = append(got, rest...)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body: %d of %d bytes, equal %v, err %v", len(got), size, bytes.Equal(got, body), err)
	}
	select {
	case err := <-written:
		if err != nil {
			t.Errorf("handler write: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not return after the whole body was read")
	}
}
