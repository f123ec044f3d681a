//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || s390x || loong64)

package baton

import (
	"net"
	"syscall"
	"unsafe"
)

const ioctlFIONREAD = 0x541B

// pendingBytes returns how many received bytes wait unread in the kernel
// for c, or 0 if that cannot be told.
func pendingBytes(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	rc.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlFIONREAD, uintptr(unsafe.Pointer(&n)))
	})
	return int(n)
}
