//go:build linux

package proc_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/proc"
)

// notifyMsg is a datagram to the fake notify socket and the descriptors
// it carried.
type notifyMsg struct {
	text string
	fds  []int
}

// fakeNotifySocket listens as systemd's notify socket does: a datagram
// socket that receives SCM_RIGHTS.
func fakeNotifySocket(t *testing.T) (string, <-chan notifyMsg) {
	t.Helper()
	name := fmt.Sprintf("@baton-fdstore-%d-%d", os.Getpid(), time.Now().UnixNano())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan notifyMsg, 32)
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, syscall.CmsgSpace(16*4))
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				close(msgs)
				return
			}
			m := notifyMsg{text: string(buf[:n])}
			cms, _ := syscall.ParseSocketControlMessage(oob[:oobn])
			for _, cm := range cms {
				fds, _ := syscall.ParseUnixRights(&cm)
				m.fds = append(m.fds, fds...)
			}
			msgs <- m
		}
	}()
	return name, msgs
}

// TestFDStore runs a master under a fake service manager with the file
// descriptor store on: it must store its socket; after the master is
// killed (a crash), a client connects (into the backlog the stored copy
// keeps) and is answered by a second master started with the stored
// socket as LISTEN_FDS, which binds nothing of its own.
func TestFDStore(t *testing.T) {
	t.Parallel()
	notify, msgs := fakeNotifySocket(t)
	port := proctest.FreePort(t)
	a := startApp(t, appConfig{port: port, env: []string{"NOTIFY_SOCKET=" + notify, proc.EnvFDStore + "=1"}})
	var stored notifyMsg
	deadline := time.After(10 * time.Second)
	for stored.text == "" {
		select {
		case m := <-msgs:
			if strings.HasPrefix(m.text, "FDSTORE=1\n") {
				stored = m
			} else {
				for _, fd := range m.fds {
					syscall.Close(fd)
				}
			}
		case <-deadline:
			t.Fatal("no FDSTORE=1 message")
		}
	}
	if len(stored.fds) != 1 {
		t.Fatalf("FDSTORE message %q carried %d descriptors, want 1", stored.text, len(stored.fds))
	}
	fd := stored.fds[0]
	f := os.NewFile(uintptr(fd), "stored")
	t.Cleanup(func() { f.Close() })
	name, ok := strings.CutPrefix(strings.Split(stored.text, "\n")[1], "FDNAME=")
	if !ok || !strings.HasPrefix(name, "baton=") || !strings.HasSuffix(name, fmt.Sprint("%3A", port)) {
		t.Fatalf("FDSTORE message %q: want FDNAME=baton=<key of port %d>", stored.text, port)
	}
	if sa, err := syscall.Getsockname(fd); err != nil || sa.(*syscall.SockaddrInet4).Port != port {
		t.Fatalf("stored descriptor bound to %v (%v), want port %d", sa, err, port)
	}
	w1 := a.waitServing(10 * time.Second)
	if proctest.HasEnv(w1.pid, proc.EnvFDStore) {
		t.Errorf("worker environment has %s", proc.EnvFDStore)
	}

	// The master crashes; its worker, seeing its control channel close,
	// drains and exits. Only the stored copy holds the port.
	syscall.Kill(a.PID, syscall.SIGKILL)
	proctest.WaitGone(t, w1.pid, 15*time.Second)
	c, err := net.Dial("tcp", fmt.Sprint("127.0.0.1:", port))
	if err != nil {
		t.Fatalf("connect with no master running: %v, want the backlog of the stored socket", err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /pid HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

	b := startApp(t, appConfig{
		port:       port,
		env:        []string{"NOTIFY_SOCKET=" + notify, proc.EnvFDStore + "=1", "TEST_FDNAME=" + name},
		extraFiles: []*os.File{f},
		argv: func(bin string) []string {
			return []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES="$TEST_FDNAME" exec "$0"`, bin}
		},
	})
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the request sent while no master ran: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the request sent while no master ran: status %d", resp.StatusCode)
	}
	b.Log.WaitFor(t, 5*time.Second, 1, "adopted socket from the service manager's store")
	if got := b.Log.Matching("baton: listening"); len(got) != 0 {
		t.Errorf("second master bound a socket of its own: %q", got)
	}
	if got := b.Log.Matching("socket stored"); len(got) != 0 {
		t.Errorf("second master stored the adopted socket again: %q", got)
	}
	w2 := b.waitServing(10 * time.Second)
	if w2.pid == w1.pid {
		t.Errorf("the old worker answered")
	}
}
