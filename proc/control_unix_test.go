//go:build unix && !aix

package proc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
)

func connPair(t *testing.T) (*conn, *conn) {
	t.Helper()
	a, b, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := newConn(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := newConn(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ca.close()
		cb.close()
	})
	return ca, cb
}

// TestConnDescriptors checks that each descriptor arrives with the line it
// was sent with, among lines without descriptors and lines longer than one
// read.
func TestConnDescriptors(t *testing.T) {
	send, recv := connPair(t)
	var lns []net.Listener
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns = append(lns, ln)
	}
	const n = 300
	long := strings.Repeat("k", 100<<10)
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			m := &message{Type: msgReply, ID: uint64(i)}
			fd := -1
			switch {
			case i%3 == 0:
				ln := lns[i%len(lns)]
				m.Addr = ln.Addr().String()
				var err error
				if fd, err = dupListener(ln.(syscall.Conn)); err != nil {
					errc <- err
					return
				}
			case i%7 == 1:
				m.Key = long
			}
			err := send.send(m, fd)
			if fd >= 0 {
				syscall.Close(fd)
			}
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- send.uc.CloseWrite()
	}()
	for i := range n {
		m, fd, err := recv.recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if m.ID != uint64(i) {
			t.Fatalf("message %d has id %d", i, m.ID)
		}
		if i%7 == 1 && i%3 != 0 && m.Key != long {
			t.Errorf("message %d: long key of %d bytes, want %d", i, len(m.Key), len(long))
		}
		if (fd >= 0) != (i%3 == 0) {
			t.Fatalf("message %d: fd %d, want one only for every third", i, fd)
		}
		if fd < 0 {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		syscall.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		_, addr := sockaddrAddr(sa)
		if addr.String() != m.Addr {
			t.Errorf("message %d: descriptor bound to %s, want %s", i, addr, m.Addr)
		}
	}
	if _, _, err := recv.recv(); !errors.Is(err, io.EOF) {
		t.Errorf("recv after close = %v, want EOF", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestConnMissingDescriptor(t *testing.T) {
	send, recv := connPair(t)
	if _, err := send.uc.Write([]byte(`{"type":"reply","id":1,"fd":true}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := recv.recv(); !errors.Is(err, ErrProtocol) {
		t.Errorf("recv = %v, want ErrProtocol", err)
	}
}

func TestReplyErr(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   error
		want string
	}{
		{"reload", &ReloadError{PID: 42, Cause: "exited with status 3", Err: ErrWorkerExited}, ErrWorkerExited,
			"baton: reload: new worker 42: exited with status 3"},
		{"timeout", &ReloadError{PID: 7, Cause: "not ready after 2s", Err: ErrReloadTimeout}, ErrReloadTimeout,
			"baton: reload: new worker 7: not ready after 2s"},
		{"start", &ReloadError{Cause: "fork/exec /x: no such file or directory", Err: ErrWorkerStart}, ErrWorkerStart,
			"baton: reload: new worker: fork/exec /x: no such file or directory"},
		{"shutdown", ErrShuttingDown, ErrShuttingDown, "baton: shutting down"},
		{"unsafe reload", &ReloadError{Cause: "unsafe executable /x: writable by group or others (mode 0777)", Err: ErrUnsafeExecutable},
			ErrUnsafeExecutable, "baton: reload: new worker: unsafe executable /x: writable by group or others (mode 0777)"},
		{"unsafe restart", fmt.Errorf("baton: restart refused: %w", &unsafeError{"/x", "owned by uid 7"}), ErrUnsafeExecutable,
			"baton: restart refused: unsafe executable /x: owned by uid 7; refusing to run it (see BATON_STRICT_MODES)"},
		{"listen", errors.New("listen tcp :80: bind: permission denied"), nil, "listen tcp :80: bind: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &message{Type: msgReply}
			setReplyErr(m, tt.err)
			got := replyErr(m)
			if got == nil || got.Error() != tt.want {
				t.Fatalf("replyErr(setReplyErr(%q)) = %v, want %q", tt.err, got, tt.want)
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.is)
			}
			var re *ReloadError
			if errors.As(tt.err, &re) {
				var got2 *ReloadError
				if !errors.As(got, &got2) || got2.PID != re.PID || got2.Cause != re.Cause {
					t.Errorf("reply error %#v, want %#v", got, re)
				}
			}
		})
	}
	if err := replyErr(&message{Type: msgReply}); err != nil {
		t.Errorf("replyErr of a success = %v", err)
	}
}

func TestMatchAddr(t *testing.T) {
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8199}
	any6 := &net.TCPAddr{IP: net.IPv6unspecified, Port: 8199}
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8199}
	sock := &net.UnixAddr{Name: "/run/app.sock", Net: "unix"}
	tests := []struct {
		network, addr string
		bound         net.Addr
		want          bool
	}{
		{"tcp", ":8199", any4, true},
		{"tcp", ":8199", any6, true},
		{"tcp", "0.0.0.0:8199", any6, true},
		{"tcp", "[::]:8199", any4, true},
		{"tcp", ":8199", lo, false},
		{"tcp", "127.0.0.1:8199", lo, true},
		{"tcp", "localhost:8199", lo, true},
		{"tcp4", "127.0.0.1:8199", lo, true},
		{"tcp", "127.0.0.2:8199", lo, false},
		{"tcp", ":8200", any4, false},
		{"tcp", ":0", &net.TCPAddr{IP: net.IPv4zero}, false},
		{"tcp", ":http", &net.TCPAddr{IP: net.IPv4zero, Port: 80}, true},
		{"tcp", "garbage", any4, false},
		{"unix", "/run/app.sock", sock, true},
		{"unix", "/run/../run/app.sock", sock, true},
		{"unix", "/run/other.sock", sock, false},
		{"tcp", "/run/app.sock", sock, false},
		{"unix", ":8199", any4, false},
	}
	for _, tt := range tests {
		if got := matchAddr(tt.network, tt.addr, tt.bound); got != tt.want {
			t.Errorf("matchAddr(%q, %q, %v) = %v, want %v", tt.network, tt.addr, tt.bound, got, tt.want)
		}
	}
}

// TestBindSocket checks the master's copy of a new socket: non-blocking,
// close-on-exec, and usable after the net.Listener it came from is closed.
func TestBindSocket(t *testing.T) {
	s, err := bindSocket("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.fd), syscall.F_GETFL, 0)
	if errno != 0 || flags&syscall.O_NONBLOCK == 0 {
		t.Errorf("flags %#o (%v): want O_NONBLOCK", flags, errno)
	}
	fdflags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.fd), syscall.F_GETFD, 0)
	if errno != 0 || fdflags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x (%v): want FD_CLOEXEC", fdflags, errno)
	}
	fd, err := dupCloexec(s.fd)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := fdListener(fd, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != s.addr.String() {
		t.Errorf("listener on %s, want %s", ln.Addr(), s.addr)
	}
	c, err := net.Dial("tcp", s.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ac, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ac.Close()

	if _, err := bindSocket("tcp", s.addr.String()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second bind of %s = %v, want address already in use", s.addr, err)
	}
	if _, err := bindSocket("udp", "127.0.0.1:0"); err == nil {
		t.Errorf("bindSocket(udp) succeeded, want an error")
	}
}

func TestBindUnixSocket(t *testing.T) {
	path := t.TempDir() + "/s.sock"
	s, err := bindSocket("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := dupCloexec(s.fd)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := fdListener(fd, "test")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // a worker closing its listener keeps the file
	if _, err := net.Dial("unix", path); err != nil {
		t.Errorf("dial after a worker's close: %v", err)
	}
	s.close() // the master's close removes it
	if _, err := net.Dial("unix", path); err == nil {
		t.Errorf("dial after the master's close succeeded")
	}
}

// TestConnPeerKilledWithUnreadData closes one end while a message to it is
// still unread, as when a worker is killed before reading the master's
// last line: the other end sees the end of the stream (ECONNRESET), not a
// failure of its own.
func TestConnPeerKilledWithUnreadData(t *testing.T) {
	a, b := connPair(t)
	if err := a.send(&message{Type: msgDrain}, -1); err != nil {
		t.Fatal(err)
	}
	b.close()
	if m, _, err := a.recv(); !errors.Is(err, io.EOF) {
		t.Errorf("recv after the peer closed = %+v, %v; want io.EOF", m, err)
	}
}
