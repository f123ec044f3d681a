//go:build unix && !linux && !aix

package proc

// monotonicUsec is only needed by systemd, which runs on Linux alone.
func monotonicUsec() (int64, bool) { return 0, false }
