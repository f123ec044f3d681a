//go:build unix

package baton

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) lock on path, which other processes
// taking it respect; release closes the file, which drops the lock.
func lockFile(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// checkPrivateDir returns an unsafeDir error unless dir is a directory
// (not a symbolic link) owned by this user and closed to the group and
// others: its file names are session ids, which even a listing would give
// away, and a directory another user made could hold sessions of theirs.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return unsafeDir{symlink: true}
	case !fi.IsDir() || !ok:
		return unsafeDir{notDir: true}
	case int(st.Uid) != os.Geteuid():
		return unsafeDir{foreign: true, uid: int(st.Uid)}
	case fi.Mode().Perm()&0o077 != 0:
		return unsafeDir{mode: fi.Mode().Perm()}
	}
	return nil
}

// readSessionFile returns the content of the session file at path, which
// must be a regular file (opened without following a symbolic link, and
// without blocking on a FIFO) owned by this user, unless anyOwner. A file
// that is not is a badSessionFile error.
func readSessionFile(path string, anyOwner bool) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		// ELOOP on Linux and macOS, EMLINK on FreeBSD: the path is a link.
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, badSessionFile("a symbolic link, not a regular file")
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, badSessionFile(fmt.Sprintf("not a regular file (mode %v)", fi.Mode()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !anyOwner && int(st.Uid) != os.Geteuid() {
		return nil, badSessionFile(fmt.Sprintf("owned by uid %d, not by this user (uid %d)", st.Uid, os.Geteuid()))
	}
	return io.ReadAll(f)
}

// lockFileIsNoop tells tests whether lockFile locks across processes.
const lockFileIsNoop = false
