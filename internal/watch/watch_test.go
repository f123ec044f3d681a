package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/kubetest"
)

// collect returns Options that send each change to a channel.
func collect() (Options, chan string) {
	ch := make(chan string, 64)
	return Options{OnChange: func(p string) { ch <- p }}, ch
}

// next returns the next change, failing after d.
func next(t *testing.T, ch chan string, d time.Duration) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(d):
		t.Fatalf("no change reported within %v", d)
		return ""
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWatcherSkipsIgnored writes an editor's swap file, then the real
// file: only the real file is reported, with events and with polling.
func TestWatcherSkipsIgnored(t *testing.T) {
	for _, poll := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run("poll="+poll.String(), func(t *testing.T) {
			dir := t.TempDir()
			o, ch := collect()
			o.Poll = poll
			w, err := New([]string{dir}, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			if w.Polling() != (poll > 0) {
				t.Fatalf("Polling() = %v, want %v", w.Polling(), poll > 0)
			}
			write(t, filepath.Join(dir, ".main.go.swp"), "x")
			write(t, filepath.Join(dir, "main.go~"), "x")
			real := filepath.Join(dir, "main.go")
			write(t, real, "package main")
			if got := next(t, ch, 5*time.Second); got != real {
				t.Fatalf("first change = %q, want %q", got, real)
			}
		})
	}
}

// TestWatcherTrees sees a file in a subdirectory made after the watch
// started.
func TestWatcherTrees(t *testing.T) {
	for _, poll := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run("poll="+poll.String(), func(t *testing.T) {
			root := t.TempDir()
			o, ch := collect()
			o.Trees, o.Poll = true, poll
			w, err := New([]string{root}, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			sub := filepath.Join(root, "css")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			// With events the directory's own creation comes first; wait
			// for the file.
			f := filepath.Join(sub, "site.css")
			deadline := time.Now().Add(5 * time.Second)
			for i := 0; ; i++ {
				write(t, f, "body{}"+string(rune('a'+i%26)))
				select {
				case p := <-ch:
					if p == f {
						return
					}
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("no change of %s reported", f)
				}
			}
		})
	}
}

// TestWatcherName reports only the named file, even an ignored-looking
// one, and with Chmod a change of its mode alone.
func TestWatcherName(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app.tmp")
	write(t, bin, "x") // before the watch: its only event is the chmod
	o, ch := collect()
	o.Name, o.Chmod = "app.tmp", true
	w, err := New(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "other"), "x")
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch, 5*time.Second); got != bin {
		t.Fatalf("change = %q, want %q", got, bin)
	}
}

// TestWatcherAddMissing reports the error of watching a directory that
// does not exist.
func TestWatcherAddMissing(t *testing.T) {
	w, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Add of a missing directory: no error")
	}
}

// TestFilesComparesContent reports a rename-save that changes the content
// and stays silent for a touch.
func TestFilesComparesContent(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	write(t, cfg, "a: 1\n")
	ch := make(chan []string, 8)
	fw, err := NewFiles(20*time.Millisecond, func(c []string) { ch <- c })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	if err := fw.Add(cfg); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(cfg, now, now); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "config.yaml.tmp")
	write(t, tmp, "a: 2\n")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if len(c) != 1 || c[0] != cfg {
			t.Fatalf("changed = %q, want [%q]", c, cfg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the rename-save was not reported")
	}
	select {
	case c := <-ch:
		t.Fatalf("a second report %q for one change", c)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestFilesKubernetesMount follows a file of a ConfigMap volume through
// two updates, each swapping the ..data symlink and removing the old
// version's directory, as the kubelet does.
func TestFilesKubernetesMount(t *testing.T) {
	m := kubetest.New(t, t.TempDir(), map[string]string{"config.yaml": "v: 1\n", "other.yaml": "o: 1\n"})
	ch := make(chan []string, 8)
	fw, err := NewFiles(20*time.Millisecond, func(changed []string) { ch <- changed })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	if err := fw.Add(m.Path("config.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2", "3"} {
		m.Update(map[string]string{"config.yaml": "v: " + v + "\n", "other.yaml": "o: 1\n"})
		select {
		case got := <-ch:
			if len(got) != 1 || got[0] != m.Path("config.yaml") {
				t.Fatalf("changed = %q, want [%q]", got, m.Path("config.yaml"))
			}
			if b, _ := os.ReadFile(m.Path("config.yaml")); string(b) != "v: "+v+"\n" {
				t.Fatalf("after update %s the file reads %q", v, b)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("update %s of the mount not seen", v)
		}
	}
}
