package baton_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/kubetest"
	"github.com/baton-go/baton/internal/selfsigned"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	tests := []struct {
		name   string
		setup  func(s *baton.Server)
		want   string
		target error
	}{
		{name: "nothing bound", setup: func(s *baton.Server) {}, want: "no address to listen on", target: baton.ErrNoAddress},
		{name: "https without port", setup: func(s *baton.Server) { s.EnableHTTPS("c.pem", "k.pem") }, want: "HTTPS enabled but no HTTPS port", target: baton.ErrNoAddress},
		{name: "port in use", setup: func(s *baton.Server) { s.SetAddr(busy.Addr().String()) }, want: "address already in use"},
		{name: "missing certificate", setup: func(s *baton.Server) {
			s.SetAddr("127.0.0.1:0")
			s.EnableHTTPS(filepath.Join(dir, "none.pem"), filepath.Join(dir, "none.key"))
			s.SetHTTPSAddr("127.0.0.1:0")
		}, want: "load HTTPS pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			tt.setup(s)
			err := s.Start()
			if err == nil {
				s.Shutdown()
				t.Fatalf("Start succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.target != nil && !errors.Is(err, tt.target)) {
				t.Errorf("Start error = %v, want one containing %q (is %v)", err, tt.want, tt.target)
			}
			if len(s.Addrs()) != 0 {
				t.Errorf("a failed Start left listeners %v", s.Addrs())
			}
		})
	}
	t.Run("started twice", func(t *testing.T) {
		s := newServer(t)
		startServer(t, s)
		if err := s.Start(); !errors.Is(err, baton.ErrServerStarted) {
			t.Errorf("second Start = %v, want ErrServerStarted", err)
		}
	})
}

func TestSeveralPorts(t *testing.T) {
	s := newServer(t)
	s.SetAddr("127.0.0.1:0", "127.0.0.1:0", "[::1]:0")
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write("port ", r.Host) })
	startServer(t, s)
	addrs := s.Addrs()
	if len(addrs) != 3 {
		t.Fatalf("Addrs() = %v, want 3 addresses", addrs)
	}
	for _, a := range addrs {
		if strings.HasPrefix(a.String(), "[::1]") {
			if c, err := net.Dial("tcp6", a.String()); err != nil {
				t.Logf("skipping %s: no IPv6 loopback: %v", a, err)
				continue
			} else {
				c.Close()
			}
		}
		resp, err := http.Get("http://" + a.String() + "/")
		if err != nil {
			t.Fatalf("GET on %s: %v", a, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "port "+a.String() {
			t.Errorf("GET on %s = %q", a, b)
		}
	}
}

func TestHTTPSAndHTTP2(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.SetAddr("127.0.0.1:0")
	s.EnableHTTPS(cert, key)
	s.SetHTTPSAddr("127.0.0.1:0")
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write(r.Proto, " tls=", r.TLS != nil) })
	startServer(t, s)

	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	for _, tt := range []struct{ url, want string }{
		{s.URL("http") + "/", "HTTP/1.1 tls=false"},
		{s.URL("https") + "/", "HTTP/2.0 tls=true"},
	} {
		resp, err := client.Get(tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tt.want {
			t.Errorf("GET %s = %q, want %q", tt.url, b, tt.want)
		}
	}
	// An idle HTTP/2 connection does not hold up a shutdown.
	done := make(chan error, 1)
	go func() { done <- s.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown with an idle HTTP/2 client did not return")
	}
}

// rawGet writes a GET on c and reads the response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		t.Fatalf("write GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response to GET %s: %v", path, err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

func TestShutdownDrainsWithoutLoss(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.IdleGrace = 300 * time.Millisecond
	s.SetConfig(c)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s.BindHandler("/slow", func(r *baton.Request) {
		started <- struct{}{}
		<-release
		r.Response.Write("slow done")
	})
	s.BindHandler("/fast", echo("fast"))
	startServer(t, s)
	addr := s.Addrs()[0].String()

	// A keep-alive connection that has served one request.
	ka, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ka.Close()
	kbr := bufio.NewReader(ka)
	if resp := rawGet(t, ka, kbr, "/fast"); resp.Close {
		t.Fatal("first response closed the keep-alive connection")
	}
	// An idle connection that will send nothing.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	ibr := bufio.NewReader(idle)
	rawGet(t, idle, ibr, "/fast")

	// A request in flight.
	slowResp := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			slowResp <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowResp <- fmt.Sprint(resp.StatusCode, " ", string(b))
	}()
	<-started

	drainStart := time.Now()
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown() }()
	waitFor(t, "the drain to start", 5*time.Second, s.IsDraining)

	// New connections are no longer accepted.
	waitFor(t, "the listener to close", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// A request arriving on the open keep-alive connection is answered,
	// and the server asks to close.
	resp := rawGet(t, ka, kbr, "/fast")
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("request during drain: %d, close=%v; want 200, true", resp.StatusCode, resp.Close)
	}
	// The idle connection is closed, but not before the grace.
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Errorf("idle connection read = %v, want EOF", err)
	}
	if waited := time.Since(drainStart); waited < 300*time.Millisecond {
		t.Errorf("idle connection closed %v into the drain, before the 300ms grace", waited)
	}
	// The request in flight completes.
	close(release)
	if got := <-slowResp; got != "200 slow done" {
		t.Errorf("in-flight request = %q, want 200 slow done", got)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Shutdown")
	}
	if err := s.Start(); !errors.Is(err, baton.ErrServerClosed) {
		t.Errorf("Start after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestShutdownDrainTimeout(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.DrainTimeout = 200 * time.Millisecond
	s.SetConfig(c)
	block := make(chan struct{})
	defer close(block)
	entered := make(chan struct{})
	s.BindHandler("/hang", func(r *baton.Request) { close(entered); <-block })
	startServer(t, s)
	go http.Get(s.URL("http") + "/hang")
	<-entered
	err := s.Shutdown()
	if err == nil || !strings.Contains(err.Error(), "drain timeout") {
		t.Errorf("Shutdown with a hung request = %v, want a drain timeout error", err)
	}
}

func TestSlowlorisIsCutOff(t *testing.T) {
	s := newServer(t)
	c := s.Config()
	c.ReadHeaderTimeout = time.Second
	s.SetConfig(c)
	s.BindHandler("/", echo("ok"))
	startServer(t, s)
	addr := s.Addrs()[0].String()

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	closed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		header := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)
		for i := 0; i < len(header); i++ {
			if _, err := slow.Write([]byte{header[i]}); err != nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	go func() {
		slow.SetReadDeadline(time.Now().Add(20 * time.Second))
		io.ReadAll(slow) // returns once the server closes the connection
		closed <- time.Since(start)
	}()
	// Others are served while the slow client dribbles.
	served := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case took := <-closed:
			if took > 15*time.Second {
				t.Errorf("slow client cut after %v", took)
			}
			if served == 0 {
				t.Error("no other request was served while the slow client dribbled")
			}
			return
		default:
		}
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("normal request during slowloris: %v", err)
		}
		resp.Body.Close()
		served++
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("slow client was never cut off")
}

// timedConn starts a server with the given header and idle timeouts and
// returns a raw connection to it, and a reader of its answers.
func timedConn(t *testing.T, header, idle time.Duration) (net.Conn, *bufio.Reader) {
	t.Helper()
	s := newServer(t)
	c := s.Config()
	c.ReadHeaderTimeout, c.IdleTimeout = header, idle
	s.SetConfig(c)
	s.BindHandler("/", echo("ok"))
	startServer(t, s)
	conn, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn, bufio.NewReader(conn)
}

// getOn sends GET / on conn and reads the answer.
func getOn(conn net.Conn, br *bufio.Reader) error {
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// awaitClose reads from a connection the server should close, and returns
// how long that took.
func awaitClose(t *testing.T, br *bufio.Reader, what string) time.Duration {
	t.Helper()
	start := time.Now()
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read on %s = %d bytes, %v; want the server to close it", what, n, err)
	}
	return time.Since(start)
}

// TestIdleTimeoutClosesConnection checks that an idle keep-alive
// connection is closed once IdleTimeout has passed, and not before.
func TestIdleTimeoutClosesConnection(t *testing.T) {
	const idle = 1500 * time.Millisecond
	conn, br := timedConn(t, 0, idle)
	if err := getOn(conn, br); err != nil {
		t.Fatal(err)
	}
	if took := awaitClose(t, br, "the idle connection"); took < idle {
		t.Errorf("idle connection closed after %v, before the idle timeout of %v", took, idle)
	}
}

// TestIdleTimeoutRestartsPerRequest sends requests on one connection at
// intervals shorter than the idle timeout, for longer than it in all: the
// connection stays open. Then it sends the start of a request and no more:
// the header timeout, not the longer idle timeout, closes it.
func TestIdleTimeoutRestartsPerRequest(t *testing.T) {
	const header = 1500 * time.Millisecond
	conn, br := timedConn(t, header, time.Second)
	start := time.Now()
	for i := 0; time.Since(start) < 2500*time.Millisecond; i++ {
		if err := getOn(conn, br); err != nil {
			t.Fatalf("request %d after %v: %v", i, time.Since(start), err)
		}
		time.Sleep(400 * time.Millisecond) // the client's pause: idle, but less than the timeout
	}
	conn.Write([]byte("GET / HTTP/1.1\r\n"))
	if took := awaitClose(t, br, "a connection with headers stalled"); took < header {
		t.Errorf("stalled headers cut after %v, before the header timeout of %v", took, header)
	}
}

func TestCertificateRenewalWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.EnableHTTPS(cert, key)
	s.SetHTTPSAddr("127.0.0.1:0")
	s.BindHandler("/", echo("ok"))
	startServer(t, s)
	addr := strings.TrimPrefix(s.URL("https"), "https://")
	fingerprint := func() string {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return string(c.ConnectionState().PeerCertificates[0].Signature)
	}
	before := fingerprint()
	// Renew in place, as a certificate manager does; the two files change
	// one after the other.
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the renewed certificate to be served", 10*time.Second, func() bool { return fingerprint() != before })
}

// TestCertificateRenewalKubernetesMount serves a pair mounted as a
// Kubernetes Secret (or cert-manager) volume: the kubelet renews it by
// swapping the ..data symlink and removing the old version's directory.
func TestCertificateRenewalKubernetesMount(t *testing.T) {
	gen := func() map[string]string {
		dir := t.TempDir()
		cert, key := filepath.Join(dir, "c"), filepath.Join(dir, "k")
		if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		cb, _ := os.ReadFile(cert)
		kb, _ := os.ReadFile(key)
		return map[string]string{"tls.crt": string(cb), "tls.key": string(kb)}
	}
	m := kubetest.New(t, t.TempDir(), gen())
	s := newServer(t)
	s.EnableHTTPS(m.Path("tls.crt"), m.Path("tls.key"))
	s.SetHTTPSAddr("127.0.0.1:0")
	s.BindHandler("/", echo("ok"))
	startServer(t, s)
	addr := strings.TrimPrefix(s.URL("https"), "https://")
	fingerprint := func() string {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return string(c.ConnectionState().PeerCertificates[0].Signature)
	}
	for i := range 2 { // the second swap follows a directory that replaced the first
		before := fingerprint()
		m.Update(gen())
		waitFor(t, fmt.Sprintf("renewed certificate %d to be served", i+1), 10*time.Second, func() bool { return fingerprint() != before })
	}
}
