//go:build linux

package baton_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type adminStatus struct {
	MasterPID  int `json:"master_pid"`
	WorkerPID  int `json:"worker_pid"`
	Generation int `json:"generation"`
	History    []struct {
		Kind    string `json:"kind"`
		Trigger string `json:"trigger"`
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
	} `json:"history"`
}

func (p *program) adminStatus() adminStatus {
	p.T.Helper()
	code, body, err := p.Get("/debug/admin/status")
	if err != nil || code != 200 {
		p.T.Fatalf("GET /debug/admin/status = %d %v\n%s", code, err, body)
	}
	var st adminStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		p.T.Fatalf("status JSON: %v\n%s", err, body)
	}
	return st
}

func TestAdminDrivesTheMaster(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "admin")
	install(t, build(t, "./examples/admin"), bin)
	p := startProgram(t, bin, freePort(t), "BATON_READY_TIMEOUT=5s")
	w1 := p.WaitServing(0, 30*time.Second)
	st := p.adminStatus()
	if st.MasterPID != p.PID || st.WorkerPID != w1 || st.Generation != 1 {
		t.Fatalf("status = %+v, want master %d, worker %d, generation 1", st, p.PID, w1)
	}

	if code, body, err := p.Post("/debug/admin/reload"); err != nil || code != 200 || !strings.Contains(body, "reloaded") {
		t.Fatalf("POST reload = %d %q %v", code, body, err)
	}
	w2 := p.WaitServing(w1, 30*time.Second)
	st = p.adminStatus()
	if st.WorkerPID != w2 || st.Generation != 2 || len(st.History) == 0 || st.History[0].Trigger != "admin from 127.0.0.1" || !st.History[0].OK {
		t.Errorf("status after the admin reload = %+v", st)
	}
	// The master's line names the client that asked, and the worker's
	// access line the client of each request.
	p.waitLog(`msg="baton: reload complete" trigger="admin from 127.0.0.1"`, 5*time.Second)
	p.waitLog(`path=/debug/admin/reload status=200`, 5*time.Second)
	if !regexp.MustCompile(`path=/debug/admin/reload status=200 bytes=\d+ dur=\S+ ip=127\.0\.0\.1 pid=`).MatchString(p.Log.String()) {
		t.Errorf("no access line with the client's address for the reload:\n%s", p.Log.String())
	}

	// A binary that cannot start: 500 naming the cause, the worker stays.
	install(t, build(t, "./testdata/app", "mode=exit"), bin)
	code, body, err := p.Post("/debug/admin/reload")
	if err != nil || code != 500 || !strings.Contains(body, "exited with status 3") {
		t.Errorf("POST reload into a crashing binary = %d %q %v, want 500 naming the exit status", code, body, err)
	}
	if pid, _ := p.WorkerPID(); pid != w2 {
		t.Errorf("worker after the failed reload = %d, want %d", pid, w2)
	}
	if st := p.adminStatus(); len(st.History) == 0 || st.History[0].OK || !strings.Contains(st.History[0].Error, "status 3") {
		t.Errorf("history does not record the failure: %+v", st.History)
	}

	// While a reload runs (into a binary that never becomes ready), another
	// one is refused with 409.
	install(t, build(t, "./testdata/app", "mode=hang"), bin)
	first := make(chan string, 1)
	go func() {
		code, body, err := p.Post("/debug/admin/reload")
		first <- fmt.Sprint(code, " ", body, " ", err)
	}()
	waitFor(t, "the reload to be running", 10*time.Second, func() bool {
		_, body, err := p.Get("/debug/admin/status")
		return err == nil && strings.Contains(body, `"reloading": true`)
	})
	if code, body, err := p.Post("/debug/admin/reload"); err != nil || code != 409 {
		t.Errorf("POST reload during a reload = %d %q %v, want 409", code, body, err)
	}
	if got := <-first; !strings.HasPrefix(got, "500 ") || !strings.Contains(got, "not ready") {
		t.Errorf("the reload into a hanging binary = %q, want 500 naming the timeout", got)
	}

	if code, body, err := p.Post("/debug/admin/shutdown"); err != nil || code != 202 {
		t.Errorf("POST shutdown = %d %q %v, want 202", code, body, err)
	}
	if code := p.WaitExit(30 * time.Second); code != 0 {
		t.Errorf("exit code after the admin shutdown = %d, want 0", code)
	}
}
