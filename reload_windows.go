//go:build windows

package baton

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"

	"github.com/baton-go/baton/proc"
)

var devWarnOnce sync.Once

// initProcess has no master to start on Windows. Development mode needs
// one: asking for it only gets a warning.
func initProcess() {
	devWarnOnce.Do(func() {
		if v := os.Getenv(proc.EnvDev); v != "" && v != "0" {
			defaultLogger().Warn("baton: development mode is unavailable on Windows (it needs the master process)")
		}
	})
}

func processReady() <-chan struct{} { return standaloneStop() }

func reportStartFailure(error) {}

func reportDrained(int64) {}

// Reload restarts the program from the binary on disk. Windows has no
// master process: the servers stop accepting, a new process starts and
// binds the ports, and this one drains and exits, so connections arriving
// in between are refused.
func (s *Server) Reload() error { return restartProcess() }

// Restart is Reload on Windows.
func (s *Server) Restart() error { return restartProcess() }

func processReload(string) error  { return restartProcess() }
func processRestart(string) error { return restartProcess() }

func processShutdown(string) error { return shutdownLocal() }

func processStatus(context.Context) (proc.Status, error) { return localStatus(), nil }

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

func hasMaster() bool { return false }
