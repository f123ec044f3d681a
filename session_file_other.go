//go:build !unix

package baton

import (
	"fmt"
	"io/fs"
	"os"
)

// lockFile locks nothing: without flock(2), a FileStore locks against the
// goroutines of its own process only.
func lockFile(path string) (release func(), err error) {
	return func() {}, nil
}

// checkPrivateDir returns an unsafeDir error if dir is a symbolic link or
// not a directory. Owner and permissions are not checked: they are ACLs
// here, and the default places (the user's local application data, or
// temporary directory) are private to the user already.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return unsafeDir{symlink: true}
	case !fi.IsDir():
		return unsafeDir{notDir: true}
	}
	return nil
}

// readSessionFile returns the content of the session file at path, which
// must be a regular file, not a symbolic link; one that is not is a
// badSessionFile error. The owner is not checked (see checkPrivateDir).
func readSessionFile(path string, anyOwner bool) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, badSessionFile(fmt.Sprintf("not a regular file (mode %v)", fi.Mode()))
	}
	return os.ReadFile(path)
}

// lockFileIsNoop tells tests whether lockFile locks across processes.
const lockFileIsNoop = true
