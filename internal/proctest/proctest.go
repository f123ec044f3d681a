//go:build linux

// Package proctest inspects processes through /proc for the tests that run
// real masters and workers: parents, states, zombies and descriptors.
package proctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is what /proc/<pid>/stat says of a process.
type Proc struct {
	PID   int    // the process
	PPID  int    // its parent
	State byte   // 'R', 'S', 'Z', ...
	Comm  string // its command name
}

// Stat reads /proc/<pid>/stat; ok is false once the process is reaped.
func Stat(pid int) (p Proc, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < 0 || end+4 > len(s) {
		return Proc{}, false
	}
	f := strings.Fields(s[end+2:])
	if len(f) < 2 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return Proc{PID: pid, PPID: ppid, State: f[0][0], Comm: s[open+1 : end]}, true
}

// All lists every process.
func All() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := Stat(pid); ok {
			out = append(out, st)
		}
	}
	return out
}

// Children lists the processes whose parent is pid, in pid order.
func Children(pid int) []Proc {
	var out []Proc
	for _, p := range All() {
		if p.PPID == pid {
			out = append(out, p)
		}
	}
	return out
}

// Descendants lists every process below pid, nearest first.
func Descendants(pid int) []int {
	kids := make(map[int][]int)
	for _, p := range All() {
		kids[p.PPID] = append(kids[p.PPID], p.PID)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, k := range kids[p] {
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// Zombies lists the children of pid that exited and were not reaped yet.
func Zombies(pid int) []Proc {
	var out []Proc
	for _, c := range Children(pid) {
		if c.State == 'Z' {
			out = append(out, c)
		}
	}
	return out
}

// Reaped reports whether pid has exited and its parent has collected it.
func Reaped(pid int) bool {
	_, ok := Stat(pid)
	return !ok
}

// Gone reports whether pid has exited, reaped or not (a zombie of a parent
// that does not reap, such as a container's init, counts as gone).
func Gone(pid int) bool {
	st, ok := Stat(pid)
	return !ok || st.State == 'Z' || st.State == 'X'
}

// FDCount returns how many file descriptors pid holds.
func FDCount(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts the command newCmd returns, trying again with a new one
// for up to 5 s while the executable is busy (ETXTBSY). A test that writes
// an executable and then runs it meets that when a parallel test forks
// while the file is open for writing: the child holds the descriptor until
// it calls exec, and Linux refuses to run a file open for writing.
func Start(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		cmd := newCmd()
		err := cmd.Start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return cmd, err
		}
		time.Sleep(10 * time.Millisecond) // the other child is about to exec
	}
}
