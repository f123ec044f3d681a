//go:build linux

package baton_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
)

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func TestConfigHotReload(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	p1, p2 := freePort(t), freePort(t)
	file := func(port int, greeting string) string {
		return fmt.Sprintf("server:\n  address: \"127.0.0.1:%d\"\n  accessLog: false\napp:\n  greeting: %s\n", port, greeting)
	}
	writeConfig(t, cfg, file(p1, "one"))
	p := startProgram(t, build(t, "./testdata/app"), p1, "PORT=", "BATON_CONFIG="+cfg)
	w := p.WaitServing(0, 30*time.Second)
	greeting := func() string {
		_, body, _ := p.Get("/cfg?key=app.greeting")
		return body
	}
	if g := greeting(); g != "one" {
		t.Fatalf("greeting = %q, want one", g)
	}

	// A value changes in place: no new worker, the callback runs.
	writeConfig(t, cfg, file(p1, "two"))
	waitFor(t, "the new value", 10*time.Second, func() bool { return greeting() == "two" })
	p.waitLog(`app: config changed "one" -> "two"`, 10*time.Second)
	if pid, _ := p.WorkerPID(); pid != w {
		t.Errorf("worker changed from %d to %d for a value change", w, pid)
	}

	// Garbage is rejected and the running configuration stays.
	writeConfig(t, cfg, "server:\n  address: [oops\n")
	p.waitLog("config rejected", 10*time.Second)
	if !strings.Contains(p.Log.String(), cfg+":") {
		t.Errorf("the rejection does not name the file:\n%s", p.Log.String())
	}
	if g := greeting(); g != "two" {
		t.Errorf("after garbage greeting = %q, want two", g)
	}

	// A new port takes a graceful reload; the old port is closed.
	writeConfig(t, cfg, file(p2, "three"))
	p.Port = p2
	nw := p.WaitServing(w, 30*time.Second)
	if g := greeting(); g != "three" {
		t.Errorf("greeting on the new port = %q", g)
	}
	waitFor(t, "the old port to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p1), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if proctest.Gone(p.PID) || nw == w {
		t.Error("the port change did not reload under the same master")
	}
}

func TestInvalidConfigAtStartStopsTheProgram(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, cfg, "server:\n  address: \":1\"\n  drainTimeout: soon\n")
	p := startProgram(t, build(t, "./testdata/app"), freePort(t), "PORT=", "BATON_CONFIG="+cfg)
	if code := p.WaitExit(30 * time.Second); code == 0 {
		t.Error("the master exited 0 with an invalid configuration")
	}
	if want := cfg + ":3: server.drainTimeout"; !strings.Contains(p.Log.String(), want) {
		t.Errorf("the log does not name %q:\n%s", want, p.Log.String())
	}
}

// TestConfigGracefulOff starts a program whose configuration file turns
// the master off: the process the user started serves by itself.
func TestConfigGracefulOff(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeConfig(t, cfg, "graceful:\n  enabled: false\n")
	p := startProgram(t, build(t, "./examples/hello"), freePort(t), "BATON_CONFIG="+cfg)
	var pid int
	waitFor(t, "the program to serve", 30*time.Second, func() bool {
		var err error
		pid, err = p.WorkerPID()
		return err == nil
	})
	if pid != p.PID {
		t.Errorf("GET /pid = %d, want the process started, %d (no master)", pid, p.PID)
	}
	if kids := proctest.Children(p.PID); len(kids) != 0 {
		t.Errorf("the program has children %v, want none", kids)
	}
}
