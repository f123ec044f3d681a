//go:build unix && !aix

package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a worker process as the master sees it.
type child struct {
	pid     int
	gen     int
	build   int   // the development build it runs, 0 for the program's binary
	conn    *conn // nil for a worker inherited across a restart
	started time.Time

	done   chan struct{}      // closed once the process is reaped
	status syscall.WaitStatus // valid after done

	ready     chan struct{} // closed at msgReady
	failed    chan struct{} // closed at msgFail
	crashDone chan struct{} // closed when the crash pipe reaches EOF
	ctlDone   chan struct{} // closed when the control channel is read to its end
	drainedCh chan struct{} // closed at msgDrained
	pong      chan struct{} // receives at msgPong (buffered: one pending)

	readyOnce, failOnce, drainedOnce sync.Once

	devMu sync.Mutex // held while a development state is sent

	// Guarded by mu.
	mu        sync.Mutex
	readyAt   time.Time
	readyInfo ReadyInfo
	failMsg   string
	crashLine string
	drainSent bool
	drained   int              // requests answered while draining, as the worker reported
	sockets   map[*socket]bool // the sockets this worker asked for
}

func newChild(pid, gen int) *child {
	return &child{
		pid:       pid,
		gen:       gen,
		started:   time.Now(),
		done:      make(chan struct{}),
		ready:     make(chan struct{}),
		failed:    make(chan struct{}),
		crashDone: make(chan struct{}),
		ctlDone:   make(chan struct{}),
		drainedCh: make(chan struct{}),
		pong:      make(chan struct{}, 1),
		sockets:   make(map[*socket]bool),
	}
}

func (c *child) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// exitCause describes how a reaped child ended, adding the first line of a
// crash report (e.g. "panic: boom") when there is one.
func (c *child) exitCause() string {
	ws := c.status
	var s string
	switch {
	case ws.Exited():
		s = fmt.Sprintf("exited with status %d", ws.ExitStatus())
	case ws.Signaled():
		s = fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	default:
		s = fmt.Sprintf("ended with wait status %#x", uint32(ws))
	}
	c.mu.Lock()
	line := c.crashLine
	c.mu.Unlock()
	if line != "" {
		s += ": " + line
	}
	return s
}

// exitCode is the status the master exits with when c was the very first
// worker and could not start.
func (c *child) exitCode() int {
	if c.status.Exited() && c.status.ExitStatus() > 0 {
		return c.status.ExitStatus()
	}
	return 1
}

// readCrash keeps the first line of what the worker's runtime writes to its
// crash output (debug.SetCrashOutput), e.g. "panic: boom". The pipe carries
// nothing while the worker is healthy, so this costs the master nothing per
// request.
func (c *child) readCrash(r *os.File) {
	defer close(c.crashDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadString('\n')
		if l := strings.TrimSpace(line); l != "" {
			c.mu.Lock()
			if c.crashLine == "" {
				if len(l) > 200 {
					l = l[:200] + "..."
				}
				c.crashLine = l
			}
			c.mu.Unlock()
			io.Copy(io.Discard, br)
			return
		}
		if err != nil {
			return
		}
	}
}
