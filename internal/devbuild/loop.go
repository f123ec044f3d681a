package devbuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/baton-go/baton/proc"
)

// loop is the state of the builder's Run goroutine, which alone touches it.
type loop struct {
	set       *sourceSet
	w         *sourceWatch
	lastHash  [32]byte        // of the build inputs of the newest build
	pending   map[string]bool // changed paths in the quiet period
	firstSeen time.Time       // the first of them
	quiet     *time.Timer

	latest   int                // newest build number
	building int                // the build running, or 0
	cancel   context.CancelFunc // cancels it
	inflight int                // reloads asked for and not answered
	errBuild int                // the build whose error is shown, or 0
}

// Run is the builder's loop, one method per event. It never returns while
// the master lives, unless the sources cannot be listed.
func (b *Builder) Run() {
	if !b.start() {
		return
	}
	defer b.w.close()
	for {
		select {
		case p := <-b.changes:
			b.note(p)
		case <-b.quiet.C:
			b.quietEnded()
		case r := <-b.results:
			b.built(r)
		case r := <-b.reloads:
			b.reloaded(r)
		case s := <-b.sets:
			b.set = s
			b.w.setDirs(s.dirs())
		}
	}
}

// start lists the sources, starts watching them and notes a change
// already made to them. It reports false when the sources cannot be
// listed: development mode is then off.
func (b *Builder) start() bool {
	set, err := b.list()
	if err != nil {
		b.log.Error("baton: development mode off", "err", err)
		b.printf("baton: development mode off: %v\n", err)
		return false
	}
	b.set = set
	// The sources as the running binary was built from them, as far as
	// can be known: taken before the watch starts, so that an edit made
	// while it starts is seen below. A build input newer than the binary
	// was edited after the build: build at once.
	b.lastHash = set.hash()
	w, early := b.watch(set)
	b.w = w
	exe, serving := b.host.Serving()
	if fi, err := os.Stat(exe); err == nil && set.newest().After(fi.ModTime()) || set.hash() != b.lastHash {
		b.lastHash = [32]byte{}
		early = append(early, filepath.Join(set.root, "go.mod"))
	}
	mode := "file events"
	if w.Polling() {
		mode = "polling every " + pollInterval.String()
		b.host.SetDev(func(st *proc.DevState) { st.Poll = true })
	}
	b.printf("baton: development mode: watching %s in %d directories (%s)\n", b.pkg, len(set.dirs()), mode)

	b.pending = make(map[string]bool)
	b.quiet = time.NewTimer(time.Hour)
	b.quiet.Stop()
	for _, p := range early {
		b.note(p)
	}
	// After a restart the workers may run a build of the master before
	// it: count on from there, so that no build overwrites the binary
	// the current worker runs from.
	b.latest = serving
	return true
}

// ready reports whether the newest build has nothing left to do.
func (b *Builder) ready() bool { return b.building == 0 && b.inflight == 0 }

// note takes a changed path into the quiet period.
func (b *Builder) note(p string) {
	if b.set.classify(p) == classIgnore {
		return
	}
	b.pending[p] = true
	if b.firstSeen.IsZero() {
		b.firstSeen = time.Now()
	}
	b.quiet.Reset(proc.DefaultDevQuiet)
}

// quietEnded acts on the changes of the quiet period just ended: a build
// when a build input's content changed, else a refresh of the pages when
// a template or extra file changed.
func (b *Builder) quietEnded() {
	rebuild, refresh := false, false
	for p := range b.pending {
		switch b.set.classify(p) {
		case classBuild:
			rebuild = true
		case classRefresh:
			refresh = true
		}
	}
	saved := b.firstSeen
	clear(b.pending)
	b.firstSeen = time.Time{}
	if rebuild {
		if h := b.set.hash(); h != b.lastHash {
			b.lastHash = h
			b.startBuild(saved)
			return
		}
	}
	if refresh {
		b.host.SetDev(func(st *proc.DevState) { st.Refresh++ })
	}
}

// startBuild starts the next build, cancelling the one running.
func (b *Builder) startBuild(saved time.Time) {
	if b.building != 0 {
		// Superseded: kill it (and its compilers) and forget its
		// result.
		b.cancel()
		<-b.results
		b.printf("baton: build %d cancelled: the sources changed again\n", b.building)
	}
	b.latest++
	b.building = b.latest
	var ctx context.Context
	ctx, b.cancel = context.WithCancel(context.Background())
	go b.build(ctx, b.latest, saved)
	n := b.latest
	b.host.SetDev(func(st *proc.DevState) { st.Latest, st.Ready = n, false })
}

// built acts on a finished build: shows its error, or reloads into it.
func (b *Builder) built(r buildResult) {
	if r.n != b.building {
		return
	}
	b.building = 0
	b.cancel()
	if r.err != nil {
		msg := strings.TrimSpace(string(r.out))
		if msg == "" {
			msg = r.err.Error()
		}
		b.errBuild = r.n
		b.printf("baton: build %d failed (go build %v):\n%s\n", r.n, round(r.took), msg)
		rd, n := b.ready(), r.n
		b.host.SetDev(func(st *proc.DevState) { st.Error, st.Failed, st.Ready = msg, n, rd })
		return
	}
	b.inflight++
	n, path := r.n, r.path
	b.host.Reload(path, n, func(err error) {
		b.reloads <- reloadResult{n: n, path: path, err: err}
	})
	go func() {
		// Imports may have changed: watch what the program is made
		// of now.
		if s, err := b.list(); err == nil {
			select {
			case b.sets <- s:
			default:
			}
		}
	}()
}

// reloaded acts on the outcome of a reload into a build: shows its error,
// or clears the error of an older build.
func (b *Builder) reloaded(r reloadResult) {
	b.inflight--
	if r.err != nil {
		b.errBuild = r.n
		msg := r.err.Error()
		b.printf("baton: build %d did not start: %s; the previous build goes on serving\n", r.n, msg)
		os.Remove(r.path)
		b.timesMu.Lock()
		delete(b.times, r.n)
		b.timesMu.Unlock()
		rd, n := b.ready(), r.n
		b.host.SetDev(func(st *proc.DevState) { st.Error, st.Failed, st.Ready = msg, n, rd })
		return
	}
	clearErr := b.errBuild != 0 && b.errBuild <= r.n
	if clearErr {
		b.errBuild = 0
	}
	rd := b.ready()
	b.host.SetDev(func(st *proc.DevState) {
		if clearErr {
			st.Error, st.Failed = "", 0
		}
		st.Ready = rd
	})
}
