//go:build linux

package proctest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The processes: parents, states, zombies, memory and environment, as
// /proc tells them.

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

// WaitGone waits up to d until pid has exited (see [Gone]), and fails the
// test if it has not.
func WaitGone(t testing.TB, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !Gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %s", pid, d)
		}
		time.Sleep(pollInterval)
	}
}

// CheckNoZombies fails the test if a child of pid stays a zombie: a child
// may be one for the moment between its exit and its parent's wait, so it
// gives the parent 2 s.
func CheckNoZombies(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		z := Zombies(pid)
		if len(z) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("zombie children of %d: %v", pid, z)
			return
		}
		time.Sleep(pollInterval)
	}
}

// RSS returns the resident memory of pid in KiB, and the part of it that is
// private (anonymous) rather than pages of files, such as the binary, that
// other processes share; zero for a process that is gone.
func RSS(pid int) (rssKiB, anonKiB int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rssKiB, _ = strconv.Atoi(f[1])
		case "RssAnon:":
			anonKiB, _ = strconv.Atoi(f[1])
		}
	}
	return rssKiB, anonKiB
}

// HasEnv reports whether the environment pid started with has the variable
// name, empty or not.
func HasEnv(pid int, name string) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	for _, kv := range strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00") {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
