//go:build unix && !aix

package proc

import (
	"fmt"
	"os"
	"syscall"
)

// unsafeError is why an executable must not be started. It wraps
// ErrUnsafeExecutable and is itself wrapped in a baton error.
type unsafeError struct {
	path, reason string
}

func (e *unsafeError) Error() string {
	return fmt.Sprintf("unsafe executable %s: %s; refusing to run it (see %s)", e.path, e.reason, EnvStrictModes)
}

func (e *unsafeError) Unwrap() error { return ErrUnsafeExecutable }

// checkOwner refuses an executable that someone other than root and this
// user could have written, as sshd's StrictModes refuses key files: one
// owned by another user, or writable by group or others. Such a binary
// would run with this process's rights and its sockets. The path is
// followed to the file it names. A file that cannot be examined is left
// for the start to report.
func checkOwner(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if euid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != euid {
			return &unsafeError{path, fmt.Sprintf("owned by uid %d, not by root or this user (uid %d)", st.Uid, euid)}
		}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &unsafeError{path, fmt.Sprintf("writable by group or others (mode %#o)", perm)}
	}
	return nil
}
