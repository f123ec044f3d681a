//go:build !unix

package baton

// lockFile locks nothing: without flock(2), a FileStore locks against the
// goroutines of its own process only.
func lockFile(path string) (release func(), err error) {
	return func() {}, nil
}

// checkPrivateDir accepts dir: the temporary directory of a Windows user
// is private to that user already.
func checkPrivateDir(dir string) error { return nil }

// lockFileIsNoop tells tests whether lockFile locks across processes.
const lockFileIsNoop = true
