//go:build linux

package baton_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/browser"
)

// TestChatPageSurvivesReload drives the chat page of examples/websocket in
// headless Chromium across a reload: the page must reconnect by itself to
// the new worker (it shows the worker pid), deliver a message sent after
// the reload, and still show the one sent before. Screenshots of both
// states go to browser.ArtifactDir.
//
//	go test -tags browser -run TestChatPageSurvivesReload -v .
func TestChatPageSurvivesReload(t *testing.T) {
	browser.Require(t)
	p := startProgram(t, build(t, "./examples/websocket"), freePort(t))
	old := p.WaitServing(0, 30*time.Second)

	page := browser.Start(t).NewPage(t)
	if err := page.Navigate(p.URL("/")); err != nil {
		t.Fatalf("open the chat page: %v", err)
	}
	connectedTo := func(pid int) string {
		return fmt.Sprintf("window.chat && window.chat.connected && window.chat.pid === %d", pid)
	}
	if err := page.WaitFor(connectedTo(old), 10*time.Second); err != nil {
		t.Fatalf("page did not connect to worker %d: %v", old, err)
	}
	send := func(text string) {
		t.Helper()
		q, _ := json.Marshal(text)
		if err := page.Eval(`document.getElementById("text").value = `+string(q), nil); err != nil {
			t.Fatalf("type %q: %v", text, err)
		}
		if err := page.Click("#send"); err != nil {
			t.Fatalf("click Send: %v", err)
		}
		cond := fmt.Sprintf("window.chat.messages.includes(%s)", q)
		if err := page.WaitFor(cond, 10*time.Second); err != nil {
			t.Fatalf("message %q did not come back through the hub: %v", text, err)
		}
	}
	dir := browser.ArtifactDir(t)
	send("sent to the old worker")
	if err := page.Screenshot(filepath.Join(dir, "chat-before-reload.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}

	p.Signal(syscall.SIGUSR1)
	cur := p.WaitServing(old, 30*time.Second)
	if err := page.WaitFor(connectedTo(cur), 10*time.Second); err != nil {
		t.Fatalf("page did not reconnect to the new worker %d: %v", cur, err)
	}
	if got, err := page.Text("#pid"); err != nil || strings.TrimSpace(got) != strconv.Itoa(cur) {
		t.Errorf("worker pid shown = %q, %v; want %d", got, err, cur)
	}
	send("sent to the new worker")

	log, err := page.Text("#log")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sent to the old worker", "reconnected to worker " + strconv.Itoa(cur), "sent to the new worker"} {
		if !strings.Contains(log, want) {
			t.Errorf("chat log lacks %q:\n%s", want, log)
		}
	}
	var connects int
	if err := page.Eval("window.chat.connects", &connects); err != nil || connects != 2 {
		t.Errorf("connections made = %d, %v; want 2 (one per worker)", connects, err)
	}
	if err := page.Screenshot(filepath.Join(dir, "chat-after-reload.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// TestClockPageSurvivesReload drives the page of examples/sse: its
// EventSource must get the bye event of the old worker and stream from the
// new one, without a second stream from the old worker on the way.
func TestClockPageSurvivesReload(t *testing.T) {
	browser.Require(t)
	p := startProgram(t, build(t, "./examples/sse"), freePort(t))
	old := p.WaitServing(0, 30*time.Second)

	page := browser.Start(t).NewPage(t)
	if err := page.Navigate(p.URL("/")); err != nil {
		t.Fatalf("open the clock page: %v", err)
	}
	showsPID := func(pid int) string {
		return fmt.Sprintf(`document.getElementById("pid").textContent === "%d"`, pid)
	}
	if err := page.WaitFor(showsPID(old), 10*time.Second); err != nil {
		t.Fatalf("page did not stream from worker %d: %v", old, err)
	}
	p.Signal(syscall.SIGUSR1)
	cur := p.WaitServing(old, 30*time.Second)
	if err := page.WaitFor(showsPID(cur), 10*time.Second); err != nil {
		t.Fatalf("page did not stream from the new worker %d: %v", cur, err)
	}
	log, err := page.Text("#log")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("connected to worker %d\nworker %d is restarting\nconnected to worker %d", old, old, cur)
	if strings.TrimSpace(log) != want {
		t.Errorf("page log:\n%s\nwant:\n%s", log, want)
	}
	if err := page.Screenshot(filepath.Join(browser.ArtifactDir(t), "clock-after-reload.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}
