package watch

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files calls its onChange with the files whose content changed. It
// watches the directories that hold the files, not the files themselves,
// so that an editor's rename-save and a Kubernetes ConfigMap's symlink swap
// are seen; content is compared by hash, so a touch does nothing. Its
// methods are safe for concurrent use; a Files may not be used after Close.
type Files struct {
	quiet    time.Duration
	onChange func(changed []string)
	w        *Watcher

	mu     sync.Mutex
	files  map[string][32]byte // cleaned absolute path -> hash of its content
	timer  *time.Timer
	closed bool
}

// NewFiles returns a Files that calls onChange, from a goroutine of its
// own, once the watched directories have had no event for quiet and a
// file's content differs from when it was last read.
func NewFiles(quiet time.Duration, onChange func(changed []string)) (*Files, error) {
	fw := &Files{quiet: quiet, onChange: onChange, files: make(map[string][32]byte)}
	// Any event in a watched directory may concern a file through a
	// symlink (a ConfigMap's ..data): re-check them all after the quiet
	// period. Attribute changes count, as they always did: the hash
	// decides.
	w, err := New(nil, Options{OnChange: fw.event, Chmod: true})
	if err != nil {
		return nil, err
	}
	fw.w = w
	return fw, nil
}

// Add watches path (which need not exist yet).
func (fw *Files) Add(path string) error {
	abs, err := filepath.Abs(filepath.Clean(path))
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

func (fw *Files) event(string) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.closed {
		return
	}
	if fw.timer == nil {
		fw.timer = time.AfterFunc(fw.quiet, fw.check)
	} else {
		fw.timer.Reset(fw.quiet)
	}
}

func (fw *Files) check() {
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

// Close stops watching.
func (fw *Files) Close() error {
	fw.mu.Lock()
	fw.closed = true
	if fw.timer != nil {
		fw.timer.Stop()
	}
	fw.mu.Unlock()
	return fw.w.Close()
}
