package proctest

import (
	"os"
	"strings"
	"testing"
	"time"
)

// pollInterval is how often the waits look again at what they wait for.
const pollInterval = 10 * time.Millisecond

// Log is the combined standard output and standard error of a started
// program and of every process below it, which all write to one file: a
// line is in the file once the write of the process returns, so a test
// that has seen the effect of a line (an answer, an exit) finds the line
// too. [Start] makes it. Its methods are safe for concurrent use, with each
// other and with the writers; they see the lines a newline has ended.
type Log struct {
	path string
}

// String returns all of the log so far.
func (l *Log) String() string {
	b, _ := os.ReadFile(l.path)
	return string(b)
}

// Matching returns the lines so far that contain each of substrs.
func (l *Log) Matching(substrs ...string) []string {
	s := l.String()
	s = s[:strings.LastIndexByte(s, '\n')+1] // a line still being written waits
	var out []string
	for line := range strings.Lines(s) {
		ok := true
		for _, sub := range substrs {
			ok = ok && strings.Contains(line, sub)
		}
		if ok {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	return out
}

// WaitFor waits up to d until at least n lines contain each of substrs and
// returns them, or fails the test.
func (l *Log) WaitFor(t testing.TB, d time.Duration, n int, substrs ...string) []string {
	t.Helper()
	lines, ok := l.wait(d, n, nil, substrs)
	if !ok {
		t.Fatalf("no %d log lines containing %q after %s", n, substrs, d)
	}
	return lines
}

// wait waits up to d, and while stop is open, until at least n lines
// contain each of substrs, and returns them and whether there are n.
func (l *Log) wait(d time.Duration, n int, stop <-chan struct{}, substrs []string) ([]string, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if m := l.Matching(substrs...); len(m) >= n {
			return m, true
		}
		select {
		case <-stop:
			m := l.Matching(substrs...) // what was written before the stop
			return m, len(m) >= n
		case <-deadline.C:
			return nil, false
		case <-time.After(pollInterval):
		}
	}
}
