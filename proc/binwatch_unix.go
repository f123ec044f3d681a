//go:build unix && !aix

package proc

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/baton-go/baton/internal/watch"
)

// fileStamp is what the binary watch compares: size and modification time,
// cheap enough to take at every event, and the content hash, taken once the
// first two have settled.
type fileStamp struct {
	size int64
	mod  time.Time
	hash [32]byte
}

func (a fileStamp) sameStat(b fileStamp) bool {
	return a.size == b.size && a.mod.Equal(b.mod)
}

func statStamp(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}, true
}

func hashStamp(path string) (fileStamp, bool) {
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fileStamp{}, false
	}
	st := fileStamp{size: fi.Size(), mod: fi.ModTime()}
	h.Sum(st.hash[:0])
	return st, true
}

// watchBinary reloads into a new binary placed at the executable's path
// (Options.WatchBinary). It watches the directory, so that a rename into
// place is seen as well as a copy over the file. After the last event
// the file must keep its size and modification time for quiet, keep them
// while its content is hashed, differ from the binary last acted on, and
// be a complete executable (checkExecutable): a copy that pauses half-way
// for longer than quiet is stable but incomplete, and is not started.
func (m *master) watchBinary(quiet time.Duration) {
	exe := m.exe
	// Every event of the file counts, a chmod +x that completes a
	// deploy too.
	events := make(chan struct{}, 1)
	w, err := watch.New(nil, watch.Options{
		Name:  filepath.Base(exe),
		Chmod: true,
		OnChange: func(string) {
			select {
			case events <- struct{}{}:
			default:
			}
		},
		OnError: func(err error) { m.log.Warn("baton: binary watch", "err", err) },
	})
	if err == nil {
		err = w.Add(filepath.Dir(exe))
	}
	if err != nil {
		m.log.Error("baton: binary not watched", "path", exe, "err", err)
		if w != nil {
			w.Close()
		}
		return
	}
	defer w.Close()
	m.log.Info("baton: watching the binary", "path", exe)
	seen, _ := hashStamp(exe)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last fileStamp
	for {
		select {
		case <-events:
			last, _ = statStamp(exe)
			timer.Reset(quiet)
		case <-timer.C:
			now, ok := statStamp(exe)
			if !ok {
				continue // removed; a new one will come with an event
			}
			if !now.sameStat(last) {
				last = now
				timer.Reset(quiet)
				continue
			}
			full, ok := hashStamp(exe)
			if !ok || !full.sameStat(now) {
				last = full
				timer.Reset(quiet)
				continue
			}
			if full.hash == seen.hash {
				continue
			}
			if err := checkExecutable(exe); err != nil {
				if errors.Is(err, ErrIncompleteExecutable) {
					m.log.Info("baton: new binary not complete yet, waiting", "path", exe, "err", err)
				} else {
					m.log.Warn("baton: new binary not readable", "path", exe, "err", err)
				}
				continue
			}
			seen = full
			m.log.Info("baton: new binary in place, reloading", "path", exe, "size", full.size)
			m.reqs <- request{kind: msgReload, trigger: "watch", at: time.Now(), bin: &binary{path: exe}}
		}
	}
}
