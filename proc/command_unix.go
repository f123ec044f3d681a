//go:build unix && !aix

package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// commandError is a command that ran and failed.
type commandError struct {
	Cmd   string
	Cause string // "exited with status 1", "killed by signal 9 (killed)"
}

func (e *commandError) Error() string {
	return fmt.Sprintf("baton: %s: %s", e.Cmd, e.Cause)
}

// runCommand runs name with args in dir, writing its standard output to
// stdout and its standard error to stderr (the same pipe when they are
// equal; nil discards).
//
// NOTE: the master's reaper waits for any child (proc/doc.go, NOTES), so
// os/exec's Wait cannot be used here: the process is started and reaped
// through the reaper like a worker. It runs in a process group of its own,
// so that cancelling ctx kills it together with the processes it started
// (go build's compilers and linker), and none of them is left running.
func (m *master) runCommand(ctx context.Context, dir string, env []string, stdout, stderr io.Writer, name string, args ...string) error {
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("baton: %s: %w", name, err)
	}
	cmdline := strings.Join(append([]string{name}, args...), " ")
	var closers []*os.File
	closeAll := func() {
		for _, f := range closers {
			f.Close()
		}
		closers = nil
	}
	var copies sync.WaitGroup
	pipe := func(w io.Writer) (*os.File, error) {
		if w == nil {
			w = io.Discard
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("baton: %s: %w", cmdline, err)
		}
		closers = append(closers, pw)
		copies.Go(func() {
			io.Copy(w, pr)
			pr.Close()
		})
		return pw, nil
	}
	outW, err := pipe(stdout)
	if err != nil {
		closeAll()
		return err
	}
	errW := outW
	if stderr != stdout {
		if errW, err = pipe(stderr); err != nil {
			closeAll()
			copies.Wait()
			return err
		}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		closeAll()
		copies.Wait()
		return fmt.Errorf("baton: %s: %w", cmdline, err)
	}
	closers = append(closers, devnull)
	c := newChild(0, 0)
	attr := &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{devnull, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	err = m.reaper.start(c, path, append([]string{name}, args...), attr)
	closeAll() // the child has its copies; EOF comes when it and its children exit
	if err != nil {
		copies.Wait()
		return fmt.Errorf("baton: %s: %w", cmdline, err)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		m.reaper.signalGroup(c, syscall.SIGKILL)
		<-c.done
		copies.Wait()
		return fmt.Errorf("baton: %s: %w", cmdline, ctx.Err())
	}
	copies.Wait()
	if !c.status.Exited() || c.status.ExitStatus() != 0 {
		return &commandError{Cmd: cmdline, Cause: c.exitCause()}
	}
	return nil
}
