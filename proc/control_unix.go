//go:build unix && !aix

package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Message types on the control channel.
const (
	msgHello    = "hello"    // worker → master: pid and generation
	msgListen   = "listen"   // worker → master: key, network, addr; reply carries an fd
	msgReady    = "ready"    // worker → master: all servers accept
	msgFail     = "fail"     // worker → master: could not start, err
	msgReload   = "reload"   // worker → master; reply when the new worker is ready or failed
	msgRestart  = "restart"  // worker → master; reply once accepted
	msgShutdown = "shutdown" // worker → master; reply once accepted
	msgStatus   = "status"   // worker → master; reply carries the status
	msgDrained  = "drained"  // worker → master: count of requests answered while draining
	msgDrain    = "drain"    // master → worker: stop accepting, finish, exit
	msgDev      = "dev"      // master → worker: development state
	msgPing     = "ping"     // master → worker: heartbeat; answered with msgPong
	msgPong     = "pong"     // worker → master: answer to msgPing
	msgReply    = "reply"    // master → worker: answer to the request with the same id
	msgRollback = "rollback" // worker → master; reply when the rolled-back worker is ready or failed
	msgLameDuck = "lameduck" // master → worker: stopping; fail health checks, serve on
)

// message is one line of the control protocol. Fields are used by some
// message types only.
type message struct {
	Type    string `json:"type"`
	ID      uint64 `json:"id,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Gen     int    `json:"gen,omitempty"`
	Key     string `json:"key,omitempty"`
	Network string `json:"network,omitempty"`
	Addr    string `json:"addr,omitempty"`
	Trigger string `json:"trigger,omitempty"`
	Count   int    `json:"count,omitempty"`

	// Dev is the development state of a "dev" message.
	Dev *DevState `json:"dev,omitempty"`

	ReadyTimeout time.Duration `json:"ready_timeout,omitempty"`
	DrainTimeout time.Duration `json:"drain_timeout,omitempty"`
	LameDuck     time.Duration `json:"lame_duck,omitempty"`

	// FD is set when exactly one file descriptor travels with this line.
	FD bool `json:"fd,omitempty"`

	// Replies.
	Err      string  `json:"err,omitempty"`
	ErrKind  string  `json:"err_kind,omitempty"` // see errorKind
	ErrPID   int     `json:"err_pid,omitempty"`
	ErrCause string  `json:"err_cause,omitempty"`
	Status   *Status `json:"status,omitempty"`
}

// readSize is the read buffer of a control channel. Lines are short,
// except a status reply, which takes a few reads; the master holds one
// buffer per worker it started, garbage once that worker is gone.
const readSize = 4 << 10

// maxLine bounds a control message, so that a confused peer cannot make the
// other side buffer without limit.
const maxLine = 1 << 20

// conn is one end of the control channel: newline-delimited JSON over a Unix
// stream socket, with file descriptors passed as SCM_RIGHTS. Send is safe
// for concurrent use; recv must be called from one goroutine.
type conn struct {
	uc *net.UnixConn

	wmu sync.Mutex

	buf []byte // received bytes not yet parsed
	fds []int  // received descriptors not yet claimed by a line
	rb  []byte
	oob []byte
}

// newConn takes ownership of f, a connected Unix stream socket.
func newConn(f *os.File) (*conn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("baton: control channel: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("baton: control channel is a %T: %w", c, ErrProtocol)
	}
	return &conn{
		uc:  uc,
		rb:  make([]byte, readSize),
		oob: make([]byte, syscall.CmsgSpace(64*4)),
	}, nil
}

// send writes m as one line. If fd >= 0 it travels with the line, which is
// marked so that the receiver attaches it to this message; the caller keeps
// its own descriptor.
func (c *conn) send(m *message, fd int) error {
	m.FD = fd >= 0
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("baton: control channel: encode %s: %w", m.Type, err)
	}
	b = append(b, '\n')
	var oob []byte
	if fd >= 0 {
		oob = syscall.UnixRights(fd)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(b) > 0 {
		n, _, err := c.uc.WriteMsgUnix(b, oob, nil)
		if err != nil {
			return fmt.Errorf("baton: control channel: send %s: %w", m.Type, err)
		}
		b, oob = b[n:], nil
	}
	return nil
}

// recv returns the next message and the descriptor that came with it, or
// -1. The caller owns the descriptor. At the end of the stream it returns
// io.EOF.
func (c *conn) recv() (*message, int, error) {
	for {
		if i := bytes.IndexByte(c.buf, '\n'); i >= 0 {
			line := c.buf[:i]
			m := new(message)
			err := json.Unmarshal(line, m)
			c.buf = c.buf[i+1:]
			if len(c.buf) == 0 {
				c.buf = nil
			}
			if err != nil {
				return nil, -1, fmt.Errorf("baton: control channel: %w: %w", ErrProtocol, err)
			}
			fd := -1
			if m.FD {
				if len(c.fds) == 0 {
					return nil, -1, fmt.Errorf("baton: control channel: %s without its descriptor: %w", m.Type, ErrProtocol)
				}
				fd, c.fds = c.fds[0], c.fds[1:]
			}
			return m, fd, nil
		}
		if len(c.buf) > maxLine {
			return nil, -1, fmt.Errorf("baton: control channel: line too long: %w", ErrProtocol)
		}
		n, oobn, flags, _, err := c.uc.ReadMsgUnix(c.rb, c.oob)
		if err != nil {
			n, oobn = max(n, 0), max(oobn, 0) // -1 with some errors
			if errors.Is(err, syscall.ECONNRESET) {
				// The peer closed with our data unread (a killed
				// worker): for us, the end of the stream.
				err = io.EOF
			}
		}
		if oobn > 0 {
			c.fds = append(c.fds, parseRights(c.oob[:oobn])...)
		}
		if flags&syscall.MSG_CTRUNC != 0 {
			return nil, -1, fmt.Errorf("baton: control channel: control data truncated: %w", ErrProtocol)
		}
		c.buf = append(c.buf, c.rb[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) || n == 0 && oobn == 0 {
				return nil, -1, io.EOF
			}
			return nil, -1, fmt.Errorf("baton: control channel: %w", err)
		}
		if n == 0 && oobn == 0 {
			return nil, -1, io.EOF
		}
	}
}

// parseRights returns the descriptors in the SCM_RIGHTS messages of oob.
func parseRights(oob []byte) []int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		rights, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, rights...)
	}
	return fds
}

// close closes the socket and any descriptors nobody claimed.
func (c *conn) close() error {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds = nil
	return c.uc.Close()
}

// socketPair returns two connected Unix stream sockets, both close-on-exec.
func socketPair() (a, b *os.File, err error) {
	// Hold ForkLock so that no process started meanwhile inherits the
	// descriptors before they are marked close-on-exec.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("baton: control channel: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "baton-control"), os.NewFile(uintptr(fds[1]), "baton-control"), nil
}

// errorKind names the sentinel of a ReloadError on the wire.
func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrReloadTimeout):
		return "timeout"
	case errors.Is(err, ErrWorkerExited):
		return "exited"
	case errors.Is(err, ErrWorkerFailed):
		return "failed"
	case errors.Is(err, ErrWorkerStart):
		return "start"
	case errors.Is(err, ErrUnsafeExecutable):
		return "unsafe"
	case errors.Is(err, ErrShuttingDown):
		return "shutdown"
	case errors.Is(err, ErrNoRollback):
		return "norollback"
	}
	return ""
}

func kindError(kind string) error {
	switch kind {
	case "timeout":
		return ErrReloadTimeout
	case "exited":
		return ErrWorkerExited
	case "failed":
		return ErrWorkerFailed
	case "start":
		return ErrWorkerStart
	case "unsafe":
		return ErrUnsafeExecutable
	case "shutdown":
		return ErrShuttingDown
	case "norollback":
		return ErrNoRollback
	}
	return nil
}

// setReplyErr fills the error fields of reply m from err.
func setReplyErr(m *message, err error) {
	if err == nil {
		return
	}
	m.Err = err.Error()
	m.ErrKind = errorKind(err)
	var re *ReloadError
	if errors.As(err, &re) {
		m.ErrPID, m.ErrCause = re.PID, re.Cause
	}
}

// replyErr rebuilds the error of reply m, or returns nil.
func replyErr(m *message) error {
	if m.Err == "" {
		return nil
	}
	sentinel := kindError(m.ErrKind)
	if m.ErrCause != "" && sentinel != nil {
		return &ReloadError{PID: m.ErrPID, Cause: m.ErrCause, Err: sentinel}
	}
	if sentinel != nil {
		rest := trimPrefix(m.Err, sentinel.Error())
		switch {
		case rest == "":
			return sentinel
		case rest != m.Err:
			return fmt.Errorf("%w: %s", sentinel, rest)
		}
		// A message of its own, such as "baton: restart refused: ...".
		return &remoteError{msg: m.Err, err: sentinel}
	}
	return errors.New(m.Err)
}

// remoteError is an error of the master, as its text was sent, that
// matches the sentinel of its kind.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

func trimPrefix(s, prefix string) string {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
		for len(s) > 0 && (s[0] == ':' || s[0] == ' ') {
			s = s[1:]
		}
	}
	return s
}
