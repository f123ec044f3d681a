//go:build !linux

package browser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// setProcessGroup does nothing outside Linux: the browser tests run on
// Linux, and elsewhere only Chromium's main process is killed.
func setProcessGroup(cmd *exec.Cmd) {}

// killProcessGroup kills p alone, since setProcessGroup made no group.
func killProcessGroup(p *os.Process) error {
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("browser: kill pid %d: %w", p.Pid, err)
	}
	return nil
}

// killStrays does nothing outside Linux, which has no /proc to search.
func killStrays(dir string) error { return nil }
