//go:build unix && !aix

package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Timings of development mode.
const (
	// devProbeWait is how long the master waits for the event of its probe
	// file before it concludes that file events do not arrive (network
	// file systems, some container mounts) and polls instead.
	devProbeWait = time.Second
	// devPollInterval is how often polling reads the watched directories.
	devPollInterval = 250 * time.Millisecond
)

// devBuilder is the master's side of development mode: it watches the
// program's sources, builds it with go build after each change, and
// reloads into the new binary. Its run goroutine owns the build state; the
// master's run goroutine calls served.
type devBuilder struct {
	m     *master
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
}

type buildResult struct {
	n    int
	bin  *binary
	out  []byte
	err  error
	took time.Duration
}

type reloadResult struct {
	bin *binary
	err error
}

// newDevBuilder prepares development mode for the program this master
// runs. It fails with ErrDevUnavailable when the program was not built
// from a package of a module.
func newDevBuilder(m *master, opts Options) (*devBuilder, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, fmt.Errorf("baton: no build information in the binary: %w", ErrDevUnavailable)
	}
	if bi.Path == "" || bi.Path == "command-line-arguments" || bi.Main.Path == "" {
		return nil, fmt.Errorf("baton: the program was built from files (%q), not from a package of a module: %w", bi.Path, ErrDevUnavailable)
	}
	b := &devBuilder{
		m:       m,
		log:     m.log,
		out:     opts.DevOutput,
		pkg:     bi.Path,
		mod:     bi.Main.Path,
		extra:   opts.DevFiles,
		poll:    os.Getenv(EnvDevPoll) == "1",
		changes: make(chan string, 256),
		results: make(chan buildResult, 1),
		reloads: make(chan reloadResult, 16),
		sets:    make(chan *sourceSet, 1),
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
	if d := os.Getenv(EnvDevDir); d != "" {
		b.root, err = filepath.Abs(d)
	} else {
		b.root, err = findModuleRoot(m.dir)
	}
	if err != nil {
		return nil, err
	}
	if m.devDir != "" {
		b.tmp = m.devDir // kept across a restart
	} else if b.tmp, err = os.MkdirTemp("", "baton-dev-"); err != nil {
		return nil, fmt.Errorf("baton: development mode: %w", err)
	}
	m.devDir = b.tmp
	return b, nil
}

func (b *devBuilder) printf(format string, args ...any) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	fmt.Fprintf(b.out, format, args...)
}

// list asks go list for the program's packages in its main module.
func (b *devBuilder) list() (*sourceSet, error) {
	args := []string{"list", "-e", "-deps", "-json=" + listFields}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, b.pkg)
	var stdout, stderr bytes.Buffer
	if err := b.m.runCommand(context.Background(), b.root, b.m.env, &stdout, &stderr, "go", args...); err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	pkgs, err := parseGoList(&stdout, b.mod)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("baton: go list %s in %s: no package of module %s: %w", b.pkg, b.root, b.mod, ErrDevUnavailable)
	}
	return newSourceSet(b.root, b.pkg, pkgs, b.extra), nil
}

// build runs go build for build n, into a fresh path, and sends the result.
func (b *devBuilder) build(ctx context.Context, n int, saved time.Time) {
	out := filepath.Join(b.tmp, "build-"+strconv.Itoa(n))
	args := []string{"build", "-o", out}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, b.pkg)
	var output bytes.Buffer
	start := time.Now()
	err := b.m.runCommand(ctx, b.root, b.m.env, &output, &output, "go", args...)
	b.results <- buildResult{
		n:    n,
		bin:  &binary{path: out, build: n, saved: saved, buildTook: time.Since(start)},
		out:  output.Bytes(),
		err:  err,
		took: time.Since(start),
	}
}

// run is the builder's loop. It never returns while the master lives,
// unless the sources cannot be listed.
func (b *devBuilder) run() {
	set, err := b.list()
	if err != nil {
		b.log.Error("baton: development mode off", "err", err)
		b.printf("baton: development mode off: %v\n", err)
		return
	}
	// The sources as the running binary was built from them, as far as
	// can be known: taken before the watch starts, so that an edit made
	// while it starts is seen below. A build input newer than the binary
	// was edited after the build: build at once.
	lastHash := set.hash()
	w, early := b.watch(set)
	defer w.close()
	b.m.mu.Lock()
	exe, serving := b.m.bin.path, b.m.bin.build
	b.m.mu.Unlock()
	if fi, err := os.Stat(exe); err == nil && set.newest().After(fi.ModTime()) || set.hash() != lastHash {
		lastHash = [32]byte{}
		early = append(early, filepath.Join(set.root, "go.mod"))
	}
	mode := "file events"
	if _, ok := w.(*pollWatch); ok {
		mode = "polling every " + devPollInterval.String()
		b.m.setDev(func(st *DevState) { st.Poll = true })
	}
	b.printf("baton: development mode: watching %s in %d directories (%s)\n", b.pkg, len(set.dirs()), mode)

	pending := make(map[string]bool)
	var firstSeen time.Time
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	note := func(p string) {
		if set.classify(p) == classIgnore {
			return
		}
		pending[p] = true
		if firstSeen.IsZero() {
			firstSeen = time.Now()
		}
		quiet.Reset(DefaultDevQuiet)
	}
	for _, p := range early {
		note(p)
	}

	var (
		latest   int                // newest build number
		building int                // the build running, or 0
		cancel   context.CancelFunc // cancels it
		inflight int                // reloads asked for and not answered
		errBuild int                // the build whose error is shown, or 0
	)
	// After a restart the workers may run a build of the master before
	// it: count on from there, so that no build overwrites the binary
	// the current worker runs from.
	latest = serving
	ready := func() bool { return building == 0 && inflight == 0 }
	for {
		select {
		case p := <-b.changes:
			note(p)

		case <-quiet.C:
			rebuild, refresh := false, false
			for p := range pending {
				switch set.classify(p) {
				case classBuild:
					rebuild = true
				case classRefresh:
					refresh = true
				}
			}
			saved := firstSeen
			clear(pending)
			firstSeen = time.Time{}
			if rebuild {
				if h := set.hash(); h != lastHash {
					lastHash = h
					if building != 0 {
						// Superseded: kill it (and its compilers) and
						// forget its result.
						cancel()
						<-b.results
						b.printf("baton: build %d cancelled: the sources changed again\n", building)
					}
					latest++
					building = latest
					var ctx context.Context
					ctx, cancel = context.WithCancel(context.Background())
					go b.build(ctx, latest, saved)
					n := latest
					b.m.setDev(func(st *DevState) { st.Latest, st.Ready = n, false })
					continue
				}
			}
			if refresh {
				b.m.setDev(func(st *DevState) { st.Refresh++ })
			}

		case r := <-b.results:
			if r.n != building {
				continue
			}
			building = 0
			cancel()
			if r.err != nil {
				msg := strings.TrimSpace(string(r.out))
				if msg == "" {
					msg = r.err.Error()
				}
				errBuild = r.n
				b.printf("baton: build %d failed (go build %v):\n%s\n", r.n, round(r.took), msg)
				rd, n := ready(), r.n
				b.m.setDev(func(st *DevState) { st.Error, st.Failed, st.Ready = msg, n, rd })
				continue
			}
			inflight++
			bin := r.bin
			b.m.reqs <- request{kind: msgReload, trigger: "dev", at: time.Now(), bin: bin, reply: func(err error) {
				b.reloads <- reloadResult{bin: bin, err: err}
			}}
			go func() {
				// Imports may have changed: watch what the program
				// is made of now.
				if s, err := b.list(); err == nil {
					select {
					case b.sets <- s:
					default:
					}
				}
			}()

		case r := <-b.reloads:
			inflight--
			if r.err != nil {
				errBuild = r.bin.build
				msg := r.err.Error()
				b.printf("baton: build %d did not start: %s; the previous build goes on serving\n", r.bin.build, msg)
				os.Remove(r.bin.path)
				rd, n := ready(), r.bin.build
				b.m.setDev(func(st *DevState) { st.Error, st.Failed, st.Ready = msg, n, rd })
				continue
			}
			clearErr := errBuild != 0 && errBuild <= r.bin.build
			if clearErr {
				errBuild = 0
			}
			rd := ready()
			b.m.setDev(func(st *DevState) {
				if clearErr {
					st.Error, st.Failed = "", 0
				}
				st.Ready = rd
			})

		case s := <-b.sets:
			set = s
			w.setDirs(s.dirs())
		}
	}
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// served prints the account of build bin, now served by c, once the worker
// it replaced (old) has reported how many requests it drained or has
// exited. It removes the binary old ran, unless it is the program's own.
// The master's run goroutine calls it; it does not block.
func (b *devBuilder) served(bin *binary, c, old *child) {
	c.mu.Lock()
	readyAt := c.readyAt
	c.mu.Unlock()
	line := fmt.Sprintf("baton: build %d ready in %v (go build %v), handed off in %v",
		bin.build, round(readyAt.Sub(bin.saved)), round(bin.buildTook), round(readyAt.Sub(c.started)))
	if old == nil {
		b.printf("%s\n", line)
		return
	}
	b.m.mu.Lock()
	bound := b.m.drainTimeout + DefaultExitGrace
	b.m.mu.Unlock()
	go func() {
		t := time.NewTimer(bound)
		defer t.Stop()
		select {
		case <-old.drainedCh:
		case <-old.done:
		case <-t.C:
		}
		old.mu.Lock()
		n, reported := old.drained, isClosed(old.drainedCh)
		old.mu.Unlock()
		switch {
		case reported:
			line += fmt.Sprintf("; build %d drained %d requests", old.build, n)
		case old.isDone():
			line += fmt.Sprintf("; build %d %s", old.build, old.exitCause())
		default:
			line += fmt.Sprintf("; build %d still draining", old.build)
		}
		b.printf("%s\n", line)
		if old.build > 0 {
			b.m.mu.Lock()
			inUse := b.m.bin.build == old.build
			b.m.mu.Unlock()
			if !inUse {
				os.Remove(filepath.Join(b.tmp, "build-"+strconv.Itoa(old.build)))
			}
		}
	}()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// setDev changes the development state and sends it to every worker.
func (m *master) setDev(f func(*DevState)) {
	m.mu.Lock()
	f(&m.devState)
	kids := slices.Clone(m.draining)
	for _, c := range []*child{m.cur, m.starting} {
		if c != nil {
			kids = append(kids, c)
		}
	}
	m.mu.Unlock()
	for _, c := range kids {
		m.sendDev(c)
	}
}

// sendDev sends c the current development state.
//
// NOTE: c.devMu is held from reading the state to sending it, so that the
// last message a worker gets is the latest state even when spawn and
// setDev send at once.
func (m *master) sendDev(c *child) {
	if c.conn == nil {
		return
	}
	c.devMu.Lock()
	defer c.devMu.Unlock()
	m.mu.Lock()
	st := m.devState
	m.mu.Unlock()
	st.Build = c.build
	if err := c.conn.send(&message{Type: msgDev, Dev: &st}, -1); err != nil {
		m.log.Debug("baton: development state", "pid", c.pid, "err", err)
	}
}

// cleanup removes what the master made for itself before it exits.
func (m *master) cleanup() {
	if m.devDir != "" {
		os.RemoveAll(m.devDir)
	}
}

// dirWatch delivers the paths of changed files in a set of directories to
// the builder.
type dirWatch interface {
	setDirs(dirs []string)
	close()
}

// watch starts watching set: with file events, unless EnvDevPoll forces
// polling or the probe shows that events do not arrive. It returns the
// changes seen during the probe too.
func (b *devBuilder) watch(set *sourceSet) (dirWatch, []string) {
	if !b.poll {
		nw, err := b.notifyWatch(set.dirs())
		if err == nil {
			ok, early := b.probe(set)
			if ok {
				return nw, early
			}
			nw.close()
			b.log.Warn("baton: file events do not arrive, polling the sources", "dir", set.mainDir)
		} else {
			b.log.Warn("baton: file events unavailable, polling the sources", "err", err)
		}
	}
	return b.pollWatch(set.dirs()), nil
}

// probe writes a file in the main package's directory and reports whether
// its event arrives within devProbeWait. Other changes seen meanwhile are
// returned.
func (b *devBuilder) probe(set *sourceSet) (ok bool, early []string) {
	path := filepath.Join(set.mainDir, probePrefix+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		// A read-only tree: events cannot be tested; trust them.
		b.log.Debug("baton: no probe", "err", err)
		return true, nil
	}
	defer os.Remove(path)
	t := time.NewTimer(devProbeWait)
	defer t.Stop()
	for {
		select {
		case p := <-b.changes:
			if p == path {
				return true, early
			}
			early = append(early, p)
		case <-t.C:
			return false, early
		}
	}
}

// notifyWatcher watches directories with fsnotify.
type notifyWatcher struct {
	w    *fsnotify.Watcher
	mu   sync.Mutex
	dirs map[string]bool
}

func (b *devBuilder) notifyWatch(dirs []string) (*notifyWatcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	nw := &notifyWatcher{w: fw, dirs: make(map[string]bool)}
	nw.setDirs(dirs)
	go func() {
		for {
			select {
			case ev, ok := <-fw.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				b.changes <- filepath.Clean(ev.Name)
			case err, ok := <-fw.Errors:
				if !ok {
					return
				}
				b.log.Warn("baton: source watch", "err", err)
			}
		}
	}()
	return nw, nil
}

func (nw *notifyWatcher) setDirs(dirs []string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	want := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		want[d] = true
		if !nw.dirs[d] {
			if err := nw.w.Add(d); err == nil {
				nw.dirs[d] = true
			}
		}
	}
	for d := range nw.dirs {
		if !want[d] {
			nw.w.Remove(d)
			delete(nw.dirs, d)
		}
	}
}

func (nw *notifyWatcher) close() { nw.w.Close() }

// pollWatch watches directories by reading them every devPollInterval and
// comparing each file's size and modification time.
type pollWatch struct {
	mu   sync.Mutex
	dirs []string
	stop chan struct{}
	once sync.Once
}

type pollStamp struct {
	size int64
	mod  time.Time
}

func (b *devBuilder) pollWatch(dirs []string) *pollWatch {
	pw := &pollWatch{dirs: dirs, stop: make(chan struct{})}
	read := func(dir string) map[string]pollStamp {
		ents, _ := os.ReadDir(dir)
		m := make(map[string]pollStamp, len(ents))
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			if fi, err := e.Info(); err == nil {
				m[e.Name()] = pollStamp{size: fi.Size(), mod: fi.ModTime()}
			}
		}
		return m
	}
	prev := make(map[string]map[string]pollStamp)
	for _, d := range dirs {
		prev[d] = read(d)
	}
	go func() {
		t := time.NewTicker(devPollInterval)
		defer t.Stop()
		for {
			select {
			case <-pw.stop:
				return
			case <-t.C:
			}
			pw.mu.Lock()
			dirs := pw.dirs
			pw.mu.Unlock()
			for _, d := range dirs {
				now := read(d)
				old, known := prev[d]
				prev[d] = now
				if !known {
					continue
				}
				for name, st := range now {
					if o, ok := old[name]; !ok || o.size != st.size || !o.mod.Equal(st.mod) {
						b.changes <- filepath.Join(d, name)
					}
				}
				for name := range old {
					if _, ok := now[name]; !ok {
						b.changes <- filepath.Join(d, name)
					}
				}
			}
		}
	}()
	return pw
}

func (pw *pollWatch) setDirs(dirs []string) {
	pw.mu.Lock()
	pw.dirs = dirs
	pw.mu.Unlock()
}

func (pw *pollWatch) close() { pw.once.Do(func() { close(pw.stop) }) }
