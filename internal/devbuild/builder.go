package devbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baton-go/baton/proc"
)

// Timings of development mode.
const (
	// probeWait is how long the builder waits for the event of its probe
	// file before it concludes that file events do not arrive (network
	// file systems, some container mounts) and polls instead.
	probeWait = time.Second
	// pollInterval is how often polling reads the watched directories.
	pollInterval = 250 * time.Millisecond
)

// Builder is baton's development-mode builder, a [proc.Builder]: it
// watches the program's sources, builds it with go build after each
// change, and has the master reload into the new binary. The zero value
// is ready for [proc.Options.Builder]; it does nothing until the master
// calls Prepare, so every process may make one. A Builder serves one
// master and may not be reused.
type Builder struct {
	host  proc.BuildHost
	log   *slog.Logger
	out   io.Writer
	root  string // where go list and go build run
	pkg   string // the main package's import path
	mod   string // the main module's path
	tags  string // the -tags the program was built with
	extra []string
	poll  bool
	tmp   string // builds are written here

	changes chan string
	results chan buildResult
	reloads chan reloadResult
	sets    chan *sourceSet

	outMu sync.Mutex

	timesMu sync.Mutex
	times   map[int]buildTimes // builds not yet served

	loop // owned by Run's goroutine
}

var _ proc.Builder = (*Builder)(nil)

// buildTimes are what the account of a build needs of its making.
type buildTimes struct {
	saved time.Time     // when the change that caused it was first seen
	took  time.Duration // how long go build took
}

type buildResult struct {
	n    int
	path string
	out  []byte
	err  error
	took time.Duration
}

type reloadResult struct {
	n    int
	path string
	err  error
}

// Prepare readies development mode for the program this master runs. It
// fails with proc.ErrDevUnavailable when the program was not built from a
// package of a module.
func (b *Builder) Prepare(h proc.BuildHost, c proc.BuildConfig) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("baton: no build information in the binary: %w", proc.ErrDevUnavailable)
	}
	if bi.Path == "" || bi.Path == "command-line-arguments" || bi.Main.Path == "" {
		return fmt.Errorf("baton: the program was built from files (%q), not from a package of a module: %w", bi.Path, proc.ErrDevUnavailable)
	}
	b.host, b.log, b.out = h, c.Logger, c.Output
	b.pkg, b.mod, b.extra = bi.Path, bi.Main.Path, c.Files
	b.poll = os.Getenv(proc.EnvDevPoll) == "1"
	b.changes = make(chan string, 256)
	b.results = make(chan buildResult, 1)
	b.reloads = make(chan reloadResult, 16)
	b.sets = make(chan *sourceSet, 1)
	b.times = make(map[int]buildTimes)
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.out == nil {
		b.out = os.Stderr
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" {
			b.tags = s.Value
		}
	}
	var err error
	if d := os.Getenv(proc.EnvDevDir); d != "" {
		b.root, err = filepath.Abs(d)
	} else {
		b.root, err = findModuleRoot(c.Dir)
	}
	if err != nil {
		return err
	}
	if c.Kept != "" {
		b.tmp = c.Kept // kept across a restart
	} else if b.tmp, err = os.MkdirTemp("", "baton-dev-"); err != nil {
		return fmt.Errorf("baton: development mode: %w", err)
	}
	return nil
}

// Dir returns the directory the builds are written to.
func (b *Builder) Dir() string { return b.tmp }

func (b *Builder) printf(format string, args ...any) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	fmt.Fprintf(b.out, format, args...)
}

// list asks go list for the program's packages in its main module.
func (b *Builder) list() (*sourceSet, error) {
	args := []string{"list", "-e", "-deps", "-json=" + listFields}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, b.pkg)
	var stdout, stderr bytes.Buffer
	if err := b.host.Run(context.Background(), b.root, &stdout, &stderr, "go", args...); err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	pkgs, err := parseGoList(&stdout, b.mod)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("baton: go list %s in %s: no package of module %s: %w", b.pkg, b.root, b.mod, proc.ErrDevUnavailable)
	}
	return newSourceSet(b.root, b.pkg, pkgs, b.extra), nil
}

// buildPath is where build n is written.
func (b *Builder) buildPath(n int) string {
	return filepath.Join(b.tmp, "build-"+strconv.Itoa(n))
}

// build runs go build for build n, into a fresh path, and sends the result.
func (b *Builder) build(ctx context.Context, n int, saved time.Time) {
	out := b.buildPath(n)
	args := []string{"build", "-o", out}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, b.pkg)
	var output bytes.Buffer
	start := time.Now()
	err := b.host.Run(ctx, b.root, &output, &output, "go", args...)
	took := time.Since(start)
	if err == nil {
		b.timesMu.Lock()
		b.times[n] = buildTimes{saved: saved, took: took}
		b.timesMu.Unlock()
	}
	b.results <- buildResult{n: n, path: out, out: output.Bytes(), err: err, took: took}
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// Served prints the account of the build now serving, once the worker it
// replaced has reported how many requests it drained or has exited. It
// removes the binary the old worker ran, unless it is the program's own.
// The master's run goroutine calls it; it does not block.
func (b *Builder) Served(h proc.Handoff) {
	b.timesMu.Lock()
	bt := b.times[h.Build]
	delete(b.times, h.Build)
	b.timesMu.Unlock()
	line := fmt.Sprintf("baton: build %d ready in %v (go build %v), handed off in %v",
		h.Build, round(h.Ready.Sub(bt.saved)), round(bt.took), round(h.Ready.Sub(h.Started)))
	if h.Wait == nil {
		b.printf("%s\n", line)
		return
	}
	bound := b.host.DrainBound()
	go func() {
		d := h.Wait(bound)
		switch {
		case d.Reported:
			line += fmt.Sprintf("; build %d drained %d requests", h.OldBuild, d.Requests)
		case d.Exited:
			line += fmt.Sprintf("; build %d %s", h.OldBuild, d.Cause)
		default:
			line += fmt.Sprintf("; build %d still draining", h.OldBuild)
		}
		b.printf("%s\n", line)
		if h.OldBuild > 0 {
			if _, serving := b.host.Serving(); serving != h.OldBuild {
				os.Remove(b.buildPath(h.OldBuild))
			}
		}
	}()
}
