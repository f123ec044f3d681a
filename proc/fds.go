package proc

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// envFDs names the listening sockets a master passes to its own re-executed
// self at a restart, as "fd=key" pairs separated by "&" (keys are
// query-escaped; a socket may appear once per key, or once with an empty key).
const envFDs = "BATON_FDS"

// inheritedFD is one entry of envFDs.
type inheritedFD struct {
	FD  int
	Key string
}

// formatFDs encodes entries for envFDs.
func formatFDs(entries []inheritedFD) string {
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(strconv.Itoa(e.FD))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(e.Key))
	}
	return b.String()
}

// parseFDs decodes the value of envFDs. Descriptors must be 3 or more: 0, 1
// and 2 are the standard streams.
func parseFDs(s string) ([]inheritedFD, error) {
	if s == "" {
		return nil, nil
	}
	var entries []inheritedFD
	for _, part := range strings.Split(s, "&") {
		fdStr, key, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("baton: %s: entry %q has no '=': %w", envFDs, part, ErrProtocol)
		}
		fd, err := strconv.Atoi(fdStr)
		if err != nil || fd < 3 || strconv.Itoa(fd) != fdStr {
			return nil, fmt.Errorf("baton: %s: bad descriptor %q: %w", envFDs, fdStr, ErrProtocol)
		}
		k, err := url.QueryUnescape(key)
		if err != nil {
			return nil, fmt.Errorf("baton: %s: bad key %q: %w", envFDs, key, err)
		}
		entries = append(entries, inheritedFD{FD: fd, Key: k})
	}
	return entries, nil
}

// Socket activation (sd_listen_fds(3)): the service manager passes
// LISTEN_FDS sockets starting at descriptor 3 to the process whose pid is
// LISTEN_PID, optionally named by the colon-separated LISTEN_FDNAMES.
const (
	envListenPID     = "LISTEN_PID"
	envListenFDs     = "LISTEN_FDS"
	envListenFDNames = "LISTEN_FDNAMES"
	listenFDsStart   = 3
)

// maxActivationFDs bounds LISTEN_FDS, so that a garbage value cannot make the
// master walk millions of descriptors.
const maxActivationFDs = 1024

// parseListenEnv interprets the socket-activation variables for a process
// with the given pid. It returns the names of the passed sockets (empty
// strings when unnamed), or nil when the variables are absent, meant for
// another process or malformed.
func parseListenEnv(pidStr, fdsStr, namesStr string, pid int) []string {
	if pidStr == "" || fdsStr == "" {
		return nil
	}
	p, err := strconv.Atoi(pidStr)
	if err != nil || p != pid {
		return nil
	}
	n, err := strconv.Atoi(fdsStr)
	if err != nil || n <= 0 || n > maxActivationFDs {
		return nil
	}
	names := make([]string, n)
	if namesStr != "" {
		for i, name := range strings.Split(namesStr, ":") {
			if i >= n {
				break
			}
			names[i] = name
		}
	}
	return names
}
