package baton

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultQuietPeriod is how long a watched file must stay unchanged after
// an event before it is read: editors and deploy tools write in bursts.
const DefaultQuietPeriod = 100 * time.Millisecond

// fileWatcher calls onChange with the files whose content changed. It
// watches the directories that hold the files, not the files themselves,
// so that an editor's rename-save and a Kubernetes ConfigMap's symlink swap
// are seen; content is compared by hash, so a touch does nothing.
type fileWatcher struct {
	quiet    time.Duration
	onChange func(changed []string)

	mu     sync.Mutex
	files  map[string][32]byte // cleaned path -> hash of its content
	w      *fsnotify.Watcher
	timer  *time.Timer
	closed bool
	done   chan struct{}
}

func newFileWatcher(quiet time.Duration, onChange func([]string)) (*fileWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	fw := &fileWatcher{quiet: quiet, onChange: onChange, files: make(map[string][32]byte), w: w, done: make(chan struct{})}
	go fw.loop()
	return fw, nil
}

// add watches path (which need not exist yet).
func (fw *fileWatcher) add(path string) error {
	path = filepath.Clean(path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, ok := fw.files[abs]; ok {
		return nil
	}
	fw.files[abs] = hashFile(abs)
	return fw.w.Add(filepath.Dir(abs))
}

func hashFile(path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}

func (fw *fileWatcher) loop() {
	defer close(fw.done)
	for {
		select {
		case _, ok := <-fw.w.Events:
			if !ok {
				return
			}
			// Any event in a watched directory may concern a file through
			// a symlink: re-check them all after the quiet period.
			fw.mu.Lock()
			if fw.timer == nil {
				fw.timer = time.AfterFunc(fw.quiet, fw.check)
			} else {
				fw.timer.Reset(fw.quiet)
			}
			fw.mu.Unlock()
		case _, ok := <-fw.w.Errors:
			if !ok {
				return
			}
		}
	}
}

func (fw *fileWatcher) check() {
	fw.mu.Lock()
	if fw.closed {
		fw.mu.Unlock()
		return
	}
	var changed []string
	for path, old := range fw.files {
		if h := hashFile(path); h != old {
			fw.files[path] = h
			changed = append(changed, path)
		}
	}
	fw.mu.Unlock()
	if len(changed) > 0 {
		fw.onChange(changed)
	}
}

func (fw *fileWatcher) close() error {
	fw.mu.Lock()
	fw.closed = true
	if fw.timer != nil {
		fw.timer.Stop()
	}
	fw.mu.Unlock()
	err := fw.w.Close()
	<-fw.done
	return err
}
