package watch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configures a Watcher. The zero value watches the directories
// themselves, not their subdirectories, with file events, and reports no
// Ignored file and no change of a file's attributes alone.
type Options struct {
	// OnChange is called with the cleaned path of each file changed,
	// made or removed, one at a time, from the Watcher's goroutine. It
	// may block, but not on Close. If nil, changes are dropped.
	OnChange func(path string)
	// OnError, if set, receives the errors of the file events.
	OnError func(error)
	// Trees, if true, watches the subdirectories of each directory too,
	// those made later included, except those whose name starts with ".".
	Trees bool
	// Poll, if not zero, makes the Watcher read the directories at this
	// interval and compare each file's size and modification time,
	// instead of waiting for file events. A directory's first reading
	// reports nothing.
	Poll time.Duration
	// Name, if set, restricts the reports to files of this base name,
	// Ignored or not: one file watched through its directory.
	Name string
	// Chmod, if true, reports a change of a file's attributes alone too
	// (file events only).
	Chmod bool
}

// Watcher reports the changed files in a set of directories. Its methods
// are safe for concurrent use. A Watcher may not be used after Close.
type Watcher struct {
	o    Options
	fw   *fsnotify.Watcher // nil when polling
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	dirs  []string        // as asked
	added map[string]bool // directories given to fw
}

// New starts watching dirs (which need not exist) with o. It fails only
// when file events are unavailable; then a caller may poll instead.
func New(dirs []string, o Options) (*Watcher, error) {
	w := &Watcher{o: o, stop: make(chan struct{}), done: make(chan struct{}), added: make(map[string]bool)}
	w.dirs = slices.Clone(dirs)
	if o.Poll > 0 {
		// The first reading is taken here, so that a change made once
		// New returns is seen.
		prev := make(map[string]map[string]stamp)
		for _, d := range w.dirs {
			prev[d] = w.read(d)
		}
		go w.poll(prev)
		return w, nil
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("baton: file events: %w", err)
	}
	w.fw = fw
	w.mu.Lock()
	w.addLocked()
	w.mu.Unlock()
	go w.events()
	return w, nil
}

// Polling reports whether w polls instead of waiting for file events.
func (w *Watcher) Polling() bool { return w.fw == nil }

// SetDirs replaces the directories watched.
func (w *Watcher) SetDirs(dirs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dirs = slices.Clone(dirs)
	if w.fw != nil {
		w.addLocked()
	}
}

// Add watches dir too. With file events, it returns the error of watching
// dir (it does not exist, say); dir stays in the set, as SetDirs keeps it.
func (w *Watcher) Add(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if slices.Contains(w.dirs, dir) {
		return nil
	}
	w.dirs = append(w.dirs, dir)
	if w.fw == nil {
		return nil
	}
	var err error
	add := func(p string) {
		if w.added[p] {
			return
		}
		if e := w.fw.Add(p); e != nil {
			err = fmt.Errorf("baton: watch %s: %w", p, e)
			return
		}
		w.added[p] = true
	}
	if w.o.Trees {
		walkDirs(dir, add)
	} else {
		add(filepath.Clean(dir))
	}
	return err
}

// Close stops w and waits for its goroutine to end. OnChange is not called
// after Close returns.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.stop)
		if w.fw != nil {
			err = w.fw.Close()
		}
		<-w.done
	})
	return err
}

// report reports whether a change to the file at path is delivered.
func (w *Watcher) report(path string) bool {
	name := filepath.Base(path)
	if w.o.Name != "" {
		return name == w.o.Name
	}
	return !Ignored(name)
}

func (w *Watcher) deliver(path string) {
	if w.o.OnChange != nil && w.report(path) {
		w.o.OnChange(path)
	}
}

// addLocked gives fw the directories to watch now and takes back the
// others.
func (w *Watcher) addLocked() {
	want := make(map[string]bool)
	for _, d := range w.dirs {
		if w.o.Trees {
			walkDirs(d, func(p string) { want[p] = true })
		} else {
			want[filepath.Clean(d)] = true
		}
	}
	for d := range want {
		if !w.added[d] && w.fw.Add(d) == nil {
			w.added[d] = true
		}
	}
	for d := range w.added {
		if !want[d] {
			w.fw.Remove(d)
			delete(w.added, d)
		}
	}
}

// walkDirs calls f with root and, below it, each directory whose name does
// not start with ".".
func walkDirs(root string, f func(string)) {
	root = filepath.Clean(root)
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		if p != root && strings.HasPrefix(e.Name(), ".") {
			return filepath.SkipDir
		}
		f(p)
		return nil
	})
}

// events is the goroutine of a Watcher on file events.
func (w *Watcher) events() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod && !w.o.Chmod {
				continue
			}
			path := filepath.Clean(ev.Name)
			if w.o.Trees && ev.Op.Has(fsnotify.Create) && !Ignored(filepath.Base(path)) {
				if fi, err := os.Stat(path); err == nil && fi.IsDir() {
					w.mu.Lock()
					walkDirs(path, func(p string) {
						if !w.added[p] && w.fw.Add(p) == nil {
							w.added[p] = true
						}
					})
					w.mu.Unlock()
				}
			}
			w.deliver(path)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			if w.o.OnError != nil {
				w.o.OnError(err)
			}
		}
	}
}

// stamp is what polling compares.
type stamp struct {
	size int64
	mod  time.Time
}

// read returns the stamps of the files in dir (below it, with Trees).
func (w *Watcher) read(dir string) map[string]stamp {
	m := make(map[string]stamp)
	add := func(d string) {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			if fi, err := e.Info(); err == nil {
				m[filepath.Join(d, e.Name())] = stamp{size: fi.Size(), mod: fi.ModTime()}
			}
		}
	}
	if w.o.Trees {
		walkDirs(dir, add)
	} else {
		add(filepath.Clean(dir))
	}
	return m
}

// poll is the goroutine of a polling Watcher.
func (w *Watcher) poll(prev map[string]map[string]stamp) {
	defer close(w.done)
	t := time.NewTicker(w.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		dirs := w.dirs
		w.mu.Unlock()
		for _, d := range dirs {
			now := w.read(d)
			old, known := prev[d]
			prev[d] = now
			if !known {
				continue
			}
			for p, st := range now {
				if o, ok := old[p]; !ok || o.size != st.size || !o.mod.Equal(st.mod) {
					w.deliver(p)
				}
			}
			for p := range old {
				if _, ok := now[p]; !ok {
					w.deliver(p)
				}
			}
		}
		for d := range prev {
			if !slices.Contains(dirs, d) {
				delete(prev, d)
			}
		}
	}
}
