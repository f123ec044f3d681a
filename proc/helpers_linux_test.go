//go:build linux

package proc_test

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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

// Builds of testdata/procapp, made once per test binary.
var (
	buildOnce sync.Once
	buildDir  string
	buildBins map[string]string
	buildErr  error
)

// buildModes are the variants of procapp: "" serves normally, "v2" serves
// normally and reports version v2, the others fail in the named way.
var buildModes = []string{"", "v2", "exit", "panic", "nostart", "hang", "unexec"}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries returns the path of each procapp build, keyed by mode.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping integration test in short mode")
	}
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		buildDir, buildErr = os.MkdirTemp("", "procapp-")
		if buildErr != nil {
			return
		}
		buildBins = make(map[string]string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, mode := range buildModes {
			out := filepath.Join(buildDir, "procapp-"+mode)
			buildBins[mode] = out
			ldflags := "-X main.mode=" + mode
			if mode == "v2" {
				ldflags = "-X main.version=v2"
			}
			wg.Go(func() {
				cmd := exec.Command(goBin, "build", "-o", out, "-ldflags", ldflags, "./testdata/procapp")
				if b, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					buildErr = fmt.Errorf("go build mode %q: %v\n%s", mode, err, b)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBins
}

// logBuf collects the output of a master and its workers line by line.
type logBuf struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogBuf(r io.Reader) *logBuf {
	l := &logBuf{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *logBuf) matching(substrs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		ok := true
		for _, s := range substrs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitFor waits until at least n lines contain all of substrs and returns
// them.
func (l *logBuf) waitFor(t *testing.T, d time.Duration, n int, substrs ...string) []string {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if m := l.matching(substrs...); len(m) >= n {
			return m
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %d log lines containing %q after %s", n, substrs, d)
		}
	}
}

// app is a started procapp master.
type app struct {
	t      *testing.T
	bin    string
	port   int
	cmd    *exec.Cmd
	pid    int // of the process started (the master, or unshare)
	log    *logBuf
	exited chan struct{}
	client *http.Client
}

type appConfig struct {
	env        []string
	argv       func(bin string) []string // the command line; default: just bin
	extraFiles []*os.File
	port       int
	// prepare, if set, is called with the path of the binary before the
	// master starts from it.
	prepare func(bin string)
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int { return proctest.FreePort(t) }

// startApp starts a copy of the normal procapp build as a master in its own
// process group, and kills every process of it when the test ends.
func startApp(t *testing.T, cfg appConfig) *app {
	t.Helper()
	dir := t.TempDir()
	a := &app{
		t:      t,
		bin:    filepath.Join(dir, "procapp"),
		port:   cfg.port,
		exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 15 * time.Second},
	}
	if a.port == 0 {
		a.port = freePort(t)
	}
	a.swap("")
	if cfg.prepare != nil {
		cfg.prepare(a.bin)
	}
	argv := []string{a.bin}
	if cfg.argv != nil {
		argv = cfg.argv(a.bin)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	a.cmd, err = proctest.Start(func() *exec.Cmd {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PROCAPP_PORT="+strconv.Itoa(a.port))
		cmd.Env = append(cmd.Env, cfg.env...)
		cmd.ExtraFiles = cfg.extraFiles
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stdout, cmd.Stderr = w, w
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	a.pid = a.cmd.Process.Pid
	a.log = newLogBuf(r)
	go func() {
		a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		killAll(a.pid)
		<-a.exited
		r.Close()
		if t.Failed() {
			t.Logf("output of %s:\n%s", a.bin, a.log)
		}
	})
	return a
}

// killAll kills the process pid, its process group and every descendant.
func killAll(pid int) {
	desc := descendants(pid)
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
	for _, p := range desc {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// swap replaces the app's binary on disk by the build of mode, the way a
// deployment does: by renaming a new file over the old path.
func (a *app) swap(mode string) {
	a.t.Helper()
	src := binaries(a.t)[mode]
	tmp := a.bin + ".new"
	os.Remove(tmp)
	// A copy, not a hard link: tests change the mode of their binary, and a
	// link would change it for every parallel test sharing the build.
	b, err := os.ReadFile(src)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(tmp, a.bin); err != nil {
		a.t.Fatal(err)
	}
}

func (a *app) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", a.port, path)
}

// get returns the status and body of a GET request.
func (a *app) get(path string) (int, string, error) {
	resp, err := a.client.Get(a.url(path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (a *app) mustGet(path string) string {
	a.t.Helper()
	code, body, err := a.get(path)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	if code != http.StatusOK {
		a.t.Fatalf("GET %s: status %d, body %q", path, code, body)
	}
	return body
}

// workerInfo is the answer of /pid.
type workerInfo struct {
	pid, gen int
	version  string
}

func (a *app) worker() workerInfo {
	a.t.Helper()
	body := a.mustGet("/pid")
	var w workerInfo
	if _, err := fmt.Sscanf(body, "%d %d %s", &w.pid, &w.gen, &w.version); err != nil {
		a.t.Fatalf("GET /pid = %q: %v", body, err)
	}
	return w
}

// waitServing polls /pid until it answers.
func (a *app) waitServing(d time.Duration) workerInfo {
	a.t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, _, err := a.get("/pid")
		if err == nil && code == http.StatusOK {
			a.log.waitFor(a.t, time.Until(deadline), 1, "worker ready")
			return a.worker()
		}
		select {
		case <-a.exited:
			a.t.Fatalf("app exited before serving: %v", a.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("app not serving after %s: %v", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitWorker polls /pid until a worker other than old answers.
func (a *app) waitWorker(old int, d time.Duration) workerInfo {
	a.t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, body, err := a.get("/pid")
		if err == nil && code == http.StatusOK {
			var w workerInfo
			fmt.Sscanf(body, "%d %d %s", &w.pid, &w.gen, &w.version)
			if w.pid != old && w.pid != 0 {
				return w
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("worker %d not replaced after %s", old, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// restartIntoV2 restarts the app into the v2 build, as its first
// restart, and checks that a new worker, not old, serves v2.
func (a *app) restartIntoV2(old int) {
	a.t.Helper()
	a.swap("v2")
	a.signal(syscall.SIGUSR2)
	a.log.waitFor(a.t, 10*time.Second, 1, "restart complete")
	if w := a.waitWorker(old, 10*time.Second); w.version != "v2" {
		a.t.Errorf("worker after the restart runs %s, want v2", w.version)
	}
}

func (a *app) signal(sig syscall.Signal) {
	a.t.Helper()
	if err := syscall.Kill(a.pid, sig); err != nil {
		a.t.Fatalf("kill %d %v: %v", a.pid, sig, err)
	}
}

// waitExit waits for the started process to exit and returns its status.
func (a *app) waitExit(d time.Duration) int {
	a.t.Helper()
	select {
	case <-a.exited:
		return a.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		a.t.Fatalf("app did not exit within %s", d)
		return -1
	}
}

// hammer sends requests on fresh connections until stop is called, and
// returns the number of successes and the failures.
func (a *app) hammer() (stop func() (int, []error)) {
	done := make(chan struct{})
	var (
		mu   sync.Mutex
		ok   int
		errs []error
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				code, body, err := a.get("/pid")
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case code != http.StatusOK:
					errs = append(errs, fmt.Errorf("status %d: %s", code, body))
				default:
					ok++
				}
				mu.Unlock()
			}
		})
	}
	return func() (int, []error) {
		close(done)
		wg.Wait()
		return ok, errs
	}
}

// procStat is a line of /proc/<pid>/stat.
type procStat = proctest.Proc

func readStat(pid int) (procStat, bool) { return proctest.Stat(pid) }

func allProcs() []procStat { return proctest.All() }

func children(pid int) []procStat { return proctest.Children(pid) }

func descendants(pid int) []int { return proctest.Descendants(pid) }

// gone reports whether pid has exited (it may linger as a zombie of a
// parent that does not reap, such as the init of a container).
func gone(pid int) bool { return proctest.Gone(pid) }

func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %s", pid, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNoZombies fails the test if a child of pid stays a zombie: one may be
// one for the moment between its exit and the master's wait.
func checkNoZombies(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		z := zombies(pid)
		if len(z) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("zombie children of %d: %v", pid, z)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombies returns the children of pid that are zombies.
func zombies(pid int) []procStat { return proctest.Zombies(pid) }

// listenInodes returns the inodes of the listening TCP sockets on port.
func listenInodes(t *testing.T, port int) []uint64 {
	t.Helper()
	var out []uint64
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 32)
			if err != nil || int(p) != port {
				continue
			}
			ino, _ := strconv.ParseUint(f[9], 10, 64)
			out = append(out, ino)
		}
	}
	return out
}

// socketFDs returns the descriptors of pid that refer to socket inode ino.
func socketFDs(pid int, ino uint64) []int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	want := fmt.Sprintf("socket:[%d]", ino)
	var out []int
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join(dir, e.Name())); l == want {
			fd, _ := strconv.Atoi(e.Name())
			out = append(out, fd)
		}
	}
	return out
}

// fdFlags returns the file status flags of a descriptor of pid.
func fdFlags(t *testing.T, pid, fd int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no flags in fdinfo of %d/%d", pid, fd)
	return 0
}

func countFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

func listFDs(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	var b bytes.Buffer
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s -> %s\n", e.Name(), l)
	}
	return b.String()
}

// environ returns the environment of pid.
func environ(pid int) []string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// portClosed reports whether nothing accepts on the port.
func portClosed(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
