package browser

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCleanupKillsEverything checks that Start's cleanup leaves no Chromium
// process (renderers included) and no temporary files behind.
func TestCleanupKillsEverything(t *testing.T) {
	Require(t)
	var pid int
	var dir string
	t.Run("browser", func(t *testing.T) {
		b := Start(t)
		pid, dir = b.cmd.Process.Pid, b.dir
		p := b.NewPage(t)
		if err := p.Navigate("data:text/html,<p>hi</p>"); err != nil {
			t.Fatal(err)
		}
		if live := liveInGroup(t, pid); len(live) < 2 {
			t.Fatalf("process group %d holds %v, want Chromium and its helpers", pid, live)
		}
	})
	if pid == 0 {
		t.Fatal("the browser did not start")
	}
	// Killed processes leave zombies until reaped; give them a moment.
	var live []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if live = liveInGroup(t, pid); len(live) == 0 {
			break
		}
	}
	if len(live) != 0 {
		t.Errorf("after cleanup, process group %d still runs %v", pid, live)
	}
	if strays := processesNaming(dir); len(strays) != 0 {
		t.Errorf("after cleanup, processes %v still name %s", strays, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after cleanup, Stat(%q) error = %v, want not exist", dir, err)
	}
}

// liveInGroup lists the processes of process group pgid that are not
// zombies, from /proc.
func liveInGroup(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		if processState(stat) == 'Z' {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			live = append(live, pid)
		}
	}
	return live
}
