//go:build linux

package baton_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/baton-go/baton/internal/proctest"
)

// h2loadPath returns the path of h2load (Debian's nghttp2-client), or skips
// the test without it unless BATON_H2LOAD_TESTS=1 makes it mandatory.
func h2loadPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("h2load")
	if err != nil {
		if os.Getenv("BATON_H2LOAD_TESTS") == "1" {
			t.Fatalf("BATON_H2LOAD_TESTS=1 but h2load is not installed: %v", err)
		}
		t.Skip("h2load not installed (apt-get install nghttp2-client); BATON_H2LOAD_TESTS=1 makes this test mandatory")
	}
	return p
}

// h2Tally counts the streams of rawH2Load.
type h2Tally struct {
	sent, answered atomic.Int64
	// refused are streams the client sent and the server dropped: above
	// the last stream of a GOAWAY, reset, or cut with the connection.
	refused atomic.Int64
	conns   atomic.Int64 // connections made
	mu      sync.Mutex
	errs    map[string]int
}

func (t *h2Tally) fail(kind string) {
	t.mu.Lock()
	if t.errs == nil {
		t.errs = map[string]int{}
	}
	t.errs[kind]++
	t.mu.Unlock()
}

// rawH2Load keeps streams in flight on each of conns HTTP/2 connections
// to addr, as a client that never retries: a stream the server drops
// counts as refused. After a GOAWAY it opens no stream on that
// connection, and once its streams are answered it connects again.
func rawH2Load(addr string, conns, streams int, stop <-chan struct{}) (*h2Tally, *sync.WaitGroup) {
	tally := &h2Tally{}
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rawH2Conn(addr, streams, stop, tally)
			}
		}()
	}
	return tally, &wg
}

func rawH2Conn(addr string, streams int, stop <-chan struct{}, tally *h2Tally) {
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		tally.fail("dial")
		time.Sleep(10 * time.Millisecond) // a refused dial: do not spin
		return
	}
	defer c.Close()
	tally.conns.Add(1)
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "load"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	block := hdr.Bytes()
	open := map[uint32]bool{}
	next := uint32(1)
	goaway := false
	send := func() {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: next, BlockFragment: block, EndStream: true, EndHeaders: true})
		open[next] = true
		next += 2
		tally.sent.Add(1)
	}
	for range streams {
		send()
	}
	stopping := false
	for len(open) > 0 {
		select {
		case <-stop:
			stopping = true
		default:
		}
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		f, err := fr.ReadFrame()
		if err != nil {
			// Streams cut with the connection were dropped.
			tally.refused.Add(int64(len(open)))
			tally.fail("cut")
			return
		}
		end := uint32(0)
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			goaway = true
			for id := range open {
				if id > f.LastStreamID {
					delete(open, id)
					tally.refused.Add(1)
				}
			}
		case *http2.RSTStreamFrame:
			if open[f.StreamID] {
				delete(open, f.StreamID)
				tally.refused.Add(1)
			}
		case *http2.HeadersFrame:
			if f.StreamEnded() {
				end = f.StreamID
			}
		case *http2.DataFrame:
			if n := len(f.Data()); n > 0 {
				fr.WriteWindowUpdate(0, uint32(n))
			}
			if f.StreamEnded() {
				end = f.StreamID
			}
		}
		if end != 0 && open[end] {
			delete(open, end)
			tally.answered.Add(1)
			if !goaway && !stopping {
				send()
			}
		}
	}
}

var h2loadRequests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored`)

// TestHTTP2ReloadUnderH2load reloads examples/https under two HTTP/2
// loads in turn: h2load with 16 connections of 8 streams over one reload,
// then a client of the same shape that never retries and connects again
// after a GOAWAY, over three. It requires that the server drops none of
// the streams that client sent, and logs both figures (go test -v).
//
// h2load's own "errored" count includes the requests it declines to send
// itself once a GOAWAY has come, whatever its last stream: it does not
// connect again, so it cannot reach zero at a reload.
func TestHTTP2ReloadUnderH2load(t *testing.T) {
	h2load := h2loadPath(t)
	if testing.Short() {
		t.Skip("HTTP/2 reloads under load take about ten seconds")
	}
	const reloads = 3
	bin := build(t, "./examples/https")
	httpPort, httpsPort := freePort(t), freePort(t)
	p := proctest.Start(t, proctest.Config{
		Argv: []string{bin, "-http", strconv.Itoa(httpPort), "-https", strconv.Itoa(httpsPort)},
		Dir:  t.TempDir(), // where it writes its self-signed pair
		Port: httpPort,
	})
	p.Log.WaitFor(t, 30*time.Second, 1, "baton: worker ready")
	addr := fmt.Sprintf("127.0.0.1:%d", httpsPort)

	// h2load alone, over one reload: its clients do not connect again
	// after a GOAWAY.
	var out bytes.Buffer
	cmd := exec.Command(h2load, "-c16", "-m8", "-D", "6", "https://"+addr+"/")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var h2err error
	go func() { h2err = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	p.Log.WaitFor(t, 30*time.Second, 2000, "msg=request")
	p.Signal(syscall.SIGUSR1)
	p.Log.WaitFor(t, 30*time.Second, 1, "baton: reload complete")
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("h2load did not end")
	}

	// The client that never retries, over reloads.
	stop := make(chan struct{})
	tally, wg := rawH2Load(addr, 16, 8, stop)
	for i := range reloads {
		before := tally.answered.Load()
		waitFor(t, "answers before the reload", 20*time.Second, func() bool {
			return tally.answered.Load() > before+2000
		})
		p.Signal(syscall.SIGUSR1)
		p.Log.WaitFor(t, 30*time.Second, i+2, "baton: reload complete")
		p.Log.WaitFor(t, 30*time.Second, i+2, "baton: stopped")
	}
	before := tally.answered.Load()
	waitFor(t, "answers after the last reload", 20*time.Second, func() bool {
		return tally.answered.Load() > before+2000
	})
	close(stop)
	wg.Wait()

	m := h2loadRequests.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("h2load (%v) printed no request counts:\n%s", h2err, out.String())
	}
	t.Logf("\nexamples/https reloaded under HTTP/2 load, 16 connections x 8 streams\n"+
		"h2load, 1 reload:        %s total, %s succeeded, %s failed, %s errored\n"+
		"never-retry, %d reloads: %d sent, %d answered, %d refused, %d connections, other %v",
		m[1], m[4], m[5], m[6], reloads,
		tally.sent.Load(), tally.answered.Load(), tally.refused.Load(), tally.conns.Load(), tally.errs)
	if n := tally.refused.Load(); n > 0 {
		t.Errorf("the server dropped %d streams a client had sent before it saw the drain", n)
	}
	if tally.answered.Load() == 0 {
		t.Error("the never-retry client got no answer")
	}
}
