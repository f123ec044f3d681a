// Package kubetest lays out a directory as the kubelet mounts a ConfigMap
// or Secret volume, and updates it as the kubelet does, for the tests of
// the watchers that must follow such a mount:
//
//	dir/..2026_12_02_14_05_01.000000001/config.yaml   the data of one version
//	dir/..data -> ..2026_12_02_14_05_01.000000001     the version in force
//	dir/config.yaml -> ..data/config.yaml             what the program opens
//
// An update writes the new version into a new timestamped directory,
// points a new symlink ..data_tmp at it, renames that over ..data (the
// one atomic step) and removes the old version's directory.
package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Mount is a ConfigMap volume in a directory.
type Mount struct {
	t   testing.TB
	Dir string
	cur string // the timestamped directory in force
	n   int
}

// New makes the mount in dir with files (name -> content) as its first
// version.
func New(t testing.TB, dir string, files map[string]string) *Mount {
	t.Helper()
	m := &Mount{t: t, Dir: dir}
	m.cur = m.writeVersion(files)
	if err := os.Symlink(m.cur, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Path returns the path a program opens for name.
func (m *Mount) Path(name string) string { return filepath.Join(m.Dir, name) }

// Update swaps in a new version holding files, which must have the names
// of the first version.
func (m *Mount) Update(files map[string]string) {
	m.t.Helper()
	next := m.writeVersion(files)
	tmp := filepath.Join(m.Dir, "..data_tmp")
	if err := os.Symlink(next, tmp); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Dir, "..data")); err != nil {
		m.t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(m.Dir, m.cur)); err != nil {
		m.t.Fatal(err)
	}
	m.cur = next
}

// writeVersion writes files into a new timestamped directory and returns
// its name.
func (m *Mount) writeVersion(files map[string]string) string {
	m.t.Helper()
	m.n++
	name := time.Now().UTC().Format("..2006_01_02_15_04_05.") + fmt.Sprintf("%09d", m.n)
	d := filepath.Join(m.Dir, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
			m.t.Fatal(err)
		}
	}
	return name
}
