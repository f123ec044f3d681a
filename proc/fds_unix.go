//go:build unix && !aix

package proc

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// socket is a listening socket held by the master. The master never accepts
// on it; it only hands duplicates to workers.
//
// NOTE: the descriptor is a raw int, never wrapped in an *os.File, because
// (*os.File).Fd would switch the shared file description to blocking mode
// in every process that holds it. Keep it that way.
type socket struct {
	fd        int
	keys      []string // keys workers asked for
	network   string   // "tcp" or "unix" ("tcp4"/"tcp6" when asked so)
	addr      net.Addr // the bound address
	name      string   // socket-activation name, if any
	activated bool     // passed by the service manager
	unlink    string   // Unix socket path the master created, removed at shutdown
}

func (s *socket) hasKey(key string) bool { return slices.Contains(s.keys, key) }

func (s *socket) addKey(key string) {
	if !s.hasKey(key) {
		s.keys = append(s.keys, key)
	}
}

// close closes the master's descriptor and removes a socket file the master
// created.
func (s *socket) close() {
	if s.fd >= 0 {
		syscall.Close(s.fd)
		s.fd = -1
	}
	if s.unlink != "" {
		os.Remove(s.unlink)
		s.unlink = ""
	}
}

// bindSocket creates a listening socket and returns the master's raw,
// non-blocking, close-on-exec descriptor for it. The error is the one
// net.Listen returns, e.g. "listen tcp :80: bind: permission denied".
func bindSocket(network, addr string) (*socket, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	s := &socket{fd: -1, network: network, addr: ln.Addr()}
	if ul, ok := ln.(*net.UnixListener); ok {
		// The socket outlives this listener: closing it must not remove
		// the file that clients connect to.
		ul.SetUnlinkOnClose(false)
		if name := ul.Addr().String(); name != "" && name[0] != '@' {
			s.unlink = name
		}
	}
	s.fd, err = dupListener(ln.(syscall.Conn))
	ln.Close()
	if err != nil {
		if s.unlink != "" {
			os.Remove(s.unlink)
		}
		return nil, fmt.Errorf("baton: listen %s %s: %w", network, addr, err)
	}
	return s, nil
}

// dupListener duplicates the descriptor of a listener without (*os.File).Fd.
func dupListener(sc syscall.Conn) (int, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	err = rc.Control(func(raw uintptr) { fd, derr = dupCloexec(int(raw)) })
	if err != nil {
		return -1, err
	}
	return fd, derr
}

// dupCloexec duplicates fd with F_DUPFD_CLOEXEC, so that no process started
// concurrently inherits the copy.
func dupCloexec(fd int) (int, error) {
	for {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, os.NewSyscallError("fcntl", errno)
		}
		return int(r), nil
	}
}

// setCloexec sets or clears FD_CLOEXEC on fd.
func setCloexec(fd int, on bool) error {
	v := 0
	if on {
		v = syscall.FD_CLOEXEC
	}
	_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, uintptr(v))
	if errno != 0 {
		return os.NewSyscallError("fcntl", errno)
	}
	return nil
}

// adoptSocket takes over an inherited listening descriptor (from the service
// manager or from the master before a restart): close-on-exec, non-blocking,
// and its bound address.
func adoptSocket(fd int) (*socket, error) {
	if err := setCloexec(fd, true); err != nil {
		return nil, fmt.Errorf("baton: inherited descriptor %d: %w", fd, err)
	}
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("baton: inherited descriptor %d: %w", fd, os.NewSyscallError("getsockopt", err))
	}
	if typ != syscall.SOCK_STREAM {
		return nil, fmt.Errorf("baton: inherited descriptor %d is not a stream socket: %w", fd, ErrProtocol)
	}
	// Sockets from the service manager are in blocking mode; a blocking
	// listening socket would tie up a thread per worker in accept.
	if err := syscall.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("baton: inherited descriptor %d: %w", fd, os.NewSyscallError("setnonblock", err))
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("baton: inherited descriptor %d: %w", fd, os.NewSyscallError("getsockname", err))
	}
	network, addr := sockaddrAddr(sa)
	if addr == nil {
		return nil, fmt.Errorf("baton: inherited descriptor %d: unsupported address family: %w", fd, ErrProtocol)
	}
	return &socket{fd: fd, network: network, addr: addr}, nil
}

// sockaddrAddr converts a stream socket's address.
func sockaddrAddr(sa syscall.Sockaddr) (string, net.Addr) {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return "tcp", &net.TCPAddr{IP: net.IP(slices.Clone(sa.Addr[:])), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(slices.Clone(sa.Addr[:])), Port: sa.Port}
		if sa.ZoneId != 0 {
			a.Zone = strconv.Itoa(int(sa.ZoneId))
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return "tcp", a
	case *syscall.SockaddrUnix:
		return "unix", &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return "", nil
}

// matchAddr reports whether a listen request for (network, addr) is
// satisfied by a socket bound to bound. Requests for port 0 never match: they
// ask for a fresh port.
func matchAddr(network, addr string, bound net.Addr) bool {
	switch b := bound.(type) {
	case *net.UnixAddr:
		if network != "unix" {
			return false
		}
		return addr == b.Name || (addr != "" && addr[0] != '@' && b.Name != "" && b.Name[0] != '@' &&
			filepath.Clean(addr) == filepath.Clean(b.Name))
	case *net.TCPAddr:
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return false
		}
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return false
		}
		port, err := net.LookupPort(network, portStr)
		if err != nil || port == 0 || port != b.Port {
			return false
		}
		if network == "tcp4" && b.IP.To4() == nil && !b.IP.IsUnspecified() {
			return false
		}
		if host == "" {
			return b.IP.IsUnspecified()
		}
		ip := net.ParseIP(host)
		if ip == nil {
			ta, err := net.ResolveTCPAddr(network, addr)
			if err != nil {
				return false
			}
			ip = ta.IP
		}
		if ip.IsUnspecified() {
			return b.IP.IsUnspecified()
		}
		return ip.Equal(b.IP)
	}
	return false
}
