//go:build unix && !aix

// This file holds the master's socket table: the listening sockets it
// keeps for its workers (bound for a Listen, adopted from the service
// manager or from the master before a restart), found by key or address,
// pruned when no worker uses them, handed over at a restart and closed at
// shutdown. The table has a lock of its own.

package proc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// socketTable is the set of listening sockets the master holds. It is safe
// for concurrent use: the goroutines reading the workers' control channels
// bind and find sockets, the run goroutine prunes and closes them.
//
// NOTE: lock order is master.mu, then socketTable.mu, then child.mu.
type socketTable struct {
	log *slog.Logger

	fdstore *fdStore // the service manager's store, or nil; set before the first listen

	mu      sync.Mutex
	socks   []*socket
	closing bool // no more Listen: the master shuts down
}

func newSocketTable(log *slog.Logger) *socketTable {
	return &socketTable{log: log}
}

// add keeps an adopted socket (socket activation, or inherited across a
// restart).
func (t *socketTable) add(s *socket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.socks = append(t.socks, s)
}

// listen finds or creates the socket for a worker's Listen and returns a
// duplicate of it for the reply (so that it stays valid even if the socket
// is closed meanwhile).
func (t *socketTable) listen(c *child, key, network, addr string) (int, string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return -1, "", ErrShuttingDown
	}
	s := t.find(key, network, addr)
	if s == nil {
		var err error
		if s, err = bindSocket(network, addr); err != nil {
			return -1, "", err
		}
		t.socks = append(t.socks, s)
		t.log.Info("baton: listening", "key", key, "addr", s.addr.String())
		t.fdstore.store(s, key)
	}
	s.addKey(key)
	c.mu.Lock()
	c.sockets[s] = true
	c.mu.Unlock()
	fd, err := dupCloexec(s.fd)
	if err != nil {
		return -1, "", fmt.Errorf("baton: listen %s %s: %w", network, addr, err)
	}
	return fd, s.addr.String(), nil
}

// find returns the held socket for a Listen request: the one held for
// key, else a socket-activation socket named key, else one bound to addr.
// The caller holds t.mu.
func (t *socketTable) find(key, network, addr string) *socket {
	for _, s := range t.socks {
		// A key whose address changed (a new configuration) gets a new
		// socket; the old one stays while a worker uses it.
		if s.hasKey(key) && (matchAddr(network, addr, s.addr) || portZero(network, addr) && sameFamily(network, s.network)) {
			return s
		}
	}
	for _, s := range t.socks {
		if s.activated && s.name != "" && s.name == key && sameFamily(network, s.network) {
			return s
		}
	}
	for _, activated := range []bool{true, false} {
		for _, s := range t.socks {
			if s.activated == activated && matchAddr(network, addr, s.addr) {
				return s
			}
		}
	}
	return nil
}

func portZero(network, addr string) bool {
	if network == "unix" {
		return false
	}
	_, port, err := splitPort(addr)
	return err == nil && (port == "" || port == "0")
}

func splitPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

func sameFamily(a, b string) bool {
	return (a == "unix") == (b == "unix")
}

// prune closes the sockets none of users (the current and the starting
// worker) asked for, so that an address dropped from the configuration is
// released. Socket-activation sockets are kept: the service manager owns
// them.
func (t *socketTable) prune(users ...*child) {
	t.mu.Lock()
	defer t.mu.Unlock()
	used := make(map[*socket]bool)
	for _, c := range users {
		if c == nil {
			continue
		}
		c.mu.Lock()
		for s := range c.sockets {
			used[s] = true
		}
		c.mu.Unlock()
	}
	t.socks = slices.DeleteFunc(t.socks, func(s *socket) bool {
		if s.activated || used[s] {
			return false
		}
		t.log.Info("baton: closing unused socket", "keys", strings.Join(s.keys, ","), "addr", s.addr.String())
		t.fdstore.remove(s)
		s.close()
		return true
	})
}

// refuse makes every further Listen fail with ErrShuttingDown.
func (t *socketTable) refuse() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = true
}

// closeAll closes every socket; further Listens fail. The copies in the
// service manager's store stay, for the next master.
func (t *socketTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = true
	for _, s := range t.socks {
		s.close()
	}
	t.socks = nil
}

// listeners describes the held sockets, one entry per key.
func (t *socketTable) listeners() []ListenerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ls []ListenerInfo
	for _, s := range t.socks {
		if len(s.keys) == 0 {
			ls = append(ls, ListenerInfo{Key: s.name, Network: s.network, Addr: s.addr.String()})
		}
		for _, k := range s.keys {
			ls = append(ls, ListenerInfo{Key: k, Network: s.network, Addr: s.addr.String()})
		}
	}
	return ls
}

// handOff holds the table while fn passes the sockets to the program a
// restart executes: none is bound, pruned or closed meanwhile.
func (t *socketTable) handOff(fn func(socks []*socket) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fn(t.socks)
}

// cloexecAll marks socks close-on-exec again after a failed exec.
func cloexecAll(socks []*socket) {
	for _, s := range socks {
		setCloexec(s.fd, true)
	}
}

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
	name      string   // socket-activation name, or FDNAME in the service manager's store
	activated bool     // passed by the service manager, from a .socket unit
	stored    bool     // a copy is in the service manager's store, under name
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
