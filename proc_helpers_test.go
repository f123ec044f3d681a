//go:build linux

package baton_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// Helpers for the tests that build a real program, start it under the
// master, signal it and talk to it over loopback.

// buildDir is removed by TestMain.
func buildDir(t *testing.T) string {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "baton-build-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir = d
		builds.bins = make(map[string]string)
	}
	return builds.dir
}

// build compiles pkg with the given -X assignments (name=value, in
// package main) once per test binary and returns the binary's path.
func build(t *testing.T, pkg string, vars ...string) string {
	t.Helper()
	dir := buildDir(t)
	key := pkg + " " + strings.Join(vars, " ")
	builds.Lock()
	bin, ok := builds.bins[key]
	builds.Unlock()
	if ok {
		return bin
	}
	bin = filepath.Join(dir, fmt.Sprintf("bin%d", len(key)+int(time.Now().UnixNano()%1e9)))
	args := []string{"build", "-o", bin}
	if len(vars) > 0 {
		var ld []string
		for _, v := range vars {
			ld = append(ld, "-X", "'main."+v+"'")
		}
		args = append(args, "-ldflags", strings.Join(ld, " "))
	}
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	builds.Lock()
	builds.bins[key] = bin
	builds.Unlock()
	return bin
}

// install copies bin to dst by writing a temporary file and renaming it, as
// a deploy does, so a running program never sees a half-written file.
func install(t *testing.T, bin, dst string) {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int { return proctest.FreePort(t) }

// program is a started master process.
type program struct {
	t       *testing.T
	cmd     *exec.Cmd
	pid     int
	logPath string
	port    int
	exit    chan struct{}
	status  *os.ProcessState
}

// startProgram runs bin with env added, as its own process group, and
// kills it and every process it started when the test ends.
func startProgram(t *testing.T, bin string, port int, env ...string) *program {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "out.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := proctest.Start(func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(append(os.Environ(), "PORT="+strconv.Itoa(port)), env...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	logf.Close()
	p := &program{t: t, cmd: cmd, pid: cmd.Process.Pid, logPath: logPath, port: port, exit: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.status = cmd.ProcessState
		close(p.exit)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("log of %s (pid %d):\n%s", filepath.Base(bin), p.pid, p.log())
		}
	})
	return p
}

// kill sends SIGKILL to the master, its group and every descendant.
func (p *program) kill() {
	for _, pid := range descendants(p.pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
	syscall.Kill(p.pid, syscall.SIGKILL)
	select {
	case <-p.exit:
	case <-time.After(10 * time.Second):
		p.t.Errorf("pid %d did not exit after SIGKILL", p.pid)
	}
}

func (p *program) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// waitLog waits until the log contains s.
func (p *program) waitLog(s string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.log(), s) {
		if time.Now().After(deadline) {
			p.t.Fatalf("log lacks %q after %v:\n%s", s, d, p.log())
		}
		select {
		case <-p.exit:
			if !strings.Contains(p.log(), s) {
				p.t.Fatalf("program exited (%v) and its log lacks %q:\n%s", p.status, s, p.log())
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *program) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.pid, sig); err != nil {
		p.t.Fatalf("signal %v to %d: %v", sig, p.pid, err)
	}
}

func (p *program) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", p.port, path)
}

// plainClient makes one connection per request and never retries.
var plainClient = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: -1},
}

// get returns the status and body of GET path.
func (p *program) get(path string) (int, string, error) {
	resp, err := plainClient.Get(p.url(path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

func (p *program) post(path string) (int, string, error) {
	resp, err := plainClient.Post(p.url(path), "text/plain", nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// workerPID asks the program which pid serves it.
func (p *program) workerPID() (int, error) {
	code, body, err := p.get("/pid")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("GET /pid: %d %s", code, body)
	}
	return strconv.Atoi(body)
}

// waitServing waits until /pid answers with a pid other than not, and
// returns it.
func (p *program) waitServing(not int, d time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		pid, err := p.workerPID()
		if err == nil && pid != not && pid != p.pid {
			return pid
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no worker other than %d served within %v (last: %d, %v)\n%s", not, d, pid, err, p.log())
		}
		select {
		case <-p.exit:
			p.t.Fatalf("program exited (%v) before serving:\n%s", p.status, p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitExit waits for the master to exit and returns its exit code.
func (p *program) waitExit(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exit:
		return p.status.ExitCode()
	case <-time.After(d):
		p.t.Fatalf("pid %d did not exit within %v:\n%s", p.pid, d, p.log())
		return -1
	}
}

// procStat returns the parent pid and state letter of pid.
func procStat(pid int) (ppid int, state byte, ok bool) {
	p, ok := proctest.Stat(pid)
	return p.PPID, p.State, ok
}

// children lists the pids whose parent is pid.
func children(pid int) []int { return pids(proctest.Children(pid)) }

// descendants lists every process below pid.
func descendants(pid int) []int { return proctest.Descendants(pid) }

// zombies lists the children of pid that exited and were not reaped.
func zombies(pid int) []int { return pids(proctest.Zombies(pid)) }

func pids(ps []proctest.Proc) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.PID
	}
	return out
}

// reaped reports whether pid has exited and its parent has collected it.
func reaped(pid int) bool { return proctest.Reaped(pid) }

func alive(pid int) bool { return !proctest.Gone(pid) }

// rssKiB returns the resident memory of pid, and the part of it that is
// private (anonymous) rather than pages of the binary shared with others.
func rssKiB(pid int) (rss, anon int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.Atoi(f[1])
		case "RssAnon:":
			anon, _ = strconv.Atoi(f[1])
		}
	}
	return rss, anon
}

// fdCount returns how many file descriptors pid holds.
func fdCount(pid int) int { return proctest.FDCount(pid) }

// failureKind names the way a request failed, for the load figures.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other: " + err.Error()
}
