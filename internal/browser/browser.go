package browser

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults for the waits of this package. Each one bounds a single step, so a
// wedged Chromium fails the test instead of hanging it.
const (
	// DefaultStartTimeout bounds the wait for Chromium to print its DevTools
	// address and accept the connection.
	DefaultStartTimeout = 30 * time.Second
	// DefaultCallTimeout bounds each DevTools command, including Eval.
	DefaultCallTimeout = 10 * time.Second
	// DefaultNavigateTimeout bounds Navigate, load event included.
	DefaultNavigateTimeout = 30 * time.Second
	// DefaultPollInterval is how often WaitFor evaluates its expression.
	DefaultPollInterval = 50 * time.Millisecond
)

// Sentinel errors of the package. Callers compare with errors.Is.
var (
	// ErrException is wrapped by the error of Eval (and of WaitFor's last
	// attempt) when the JavaScript threw or its promise was rejected. The
	// error text carries the exception's message.
	ErrException = errors.New("browser: javascript exception")
	// ErrNotFound is wrapped by Click and Text when no element matches the
	// selector.
	ErrNotFound = errors.New("browser: no element matches")
	// ErrPageClosed is returned by waits on a page whose tab was closed or
	// crashed.
	ErrPageClosed = errors.New("browser: page closed or crashed")
)

// flags are Chromium's command-line flags, less --user-data-dir and the
// first URL. The machines running the tests may have no internet, and
// without the networking flags Chromium floods its log with refused
// connections to Google services.
var flags = []string{
	"--headless=new",
	"--no-sandbox", // CI runs as root, where the sandbox refuses to start
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-dev-shm-usage",
	"--remote-debugging-port=0",
	"--window-size=1280,900",
}

// Available reports the Chromium binary to use, or "" if there is none. It
// is $BATON_CHROMIUM if set (a path or a name looked up in PATH), else the
// first of /usr/bin/chromium, chromium, chromium-browser and google-chrome
// found.
func Available() string {
	if bin := os.Getenv("BATON_CHROMIUM"); bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return ""
		}
		return path
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// Require returns the Chromium binary to use, or ends the test when there
// is none: it skips the test with instructions, unless the environment sets
// BATON_BROWSER_TESTS=1, in which case it fails it. CI sets that variable so
// that browser tests cannot silently stop running.
func Require(t testing.TB) string {
	t.Helper()
	if bin := Available(); bin != "" {
		return bin
	}
	why := "no Chromium found (tried $BATON_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, google-chrome)"
	if v := os.Getenv("BATON_CHROMIUM"); v != "" {
		why = "BATON_CHROMIUM=" + v + " is not an executable"
	}
	if os.Getenv("BATON_BROWSER_TESTS") == "1" {
		t.Fatalf("browser: %s, and BATON_BROWSER_TESTS=1 makes browser tests mandatory; run .ci/install-browser or apt-get install -y chromium", why)
	}
	t.Skipf("browser: %s; to run browser tests, apt-get install -y chromium (or run .ci/install-browser), then set BATON_BROWSER_TESTS=1 so they fail rather than skip", why)
	return ""
}

// Browser is a headless Chromium started by Start for one test. Its methods
// are safe for concurrent use. It lives until the test's cleanup, which
// kills it.
type Browser struct {
	conn   *conn
	cmd    *exec.Cmd
	dir    string // temporary root: profile/ (--user-data-dir), tmp/ (TMPDIR), crash/
	stderr *lineTail
}

// Start launches headless Chromium for the test, or skips or fails the test
// as Require does when there is none. The test's cleanup closes the
// DevTools connection, kills Chromium's whole process group by pid (even when
// the test failed or Start itself did), kills its crash handler, which
// leaves the group, and removes its temporary profile. If the test failed,
// the cleanup logs Chromium's last lines of output. On Linux, Chromium is
// also killed if the test binary dies before its cleanup can run.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin := Require(t)

	dir, err := os.MkdirTemp("", "baton-chromium-")
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	profile, tmp := filepath.Join(dir, "profile"), filepath.Join(dir, "tmp")
	for _, d := range []string{profile, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			_ = os.RemoveAll(dir)
			t.Fatalf("browser: %v", err)
		}
	}
	args := append(append([]string(nil), flags...), "--user-data-dir="+profile, "about:blank")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		// Chromium leaves its singleton socket and shared-memory files
		// under TMPDIR, and a killed Chromium cannot remove them.
		"TMPDIR="+tmp,
		// The crash handler would keep its database in ~/.config/chromium.
		// Its command line now names dir, which is how stop finds it.
		"BREAKPAD_DUMP_LOCATION="+filepath.Join(dir, "crash"),
	)
	setProcessGroup(cmd)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("browser: %v", err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("browser: start %s: %v", bin, err)
	}

	b := &Browser{cmd: cmd, dir: dir, stderr: &lineTail{}}
	wsURL := make(chan string, 1)
	stderrDone := make(chan struct{})
	go b.readStderr(pipe, wsURL, stderrDone)
	t.Cleanup(func() { b.stop(t, stderrDone) })

	var url string
	select {
	case url = <-wsURL:
	case <-stderrDone:
		t.Fatalf("browser: %s exited before listening for DevTools; its output ends:\n%s", bin, b.stderr)
	case <-time.After(DefaultStartTimeout):
		t.Fatalf("browser: %s did not print its DevTools address within %v; its output ends:\n%s", bin, DefaultStartTimeout, b.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStartTimeout)
	defer cancel()
	c, err := dial(ctx, url)
	if err != nil {
		t.Fatalf("%v", err)
	}
	b.conn = c
	return b
}

// readStderr scans Chromium's output for the DevTools address and keeps the
// last lines for failure reports. It drains the pipe to the end, so a
// chatty Chromium never blocks on a full pipe.
func (b *Browser) readStderr(r io.Reader, wsURL chan<- string, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		b.stderr.add(line)
		if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok && !sent {
			wsURL <- strings.TrimSpace(u)
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, r) // after a line too long for the scanner
}

// stop is Start's cleanup.
func (b *Browser) stop(t testing.TB, stderrDone <-chan struct{}) {
	if b.conn != nil {
		b.conn.close()
	}
	if err := killProcessGroup(b.cmd.Process); err != nil {
		t.Errorf("browser: kill chromium (pid %d): %v", b.cmd.Process.Pid, err)
	}
	if err := killStrays(b.dir); err != nil {
		t.Errorf("browser: kill chromium's crash handler: %v", err)
	}
	// The pipe reaches EOF once every process holding it is dead. Wait
	// closes it anyway, so the reader ends even if one escaped the group.
	select {
	case <-stderrDone:
	case <-time.After(5 * time.Second):
		t.Logf("browser: chromium's stderr is still open 5s after the kill; a child may have left its process group")
	}
	_ = b.cmd.Wait() // killed, so always an error
	<-stderrDone
	if t.Failed() {
		t.Logf("browser: chromium's output ends:\n%s", b.stderr)
	}
	// Children killed with the group may still be exiting; retry briefly.
	var err error
	for range 20 {
		if err = os.RemoveAll(b.dir); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("browser: remove chromium profile: %v", err)
}

// ArtifactDir returns the directory for a test's screenshots and other
// artifacts, creates it and logs its path. With $BATON_ARTIFACTS set it is
// a directory named after the test under $BATON_ARTIFACTS, which outlives
// the test (CI uploads it); otherwise it is a fresh t.TempDir.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir, err := artifactDir(t)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Logf("browser: artifacts in %s", dir)
	return dir
}

func artifactDir(t testing.TB) (string, error) {
	root := os.Getenv("BATON_ARTIFACTS")
	if root == "" {
		return t.TempDir(), nil
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, t.Name())
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// lineTail keeps the last lines written to it.
type lineTail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 30

func (l *lineTail) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == tailLines {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, line)
}

func (l *lineTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
