//go:build linux

package proctest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a test that keeps its failures and cleanups for the test
// that runs it to look at, instead of failing.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	msgs     []string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// Fatalf records the failure; the caller goes on, unlike with a real test.
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// Fatal records the failure; the caller goes on, unlike with a real test.
func (r *recorder) Fatal(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// cleanup runs the cleanups, last registered first, as a test's end does.
func (r *recorder) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// startTree starts a shell that starts two sleeps, one of them in a
// process group of its own, and returns the program and the pids of the
// sleeps once they run.
func startTree(t *testing.T, tb testing.TB) (*Program, []int) {
	t.Helper()
	p := Start(tb, Config{Argv: []string{"sh", "-c", `sleep 300 & setsid sleep 300 & echo "started $!"; wait`}})
	p.Log.WaitFor(t, 10*time.Second, 1, "started")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sleeps []int
		for _, pid := range Descendants(p.PID) {
			if st, ok := Stat(pid); ok && st.Comm == "sleep" {
				sleeps = append(sleeps, pid)
			}
		}
		if len(sleeps) == 2 {
			return p, sleeps
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleeps below %d: %v, want 2", p.PID, sleeps)
		}
		time.Sleep(pollInterval)
	}
}

// TestStartKillsTree checks that the end of a test kills the program and
// every process below it, in its group or not.
func TestStartKillsTree(t *testing.T) {
	var pid int
	var sleeps []int
	t.Run("run", func(t *testing.T) {
		var p *Program
		p, sleeps = startTree(t, t)
		pid = p.PID
	})
	for _, q := range append([]int{pid}, sleeps...) {
		if !Gone(q) {
			t.Errorf("process %d runs after the test that started it ended", q)
		}
	}
}

// TestStartKillsTreeOnFailure checks that the end of a failed test kills
// the program's tree too, and logs its output.
func TestStartKillsTreeOnFailure(t *testing.T) {
	r := &recorder{TB: t}
	p, sleeps := startTree(t, r)
	r.Errorf("the test fails")
	r.cleanup()
	for _, q := range append([]int{p.PID}, sleeps...) {
		if !Gone(q) {
			t.Errorf("process %d runs after the failed test ended", q)
		}
	}
	if !slices.ContainsFunc(r.msgs, func(m string) bool { return strings.Contains(m, "started ") }) {
		t.Errorf("messages of the failed test %q lack the program's output", r.msgs)
	}
}

// TestWaitLogStopsAtExit checks that WaitLog fails as soon as the program
// has exited without the line, not at the deadline, and that WaitExit
// returns the exit code.
func TestWaitLogStopsAtExit(t *testing.T) {
	p := Start(t, Config{Argv: []string{"sh", "-c", "echo one; exit 3"}})
	p.WaitLog("one", 10*time.Second)
	if code := p.WaitExit(10 * time.Second); code != 3 {
		t.Errorf("WaitExit = %d, want 3", code)
	}
	r := &recorder{TB: t}
	p.T = r
	start := time.Now()
	p.WaitLog("two", time.Minute)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("WaitLog of a line never written returned after %s, want at once", d)
	}
	if len(r.msgs) != 1 || !strings.Contains(r.msgs[0], "exited") || !strings.Contains(r.msgs[0], `"two"`) {
		t.Errorf("WaitLog failures = %q, want one saying the program exited without %q", r.msgs, "two")
	}
}

// TestLogMatching checks that Matching sees the whole lines a newline has
// ended, with each of the strings asked for, and not a line still being
// written.
func TestLogMatching(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a x y\nb x\nc y\nd x y (half"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &Log{path: path}
	if got, want := l.Matching("x", "y"), []string{"a x y"}; !slices.Equal(got, want) {
		t.Errorf("Matching(x, y) = %q, want %q", got, want)
	}
	if got, want := l.Matching(), []string{"a x y", "b x", "c y"}; !slices.Equal(got, want) {
		t.Errorf("Matching() = %q, want %q", got, want)
	}
	r := &recorder{TB: t}
	if got := l.WaitFor(r, 50*time.Millisecond, 2, "y"); len(got) != 2 || len(r.msgs) != 0 {
		t.Errorf("WaitFor(2, y) = %q, failures %q; want 2 lines and none", got, r.msgs)
	}
	l.WaitFor(r, 50*time.Millisecond, 3, "y")
	if len(r.msgs) != 1 {
		t.Errorf("WaitFor(3, y) failures = %q, want one", r.msgs)
	}
}

// TestBuildsOnce checks that concurrent builds of a package with the same
// variables run one go build and share its binary, that other variables
// make another, and that Remove deletes them.
func TestBuildsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	const pkg = "./testdata/word"
	var b Builds
	defer b.Remove()
	bins := make([]string, 3)
	r := &recorder{TB: t} // Build fails with Fatal, which only t's goroutine may call
	var wg sync.WaitGroup
	for i := range bins {
		wg.Go(func() { bins[i] = b.Build(r, pkg, "word=two words") })
	}
	wg.Wait()
	if len(r.msgs) > 0 {
		t.Fatalf("concurrent builds failed: %q", r.msgs)
	}
	if bins[0] != bins[1] || bins[1] != bins[2] {
		t.Errorf("concurrent builds = %q, want one binary", bins)
	}
	other := b.Build(t, pkg)
	if other == bins[0] {
		t.Errorf("builds with and without variables share %s", other)
	}
	for bin, want := range map[string]string{bins[0]: "two words", other: "none"} {
		p := Start(t, Config{Argv: []string{bin}})
		if code := p.WaitExit(10 * time.Second); code != 0 {
			t.Errorf("%s exited with %d", bin, code)
		}
		if got := strings.TrimSpace(p.Log.String()); got != want {
			t.Errorf("%s printed %q, want %q", bin, got, want)
		}
	}
	b.Remove()
	if _, err := os.Stat(bins[0]); !os.IsNotExist(err) {
		t.Errorf("after Remove, stat %s: %v; want it gone", bins[0], err)
	}
}
