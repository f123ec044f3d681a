//go:build linux && (amd64 || arm64 || riscv64 || loong64)

package baton

import (
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"
)

// tcpiBytesAcked is the offset of tcpi_bytes_acked in struct tcp_info,
// which Linux has filled since 4.2.
const tcpiBytesAcked = 120

// bytesAcked returns how many bytes the peer of c has acknowledged, and
// whether the kernel tells.
func bytesAcked(c net.Conn) (uint64, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info [256]byte
	n := uint32(len(info))
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0)
	}); err != nil || errno != 0 || n < tcpiBytesAcked+8 {
		return 0, false
	}
	return binary.NativeEndian.Uint64(info[tcpiBytesAcked:]), true
}
