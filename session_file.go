package baton

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fileLockStripes is how many lock files a FileStore spreads its sessions
// over: writes of different sessions seldom wait for each other, and the
// lock files never need removing.
const fileLockStripes = 16

// sessionSweepInterval is how often a FileStore looks for expired files
// while sessions are saved.
const sessionSweepInterval = 10 * time.Minute

// tmpPrefix begins the names of files being written.
const tmpPrefix = ".tmp-"

// FileStore keeps each session in a JSON file of a directory. It is the
// default store: sessions survive reloads and restarts, since the disk
// outlives the worker. Files are written to a temporary file and renamed,
// so a reader never sees half a session; a read-modify-write (Update) of a
// session holds a lock in this process and, on Unix, an flock(2) lock
// that the other workers of the program respect too, as during a reload
// when two overlap. On other platforms the lock is of this process only.
//
// The names of the files are the session ids, so the directory must be
// this user's alone. Before it reads or writes a session (and at
// Server.Start, for the store of a server) a FileStore checks, on Unix,
// that the directory is not a symbolic link, is owned by this user
// (effective uid) and gives the group and others no permission at all
// (mode 0700 or stricter); if not, every use fails with an error wrapping
// ErrUnsafeSessionDir that names the directory and what to fix. On other
// platforms only the symbolic link is refused. A missing directory is
// created, mode 0700, at the first save. A session file must be a regular
// file (not a symbolic link) and, on Unix, owned by this user; one that is
// not, or that cannot be decoded, is reported as ErrSessionCorrupt, so the
// session starts afresh.
//
// Expired files are removed as sessions are saved, at most every ten
// minutes, or by Sweep. Create a FileStore with NewFileStore. It is safe
// for concurrent use.
type FileStore struct {
	dir       string
	unchecked bool // SessionConfig.InsecureSkipDirCheck

	dirMu sync.Mutex  // serializes the checks of dir
	dirOK atomic.Bool // dir exists and passed the checks

	locks     [fileLockStripes]sync.Mutex
	nextSweep atomic.Int64 // UnixNano
}

var _ SessionUpdater = (*FileStore)(nil)

// NewFileStore returns a store keeping sessions in dir, which is created
// (mode 0700) at the first save if it does not exist. The directory is
// checked as the FileStore doc says.
func NewFileStore(dir string) *FileStore {
	return &FileStore{dir: dir}
}

// Dir returns the directory of the store.
func (f *FileStore) Dir() string { return f.dir }

// sessionFile is the content of a session file.
type sessionFile struct {
	Expires int64          `json:"expires"` // Unix milliseconds
	Data    map[string]any `json:"data"`
}

// validFileID reports whether id can name a file: no separator, no dot.
func validFileID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (f *FileStore) path(id string) string { return filepath.Join(f.dir, id+".json") }

// read returns the data of id; expired tells a file past its TTL, which
// returns nil data.
func (f *FileStore) read(id string) (data map[string]any, expired bool, err error) {
	b, err := readSessionFile(f.path(id), f.unchecked)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	var bad badSessionFile
	if errors.As(err, &bad) {
		return nil, false, fmt.Errorf("%w: %s: %s", ErrSessionCorrupt, f.path(id), string(bad))
	}
	if err != nil {
		return nil, false, fmt.Errorf("baton: session file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var sf sessionFile
	if err := dec.Decode(&sf); err != nil {
		return nil, false, fmt.Errorf("%w: %s: %w", ErrSessionCorrupt, f.path(id), err)
	}
	if time.Now().UnixMilli() >= sf.Expires {
		return nil, true, nil
	}
	if sf.Data == nil {
		sf.Data = make(map[string]any)
	}
	return sf.Data, false, nil
}

// Load implements SessionStore.
func (f *FileStore) Load(ctx context.Context, id string) (map[string]any, error) {
	if !validFileID(id) {
		return nil, nil
	}
	if ok, err := f.openDir(false); !ok {
		return nil, err
	}
	data, _, err := f.read(id)
	return data, err
}

// Save implements SessionStore.
func (f *FileStore) Save(ctx context.Context, id string, data map[string]any, ttl time.Duration) error {
	return f.Update(ctx, id, ttl, func(map[string]any) map[string]any { return data })
}

// Update implements SessionUpdater. Corrupt data is passed to fn as nil.
func (f *FileStore) Update(ctx context.Context, id string, ttl time.Duration, fn func(map[string]any) map[string]any) error {
	if !validFileID(id) {
		return fmt.Errorf("baton: session id %q cannot name a file", id)
	}
	unlock, err := f.lock(id)
	if err != nil {
		return err
	}
	cur, _, err := f.read(id)
	if errors.Is(err, ErrSessionCorrupt) {
		cur, err = nil, nil
	}
	if err == nil {
		if next := fn(cur); next != nil {
			err = f.write(id, next, ttl)
		}
	}
	unlock()
	if err == nil {
		f.maybeSweep(ttl)
	}
	return err
}

// write replaces the file of id through a temporary file and a rename.
func (f *FileStore) write(id string, data map[string]any, ttl time.Duration) error {
	b, err := json.Marshal(sessionFile{Expires: time.Now().Add(ttl).UnixMilli(), Data: data})
	if err != nil {
		return fmt.Errorf("baton: session %s: %w", id, err)
	}
	tmp, err := os.CreateTemp(f.dir, tmpPrefix+id+"-*")
	if err != nil {
		return fmt.Errorf("baton: session file: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path(id))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("baton: session file: %w", err)
	}
	return nil
}

// Delete implements SessionStore.
func (f *FileStore) Delete(ctx context.Context, id string) error {
	if !validFileID(id) {
		return nil
	}
	unlock, err := f.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(f.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("baton: session file: %w", err)
	}
	return nil
}

// lock takes the lock of id's stripe: a mutex against the goroutines of
// this process, then the stripe's lock file against other processes.
func (f *FileStore) lock(id string) (unlock func(), err error) {
	if _, err := f.openDir(true); err != nil {
		return nil, err
	}
	i := stripe(id, fileLockStripes)
	f.locks[i].Lock()
	release, err := lockFile(filepath.Join(f.dir, fmt.Sprintf(".lock-%02d", i)))
	if err != nil {
		f.locks[i].Unlock()
		return nil, fmt.Errorf("baton: session lock: %w", err)
	}
	return func() {
		release()
		f.locks[i].Unlock()
	}, nil
}

// open checks the directory, if it exists, as the FileStore doc says:
// Server.Start calls it so that a server does not start on a directory
// another user could have planted.
func (f *FileStore) open() error {
	_, err := f.openDir(false)
	return err
}

// openDir checks the directory once it exists and, with create, makes it
// (mode 0700) when it is missing. It reports whether the directory exists
// and passed; only a pass is remembered, so a directory fixed while the
// server runs is taken up at the next use.
func (f *FileStore) openDir(create bool) (ok bool, err error) {
	if f.dirOK.Load() {
		return true, nil
	}
	f.dirMu.Lock()
	defer f.dirMu.Unlock()
	if f.dirOK.Load() {
		return true, nil
	}
	err = f.checkDir()
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return false, nil
		}
		if err := os.MkdirAll(f.dir, 0o700); err != nil {
			return false, fmt.Errorf("baton: session dir: %w", err)
		}
		err = f.checkDir()
	}
	if err != nil {
		return false, err
	}
	f.dirOK.Store(true)
	return true, nil
}

// checkDir checks the directory, unless told not to: then it need only
// be a directory, through links or not.
func (f *FileStore) checkDir() error {
	if f.unchecked {
		fi, err := os.Stat(f.dir)
		if err != nil {
			return fmt.Errorf("baton: session dir: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s: not a directory", ErrUnsafeSessionDir, f.dir)
		}
		return nil
	}
	err := checkPrivateDir(f.dir)
	var unsafe unsafeDir
	if errors.As(err, &unsafe) {
		return fmt.Errorf("%w: %s: %s", ErrUnsafeSessionDir, f.dir, unsafe.fix(f.dir))
	}
	if err != nil {
		return fmt.Errorf("baton: session dir: %w", err)
	}
	return nil
}

// unsafeDir is why checkPrivateDir refuses a directory.
type unsafeDir struct {
	symlink, notDir, foreign bool
	uid                      int         // the owner, if foreign
	mode                     fs.FileMode // the permission bits, if open to others
}

func (u unsafeDir) Error() string { return u.fix("the directory") }

// fix says what is wrong with dir and how to put it right.
func (u unsafeDir) fix(dir string) string {
	switch {
	case u.symlink:
		return "a symbolic link, which another user may have planted: remove it, or set SessionConfig.Dir to a real directory of this user's"
	case u.notDir:
		return "not a directory: remove it, or set SessionConfig.Dir to another path"
	case u.foreign:
		return fmt.Sprintf("owned by uid %d, not by this user (uid %d), who may have made it to read or plant sessions: "+
			"remove it, or set SessionConfig.Dir to a directory of this user's", u.uid, os.Geteuid())
	default:
		return fmt.Sprintf("mode %#o lets other users see or change it, and its file names are the session ids: "+
			"run chmod 700 %s", u.mode, dir)
	}
}

// badSessionFile is why readSessionFile refuses a session file.
type badSessionFile string

func (b badSessionFile) Error() string { return string(b) }

// maybeSweep sweeps at most every sessionSweepInterval, in the request
// that saves (so no goroutine outlives the store). Only files older than
// ttl are read: younger ones cannot have expired, if written with it.
func (f *FileStore) maybeSweep(ttl time.Duration) {
	now := time.Now().UnixNano()
	next := f.nextSweep.Load()
	if now < next || !f.nextSweep.CompareAndSwap(next, now+int64(sessionSweepInterval)) {
		return
	}
	f.sweep(ttl)
}

// Sweep removes the files of expired and corrupt sessions, and temporary
// files a crash left behind. It runs by itself while sessions are saved;
// call it to clean up on a schedule of your own.
func (f *FileStore) Sweep() error {
	return f.sweep(0)
}

// sweep reads the session files older than minAge and removes those that
// have expired or are corrupt.
func (f *FileStore) sweep(minAge time.Duration) error {
	if ok, err := f.openDir(false); !ok {
		return err
	}
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("baton: sweep sessions: %w", err)
	}
	now := time.Now()
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		age := now.Sub(info.ModTime())
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if age > time.Minute {
				os.Remove(filepath.Join(f.dir, name))
			}
		case strings.HasSuffix(name, ".json") && age >= minAge:
			id := strings.TrimSuffix(name, ".json")
			if !validFileID(id) {
				continue
			}
			unlock, err := f.lock(id)
			if err != nil {
				return err
			}
			_, expired, err := f.read(id)
			if expired || errors.Is(err, ErrSessionCorrupt) {
				os.Remove(f.path(id))
			}
			unlock()
		}
	}
	return nil
}
