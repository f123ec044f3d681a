package devbuild

import (
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/baton-go/baton/internal/watch"
)

// sourceWatch delivers the paths of changed files in the source
// directories to the builder's changes channel.
type sourceWatch struct {
	*watch.Watcher
	stop chan struct{} // closed before Close: a delivery waiting on changes gives up
}

// newSourceWatch watches dirs, by polling when poll is true.
func (b *Builder) newSourceWatch(dirs []string, poll bool) (*sourceWatch, error) {
	sw := &sourceWatch{stop: make(chan struct{})}
	o := watch.Options{
		OnChange: func(p string) {
			select {
			case b.changes <- p:
			case <-sw.stop:
			}
		},
		OnError: func(err error) { b.log.Warn("baton: source watch", "err", err) },
	}
	if poll {
		o.Poll = pollInterval
	}
	w, err := watch.New(dirs, o)
	if err != nil {
		return nil, err
	}
	sw.Watcher = w
	return sw, nil
}

func (sw *sourceWatch) setDirs(dirs []string) { sw.SetDirs(dirs) }

func (sw *sourceWatch) close() {
	close(sw.stop)
	sw.Close()
}

// watch starts watching set: with file events, unless EnvDevPoll forces
// polling or the probe shows that events do not arrive. It returns the
// changes seen during the probe too.
func (b *Builder) watch(set *sourceSet) (*sourceWatch, []string) {
	if !b.poll {
		sw, err := b.newSourceWatch(set.dirs(), false)
		if err == nil {
			ok, early := b.probe(set)
			if ok {
				return sw, early
			}
			sw.close()
			b.log.Warn("baton: file events do not arrive, polling the sources", "dir", set.mainDir)
		} else {
			b.log.Warn("baton: file events unavailable, polling the sources", "err", err)
		}
	}
	sw, _ := b.newSourceWatch(set.dirs(), true) // polling cannot fail
	return sw, nil
}

// probe writes a file in the main package's directory and reports whether
// its event arrives within probeWait. Other changes seen meanwhile are
// returned.
func (b *Builder) probe(set *sourceSet) (ok bool, early []string) {
	path := filepath.Join(set.mainDir, probePrefix+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		// A read-only tree: events cannot be tested; trust them.
		b.log.Debug("baton: no probe", "err", err)
		return true, nil
	}
	defer os.Remove(path)
	t := time.NewTimer(probeWait)
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
