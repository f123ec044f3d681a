//go:build unix && !aix

// This file holds the one-step rollback: with Options.Rollback, the
// master keeps a copy of the executable of the serving generation and of
// the one before it, in a directory only this user can write, and a
// rollback (rollbackSignal, Worker.Rollback) reloads into the previous
// one, whatever has become of the file on disk since.

package proc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// rollbackSignal asks the master for a rollback. SIGHUP is taken (a
// shutdown), SIGWINCH comes with every resize of a terminal and SIGURG
// belongs to Go's scheduler; SIGTTIN otherwise only reaches a process
// that reads its terminal from the background, which the master never
// does. Workers receive it without acting on it.
const rollbackSignal = syscall.SIGTTIN

// keptExes are the master's copies of executables, by path; "" for none.
type keptExes struct {
	dir  string // private to this user; removed at exit, kept across a restart
	cur  string // what the serving generation runs
	prev string // what the generation before it ran: the rollback
}

// adoptKept makes the directory of the copies. After a restart it is
// the same (it is named after the pid, which the exec keeps): the copy
// the workers now start from stays, and the rest goes, since the new
// master cannot tell which generation the others belong to.
func (m *master) adoptKept() {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("baton-rollback-%d-%d", os.Geteuid(), m.pid))
	err := os.Mkdir(dir, 0o700)
	if err == nil || errors.Is(err, fs.ErrExist) {
		err = privateDir(dir)
	}
	if err != nil {
		// Someone else's name in a shared directory: take a fresh one.
		m.log.Warn("baton: rollback directory", "dir", dir, "err", err)
		if dir, err = os.MkdirTemp("", "baton-rollback-"); err != nil {
			m.log.Error("baton: rollback off: no private directory", "err", err)
			return
		}
	}
	k := keptExes{dir: dir}
	if m.restarted && filepath.Dir(m.bin.path) == dir {
		m.bin.kept = true
		k.cur = m.bin.path
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); p != k.cur {
			os.Remove(p)
		}
	}
	m.gens.kept = k
}

// privateDir reports why dir is not a directory of this user's that
// nobody else may write in or read, if it is not.
func privateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d", dir, st.Uid)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %#o, not 0700", dir, perm)
	}
	return nil
}

// keep records the executable of c, a worker that now serves, started
// from bin (the current binary if nil). promoted says c replaced a
// serving generation (a reload): the copy of that one becomes the
// rollback. A rollback consumes it: one step back, not a toggle.
func (m *master) keep(c *child, bin *binary, promoted bool) {
	if !m.gens.rollback {
		return
	}
	m.mu.Lock()
	if bin == nil {
		bin = m.bin
	}
	k := m.gens.kept
	m.mu.Unlock()
	if k.dir == "" || bin.build > 0 {
		return // development builds have their builder
	}
	var drop []string
	switch {
	case bin.kept && bin.path == k.cur:
		return // a respawn of the rolled-back generation
	case bin.kept:
		drop = append(drop, k.cur)
		k.cur, k.prev = bin.path, ""
	default:
		path, err := copyExecutable(k.dir, c, bin.path)
		if err != nil {
			m.log.Warn("baton: rollback: cannot keep the executable", "pid", c.pid, "err", err)
		}
		if promoted {
			drop = append(drop, k.prev)
			k.prev = k.cur
		} else {
			drop = append(drop, k.cur)
		}
		k.cur = path
	}
	m.mu.Lock()
	m.gens.kept = k
	m.mu.Unlock()
	for _, p := range drop {
		if p != "" && p != k.cur && p != k.prev {
			os.Remove(p)
		}
	}
}

// copyExecutable copies what worker c runs into dir. On Linux it reads
// /proc/<pid>/exe, the very file the worker was started from, even if a
// deploy has replaced or removed path since; elsewhere path.
func copyExecutable(dir string, c *child, path string) (string, error) {
	src := fmt.Sprintf("/proc/%d/exe", c.pid)
	if _, err := os.Stat(src); err != nil {
		src = path
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, fmt.Sprintf("gen-%d-%s", c.gen, filepath.Base(path)))
	os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return "", err
	}
	dropFilePages()
	return dst, nil
}

// rollback reloads into the previous generation's executable, or
// refuses with ErrNoRollback.
func (m *master) rollback(r request) {
	m.mu.Lock()
	prev := m.gens.kept.prev
	m.mu.Unlock()
	if prev == "" {
		err := ErrNoRollback
		if !m.gens.rollback {
			err = fmt.Errorf("%w: the master keeps no executables (%s=1, Options.Rollback, graceful.rollback)", ErrNoRollback, EnvRollback)
		}
		m.record(Event{Time: r.at, Kind: "rollback", Trigger: r.trigger, Err: err.Error()})
		m.log.Error("baton: rollback refused", "trigger", r.trigger, "err", err)
		r.answer(err)
		return
	}
	m.log.Info("baton: rolling back", "trigger", r.trigger, "executable", prev)
	r.kind, r.bin = msgReload, &binary{path: prev, kept: true}
	m.reloadAll([]request{r})
}

// reloadBinary is the binary a reload starts when nobody named one: after
// a rollback, workers respawn from the kept copy, but a reload takes the
// executable on disk again, where the next deploy goes.
func (m *master) reloadBinary(bin *binary) *binary {
	m.mu.Lock()
	defer m.mu.Unlock()
	if bin == nil && m.bin.kept {
		return &binary{path: m.exe}
	}
	return bin
}

// reloadKind is the kind of the history event of a reload into bin.
func reloadKind(bin *binary) string {
	if bin != nil && bin.kept {
		return "rollback"
	}
	return "reload"
}

// removeKept removes the copies at exit.
func (m *master) removeKept() {
	if d := m.gens.kept.dir; d != "" && strings.Contains(filepath.Base(d), "baton-rollback-") {
		os.RemoveAll(d)
	}
}
