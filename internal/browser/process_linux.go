package browser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// setProcessGroup puts Chromium in a process group of its own, so that its
// renderers and helpers can be killed with it, and has the kernel kill it
// if the test binary dies before its cleanup runs.
//
// NOTE: Pdeathsig fires when the thread that started Chromium exits, not
// the process. The test goroutines are never locked to a thread, so the Go
// runtime keeps that thread for the life of the process.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killProcessGroup kills every process in p's group. A group that is
// already gone is not an error.
func killProcessGroup(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("browser: kill process group %d: %w", p.Pid, err)
	}
	return nil
}

// killStrays kills the processes that left Chromium's process group but
// still name dir, Chromium's temporary directory, on their command line,
// and waits up to two seconds for them to go. Chromium's crash handler is
// one: it calls setsid, and is told to keep its database under dir.
func killStrays(dir string) error {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pids := processesNaming(dir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("browser: processes %v outlived SIGKILL", pids)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("browser: kill %d: %w", pid, err)
			}
		}
	}
}

// processesNaming lists the live (not zombie) processes with s in their
// command line, from /proc.
func processesNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue // exited meanwhile, or not Chromium's
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && processState(stat) == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// processState returns the state letter of a /proc/<pid>/stat line:
// "pid (comm) state ...", where comm may hold spaces and parentheses.
func processState(stat []byte) byte {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0
	}
	return stat[i+2]
}
