//go:build linux

package proctest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Config says how [Start] runs a program.
type Config struct {
	// Argv is the command line; Argv[0] is looked up in PATH if it has no
	// slash. It must not be empty.
	Argv []string
	// Dir is the working directory. If empty, it is the test's.
	Dir string
	// Env is added to the environment of the test process; of a variable
	// set twice, the last value counts.
	Env []string
	// ExtraFiles are passed as the descriptors 3, 4, ... of the program.
	ExtraFiles []*os.File
	// Port is the port on 127.0.0.1 where the program serves HTTP, which
	// the requests and the waits for a worker use. Start does not tell the
	// program: Env or the program's configuration does. If zero, the
	// requests fail.
	Port int
}

// Program is a program under test: the process [Start] ran, which may be a
// master, and every process below it. Its methods report failures to T
// and must be called from the goroutine of T's test, except Get, Post,
// URL, WorkerPID and Exited, which are safe for concurrent use.
type Program struct {
	// T is the test the methods report failures to: the one Start was
	// given. A subtest that uses the program sets it to its own while it
	// runs, and back afterwards.
	T testing.TB
	// Cmd is the command started; its ProcessState is set once Exited is
	// closed.
	Cmd *exec.Cmd
	// PID is the pid of the process started.
	PID int
	// Port is as in Config; a test that moves the program to another port
	// sets it.
	Port int
	// Log holds the output of the program and of the processes below it.
	Log *Log

	exited chan struct{}
}

// Start runs the program cfg describes, in a process group of its own,
// with its standard output and error in p.Log. When the test ends, pass or
// fail, it kills the program and every process below it by pid, and if
// the test failed, it logs the output.
func Start(t testing.TB, cfg Config) *Program {
	t.Helper()
	if len(cfg.Argv) == 0 {
		t.Fatal("proctest: Start with no command")
	}
	logPath := filepath.Join(t.TempDir(), "out.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the program has its own copy
	cmd, err := startCmd(func() *exec.Cmd {
		cmd := exec.Command(cfg.Argv[0], cfg.Argv[1:]...)
		cmd.Dir = cfg.Dir
		cmd.Env = append(os.Environ(), cfg.Env...)
		cmd.ExtraFiles = cfg.ExtraFiles
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{T: t, Cmd: cmd, PID: cmd.Process.Pid, Port: cfg.Port, Log: &Log{path: logPath}, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", filepath.Base(cfg.Argv[0]), p.PID, p.Log)
		}
	})
	return p
}

// startCmd starts the command newCmd returns, trying again with a new one
// for up to 5 s while the executable is busy (ETXTBSY). A test that writes
// an executable and then runs it meets that when a parallel test forks
// while the file is open for writing: the child holds the descriptor until
// it calls exec, and Linux refuses to run a file open for writing.
func startCmd(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
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

// kill stops the program and every process below it, so that none starts
// another between the listing and the kill, then kills them all and the
// program's process group, and waits until they have all exited. Once the
// program has exited and been reaped, its pid may be another's and its
// orphans have other parents: then only its group is killed.
func (p *Program) kill(t testing.TB) {
	select {
	case <-p.exited:
		syscall.Kill(-p.PID, syscall.SIGKILL)
		return
	default:
	}
	stopped := make(map[int]bool)
	for more := true; more; {
		more = false
		for _, pid := range append([]int{p.PID}, Descendants(p.PID)...) {
			if !stopped[pid] {
				stopped[pid], more = true, true
				syscall.Kill(pid, syscall.SIGSTOP)
			}
		}
	}
	syscall.Kill(-p.PID, syscall.SIGKILL)
	for pid := range stopped {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	select {
	case <-p.exited:
	case <-deadline.C:
		t.Errorf("pid %d did not exit after SIGKILL", p.PID)
		return
	}
	// A SIGKILL takes effect when the process next runs: wait for that,
	// so that nothing of the test outlives it.
	for pid := range stopped {
		for !Gone(pid) {
			select {
			case <-deadline.C:
				t.Errorf("pid %d below %d did not exit after SIGKILL", pid, p.PID)
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
}

// Exited is closed once the process started has exited.
func (p *Program) Exited() <-chan struct{} { return p.exited }

// URL returns the address of path on the program's port.
func (p *Program) URL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, path)
}

// client makes one connection per request, so that each may reach another
// worker, and never retries.
var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: -1},
}

// Get returns the status and the body, without surrounding white space, of
// GET path.
func (p *Program) Get(path string) (int, string, error) {
	return answer(client.Get(p.URL(path)))
}

// Post returns the status and the body, without surrounding white space,
// of POST path with no body.
func (p *Program) Post(path string) (int, string, error) {
	return answer(client.Post(p.URL(path), "text/plain", nil))
}

func answer(resp *http.Response, err error) (int, string, error) {
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// WorkerPID asks GET /pid which process serves: the first word of the
// answer.
func (p *Program) WorkerPID() (int, error) {
	pid, _, err := p.askPID()
	return pid, err
}

func (p *Program) askPID() (int, string, error) {
	code, body, err := p.Get("/pid")
	if err != nil {
		return 0, body, err
	}
	if code != http.StatusOK {
		return 0, body, fmt.Errorf("GET /pid: %d %s", code, body)
	}
	first, _, _ := strings.Cut(body, " ")
	pid, err := strconv.Atoi(first)
	return pid, body, err
}

// WaitWorker waits up to d until GET /pid answers with a pid other than
// not and the program's own, and returns that pid and the whole answer.
// It fails the test at the deadline, or as soon as the program exits.
func (p *Program) WaitWorker(not int, d time.Duration) (pid int, body string) {
	p.T.Helper()
	deadline := time.Now().Add(d)
	for {
		pid, body, err := p.askPID()
		if err == nil && pid != not && pid != p.PID {
			return pid, body
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("no worker other than %d served within %v (last: %d, %v)", not, d, pid, err)
		}
		select {
		case <-p.exited:
			p.T.Fatalf("pid %d exited (%v) before a worker other than %d served", p.PID, p.Cmd.ProcessState, not)
		case <-time.After(pollInterval):
		}
	}
}

// WaitServing is WaitWorker for the pid alone.
func (p *Program) WaitServing(not int, d time.Duration) int {
	p.T.Helper()
	pid, _ := p.WaitWorker(not, d)
	return pid
}

// WaitLog waits up to d until a line of the log contains s. It fails the
// test at the deadline, or as soon as the program has exited without
// writing it.
func (p *Program) WaitLog(s string, d time.Duration) {
	p.T.Helper()
	if _, ok := p.Log.wait(d, 1, p.exited, []string{s}); !ok {
		select {
		case <-p.exited:
			p.T.Fatalf("pid %d exited (%v) and its log lacks %q", p.PID, p.Cmd.ProcessState, s)
		default:
			p.T.Fatalf("log lacks %q after %v", s, d)
		}
	}
}

// Signal sends sig to the process started.
func (p *Program) Signal(sig syscall.Signal) {
	p.T.Helper()
	if err := syscall.Kill(p.PID, sig); err != nil {
		p.T.Fatalf("signal %v to %d: %v", sig, p.PID, err)
	}
}

// WaitExit waits up to d for the process started to exit and returns its
// exit code (-1 if a signal ended it), or fails the test.
func (p *Program) WaitExit(d time.Duration) int {
	p.T.Helper()
	select {
	case <-p.exited:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(d):
		p.T.Fatalf("pid %d did not exit within %v", p.PID, d)
		return -1
	}
}
