//go:build windows

package baton

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
)

// self is the process this program runs in: on Windows always one that
// serves itself, since there is no master.
var self host = restarting{}

var devWarnOnce sync.Once

// initProcess has no master to start on Windows. Development mode needs
// one: asking for it only gets a warning.
func initProcess() {
	devWarnOnce.Do(func() {
		if devOn(false) {
			defaultLogger().Warn("baton: development mode is unavailable on Windows (it needs the master process)")
		}
	})
}

// restarting is a standalone process that reloads and restarts by
// starting a new process of its binary.
type restarting struct{ standalone }

func (restarting) reload(string) error  { return restartProcess() }
func (restarting) restart(string) error { return restartProcess() }

// Reload restarts the program from the binary on disk. Windows has no
// master process: the servers stop accepting, a new process starts and
// binds the ports, and this one drains and exits, so connections arriving
// in between are refused.
func (s *Server) Reload() error { return self.reload("api") }

// Restart is Reload on Windows.
func (s *Server) Restart() error { return self.restart("api") }

// Rollback needs the master, which Windows lacks: it returns ErrNoMaster.
func (s *Server) Rollback() error { return self.rollback("api") }

func restartProcess() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("baton: restart: %w", err)
	}
	list, _ := runningServers()
	for _, s := range list {
		s.beginDrain()
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("baton: restart %s: %w", exe, err)
	}
	cmd.Process.Release()
	go shutdownAll(list)
	return nil
}
