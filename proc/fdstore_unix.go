//go:build unix && !aix

package proc

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// systemd's file descriptor store (FileDescriptorStoreMax=, sd_notify(3)
// FDSTORE=1): the master gives the service manager a copy of each TCP
// socket it binds, named after the socket's first key, so that the socket
// stays open when the master itself ends (systemctl restart with
// FileDescriptorStorePreserve=yes, or a crash with Restart=). The next
// master gets the copies back as LISTEN_FDS with their names in
// LISTEN_FDNAMES, adopts them under their keys, and connections that
// arrived meanwhile wait in the backlog instead of being refused.

// fdStorePrefix begins the FDNAME of the sockets the master stores, which
// tells them from the sockets of a .socket unit.
const fdStorePrefix = "baton="

// fdNameMax is systemd's limit on FDNAME.
const fdNameMax = 255

// fdStoreOn reports whether the variable asks for the store.
func fdStoreOn(v string) bool {
	return v != "" && v != "0"
}

// storeName is the FDNAME of a socket stored for key: the prefix and key
// with '%', ':' (the separator of LISTEN_FDNAMES) and any byte outside
// printable ASCII escaped as %XX. It returns "" when that is too long.
func storeName(key string) string {
	var b strings.Builder
	b.WriteString(fdStorePrefix)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == ':' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	if b.Len() > fdNameMax {
		return ""
	}
	return b.String()
}

// parseStoreName returns the key a stored socket's FDNAME names, and false
// for a name the master did not give.
func parseStoreName(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, fdStorePrefix)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] != '%' {
			b.WriteByte(rest[i])
			continue
		}
		if i+2 >= len(rest) {
			return "", false
		}
		var c byte
		if _, err := fmt.Sscanf(rest[i+1:i+3], "%02X", &c); err != nil {
			return "", false
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), true
}

// fdStore sends sockets to the service manager's store.
type fdStore struct {
	n *notifier
}

func newFDStore(n *notifier) *fdStore {
	if n == nil || !fdStoreOn(os.Getenv(EnvFDStore)) {
		return nil
	}
	return &fdStore{n: n}
}

// store gives the service manager a copy of s, bound for key. Only TCP
// sockets are stored: a Unix socket's file is removed when the master
// ends, so a .socket unit should own those.
func (f *fdStore) store(s *socket, key string) {
	if f == nil || s.network == "unix" || s.stored {
		return
	}
	name := storeName(key)
	if name == "" {
		f.n.log.Warn("baton: fdstore: key too long for FDNAME, socket not stored", "key", key)
		return
	}
	if err := f.n.sendFDs("FDSTORE=1\nFDNAME="+name, s.fd); err != nil {
		f.n.log.Warn("baton: fdstore", "key", key, "err", err)
		return
	}
	s.name, s.stored = name, true
	f.n.log.Info("baton: socket stored in the service manager", "name", name, "addr", s.addr.String())
}

// remove takes s out of the store, when the master closes it for good.
func (f *fdStore) remove(s *socket) {
	if f == nil || !s.stored {
		return
	}
	f.n.send("FDSTOREREMOVE=1\nFDNAME=" + s.name)
	s.stored = false
}

// sendFDs sends state with fds as SCM_RIGHTS (sd_pid_notify_with_fds),
// from an unconnected socket: package net refuses a message with an
// address on a connected datagram socket, and a connected one without.
func (n *notifier) sendFDs(state string, fds ...int) error {
	sfd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer syscall.Close(sfd)
	syscall.CloseOnExec(sfd)
	// A leading '@' names the abstract namespace, as for net.
	to := &syscall.SockaddrUnix{Name: n.addr}
	if err := syscall.Sendmsg(sfd, []byte(state), syscall.UnixRights(fds...), to, 0); err != nil {
		return os.NewSyscallError("sendmsg", err)
	}
	return nil
}
