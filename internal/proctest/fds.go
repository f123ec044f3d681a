//go:build linux

package proctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The descriptors of a process and the listening sockets of a port, as
// /proc tells them.

// FDCount returns how many file descriptors pid holds; zero for a process
// that is gone.
func FDCount(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// ListFDs returns the descriptors of pid and what each refers to, one
// "fd -> target" a line, for a failure message.
func ListFDs(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), l)
	}
	return b.String()
}

// FDFlags returns the file status flags (O_NONBLOCK, O_CLOEXEC, ...) of
// the descriptor fd of pid, and fails the test if /proc does not say.
func FDFlags(t testing.TB, pid, fd int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no flags in fdinfo of %d/%d", pid, fd)
	return 0
}

// SocketFDs returns the descriptors of pid that refer to the socket with
// inode ino.
func SocketFDs(pid int, ino uint64) []int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	want := fmt.Sprintf("socket:[%d]", ino)
	var out []int
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join(dir, e.Name())); l == want {
			fd, _ := strconv.Atoi(e.Name())
			out = append(out, fd)
		}
	}
	return out
}

// ListenInodes returns the inodes of the TCP sockets, IPv4 or IPv6, that
// listen on port.
func ListenInodes(port int) []uint64 {
	var out []uint64
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 32)
			if err != nil || int(p) != port {
				continue
			}
			ino, _ := strconv.ParseUint(f[9], 10, 64)
			out = append(out, ino)
		}
	}
	return out
}

// PortClosed reports whether a connection to port on 127.0.0.1 is refused:
// nothing listens there.
func PortClosed(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Established returns how many TCP connections, IPv4 or IPv6, are
// established to port on this host (counted on the server's side).
func Established(port int) int {
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "01" { // 01: TCP_ESTABLISHED
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 32); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}
