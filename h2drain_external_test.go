package baton_test

import (
	"bytes"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/selfsigned"
)

// h2Client is a raw HTTP/2 client: it sees every frame the server sends.
type h2Client struct {
	t  *testing.T
	c  *tls.Conn
	fr *http2.Framer
}

func dialH2(t *testing.T, addr string) *h2Client {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	h := &h2Client{t: t, c: c, fr: http2.NewFramer(c, c)}
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return h
}

// get opens stream id with a GET of path.
func (h *h2Client) get(id uint32, path string) {
	h.t.Helper()
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "test"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		h.t.Fatal(err)
	}
}

// next returns the next frame that is not SETTINGS, WINDOW_UPDATE or a
// PING acknowledgement, acknowledging SETTINGS.
func (h *h2Client) next() http2.Frame {
	h.t.Helper()
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.t.Fatalf("read frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
			continue
		case *http2.WindowUpdateFrame:
			continue
		}
		return f
	}
}

// TestHTTP2DrainAnnounces drives the drain of an HTTPS server from a raw
// HTTP/2 client: first a GOAWAY naming the highest stream ID and a PING;
// a stream the client opens before it answers that PING is served (with
// net/http's single GOAWAY it would be discarded); after the answer, the
// final GOAWAY names the last stream.
func TestHTTP2DrainAnnounces(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.SetAddr("127.0.0.1:0")
	s.EnableHTTPS(cert, key)
	s.SetHTTPSAddr("127.0.0.1:0")
	release := make(chan struct{})
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write("ok ", r.Proto) })
	s.BindHandler("/slow", func(r *baton.Request) {
		<-release
		r.Response.Write("slow done")
	})
	startServer(t, s)
	addr := strings.TrimPrefix(s.URL("https"), "https://")

	h := dialH2(t, addr)
	h.get(1, "/slow") // keeps the connection busy through the drain
	done := make(chan error, 1)
	go func() { done <- s.Shutdown() }()

	f := h.next()
	ga, ok := f.(*http2.GoAwayFrame)
	if !ok || ga.LastStreamID != 1<<31-1 || ga.ErrCode != http2.ErrCodeNo {
		t.Fatalf("first frame of the drain = %v, want GOAWAY with last stream 2147483647, NO_ERROR", f)
	}
	f = h.next()
	ping, ok := f.(*http2.PingFrame)
	if !ok || ping.IsAck() {
		t.Fatalf("frame after the announcement = %v, want PING", f)
	}
	// A stream the client opened before it read the announcement.
	h.get(3, "/")
	var body []string
	for len(body) == 0 {
		switch f := h.next().(type) {
		case *http2.HeadersFrame:
		case *http2.DataFrame:
			if f.StreamID != 3 {
				t.Fatalf("data on stream %d, want 3", f.StreamID)
			}
			body = append(body, string(f.Data()))
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY (last stream %d) before the PING was answered", f.LastStreamID)
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		}
	}
	if body[0] != "ok HTTP/2.0" {
		t.Errorf("stream 3 answered %q", body[0])
	}
	if err := h.fr.WritePing(true, ping.Data); err != nil {
		t.Fatal(err)
	}
	for {
		f := h.next()
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.LastStreamID != 3 || ga.ErrCode != http2.ErrCodeNo {
				t.Errorf("final GOAWAY = last stream %d, %v; want 3, NO_ERROR", ga.LastStreamID, ga.ErrCode)
			}
			break
		}
		if df, ok := f.(*http2.DataFrame); ok && df.StreamID == 3 {
			continue // the end of stream 3
		}
		t.Fatalf("before the final GOAWAY: %v", f)
	}
	close(release)
	for {
		f := h.next()
		if df, ok := f.(*http2.DataFrame); ok && df.StreamID == 1 && len(df.Data()) > 0 {
			if got := string(df.Data()); got != "slow done" {
				t.Errorf("stream 1 answered %q", got)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
