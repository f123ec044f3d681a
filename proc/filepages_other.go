//go:build unix && !aix && !linux

package proc

// dropFilePages does nothing here; see the Linux version.
func dropFilePages() {}
