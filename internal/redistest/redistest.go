// Package redistest starts a real redis-server for a test: on a free
// loopback port, without persistence, stopped by pid when the test ends,
// even when it fails. Without redis-server installed the test is skipped,
// unless EnvRequired is 1, which CI sets: then it fails.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// EnvRequired, set to 1, makes a missing redis-server fail the tests
// instead of skipping them.
const EnvRequired = "BATON_REDIS_TESTS"

// startTimeout bounds the wait for a started server to answer PING.
const startTimeout = 20 * time.Second

// Server is a running redis-server.
type Server struct {
	Addr string // 127.0.0.1:port
	Pid  int
}

// Start runs a redis-server for t and returns once it answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("redis-server not found and %s=1: %v", EnvRequired, err)
		}
		t.Skipf("redis-server not installed (apt-get install redis-server); set %s=1 to make this a failure", EnvRequired)
	}
	var lastErr error
	// A port found free may be taken before redis binds it: try another.
	for range 5 {
		port := freePort(t)
		dir := t.TempDir()
		cmd := exec.Command(bin,
			"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--protected-mode", "no",
			"--daemonize", "no", "--dir", dir, "--logfile", "",
			"--databases", "1")
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			cmd.Process.Kill() // by pid; no persistence, nothing to save
			<-exited
		})
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Pid: pid}
		if lastErr = s.waitPing(exited); lastErr == nil {
			return s
		}
		lastErr = fmt.Errorf("%w; output:\n%s", lastErr, out.String())
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// waitPing waits until the server answers PING, or it exits.
func (s *Server) waitPing(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if err := s.Ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING on %s within %v: %w", s.Addr, startTimeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited", s.Addr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Ping sends PING and expects PONG.
func (s *Server) Ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
