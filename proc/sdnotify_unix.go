//go:build unix && !aix

package proc

import (
	"fmt"
	"log/slog"
	"net"
	"os"
)

// notifier sends sd_notify(3) messages to the service manager when
// NOTIFY_SOCKET is set (systemd Type=notify or Type=notify-reload). A nil
// *notifier sends nothing.
type notifier struct {
	addr string
	log  *slog.Logger
}

func newNotifier(log *slog.Logger) *notifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		log.Warn("baton: unsupported NOTIFY_SOCKET, not notifying", "addr", addr)
		return nil
	}
	// Go's Unix addresses map a leading '@' to the abstract namespace.
	return &notifier{addr: addr, log: log}
}

func (n *notifier) send(state string) {
	if n == nil {
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		n.log.Warn("baton: sd_notify", "err", err)
		return
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		n.log.Warn("baton: sd_notify", "err", err)
	}
}

// ready reports that the service is up (again).
func (n *notifier) ready(pid int) {
	n.send(fmt.Sprintf("READY=1\nMAINPID=%d", pid))
}

// reloading reports the start of a reload or restart; systemd requires the
// monotonic time for Type=notify-reload.
func (n *notifier) reloading() {
	if n == nil {
		return
	}
	s := "RELOADING=1"
	if usec, ok := monotonicUsec(); ok {
		s += fmt.Sprintf("\nMONOTONIC_USEC=%d", usec)
	}
	n.send(s)
}

// stopping reports the start of a shutdown.
func (n *notifier) stopping() {
	n.send("STOPPING=1")
}
