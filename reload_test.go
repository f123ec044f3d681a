//go:build linux

package baton_test

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/proctest"
	"github.com/baton-go/baton/internal/selfsigned"
)

func TestReloadServesNewBinary(t *testing.T) {
	v1 := build(t, "./examples/hello", "greeting=version one")
	v2 := build(t, "./examples/hello", "greeting=version two")
	bin := filepath.Join(t.TempDir(), "hello")
	install(t, v1, bin)
	p := startProgram(t, bin, freePort(t))
	w1 := p.WaitServing(0, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "version one" {
		t.Fatalf("GET / = %q before the reload", body)
	}
	install(t, v2, bin)
	p.Signal(syscall.SIGUSR1)
	w2 := p.WaitServing(w1, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "version two" {
		t.Errorf("GET / = %q after the reload, want the new binary's answer", body)
	}
	if proctest.Gone(p.PID) {
		t.Fatal("master died")
	}
	waitFor(t, "the old worker to exit and be reaped", 30*time.Second, func() bool { return proctest.Reaped(w1) })
	if k := proctest.Children(p.PID); len(k) != 1 || k[0].PID != w2 {
		t.Errorf("children of the master = %v, want [%d]", k, w2)
	}
	if w1 == p.PID || w2 == p.PID {
		t.Errorf("the master %d serves requests itself", p.PID)
	}
}

func TestLongRequestFinishesOnOldWorker(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	old := p.WaitServing(0, 30*time.Second)
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	before := sockets(old)
	go func() {
		code, body, err := p.Get("/sleep?ms=3000")
		done <- result{code, body, err}
	}()
	waitFor(t, "the old worker to accept the long request", 10*time.Second, func() bool {
		return acceptedSince(old, before)
	})
	p.Signal(syscall.SIGUSR1)
	p.WaitServing(old, 30*time.Second)
	r := <-done
	if r.err != nil || r.code != 200 || r.body != fmt.Sprintf("slept 3000 ms in %d", old) {
		t.Errorf("long request across a reload = %d %q %v, want 200 from the old worker %d", r.code, r.body, r.err, old)
	}
}

// sockets returns the socket inodes process pid holds.
func sockets(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	set := map[string]bool{}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			set[l] = true
		}
	}
	return set
}

// acceptedSince reports whether pid holds a socket that is not in before:
// the connection of a request it accepted.
func acceptedSince(pid int, before map[string]bool) bool {
	for s := range sockets(pid) {
		if !before[s] {
			return true
		}
	}
	return false
}

func TestBadBinariesKeepTheOldWorker(t *testing.T) {
	good := build(t, "./testdata/app", "greeting=good")
	good2 := build(t, "./testdata/app", "greeting=good two")
	bin := filepath.Join(t.TempDir(), "app")
	install(t, good, bin)
	p := startProgram(t, bin, freePort(t), "BATON_READY_TIMEOUT=2s")
	serving := p.WaitServing(0, 30*time.Second)

	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.Port), "/pid", 2, 3*time.Minute)
	cases := []struct{ mode, cause string }{
		{"exit", "status 3"},
		{"panic", "boom: bad build"},
		{"nostart", "load HTTPS pair"},
		{"hang", "not ready"},
	}
	for _, c := range cases {
		install(t, build(t, "./testdata/app", "mode="+c.mode), bin)
		code, body, err := p.Post("/reload")
		if err != nil || code != 500 || !strings.Contains(body, c.cause) {
			t.Errorf("reload into a %q binary = %d %q %v, want 500 naming %q", c.mode, code, body, err, c.cause)
		}
		if pid, err := p.WorkerPID(); err != nil || pid != serving {
			t.Errorf("after the %q binary the worker is %d (%v), want the old one %d", c.mode, pid, err, serving)
		}
		waitFor(t, "the failed worker to be reaped", 10*time.Second, func() bool {
			k := proctest.Children(p.PID)
			return len(k) == 1 && k[0].PID == serving
		})
		if !strings.Contains(p.Log.String(), c.cause) {
			t.Errorf("the log does not state the cause %q", c.cause)
		}
	}
	install(t, good2, bin)
	if code, body, err := p.Post("/reload"); err != nil || code != 200 || body != "reloaded" {
		t.Errorf("reload into a good binary = %d %q %v", code, body, err)
	}
	p.WaitServing(serving, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "good two" {
		t.Errorf("GET / = %q after the good reload", body)
	}
	for kind, ss := range l.finish() {
		for _, s := range ss {
			if s.fail != "" {
				t.Errorf("%s request failed during the bad reloads: %s", kind, s.fail)
				break
			}
		}
	}
}

func certFingerprint(t *testing.T, addr string) [32]byte {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer c.Close()
	return sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
}

func TestReloadHandsOverEveryListener(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	port2, port3 := freePort(t), freePort(t)
	p := startProgram(t, build(t, "./testdata/app"), freePort(t),
		"PORT2="+strconv.Itoa(port2), "PORT3="+strconv.Itoa(port3), "CERT="+cert, "KEY="+key)
	old := p.WaitServing(0, 30*time.Second)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", port3)
	// The servers start one after the other: the first one answering does
	// not mean the HTTPS one listens yet.
	waitFor(t, "the HTTPS server to listen", 30*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", tlsAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	before := certFingerprint(t, tlsAddr)

	// Renew the certificate on disk; the new worker must read it.
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGUSR1)
	cur := p.WaitServing(old, 30*time.Second)
	waitFor(t, "the old worker to exit and be reaped", 30*time.Second, func() bool { return proctest.Reaped(old) })

	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true, DisableKeepAlives: true}}
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", port2),
		fmt.Sprintf("https://127.0.0.1:%d/", port3),
	} {
		resp, err := insecure.Get(u)
		if err != nil {
			t.Fatalf("GET %s after the reload: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), fmt.Sprintf("second app %d", cur)) {
			t.Errorf("GET %s = %q, want an answer from the new worker %d", u, b, cur)
		}
	}
	if after := certFingerprint(t, tlsAddr); after == before {
		t.Error("the new worker serves the old certificate: files were not re-read")
	}
}

func TestShutdownSignalsFinishInFlight(t *testing.T) {
	bin := build(t, "./examples/hello")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startProgram(t, bin, freePort(t))
			w := p.WaitServing(0, 30*time.Second)
			done := make(chan string, 1)
			before := sockets(w)
			go func() {
				code, body, err := p.Get("/sleep?ms=700")
				done <- fmt.Sprint(code, " ", body, " ", err)
			}()
			waitFor(t, "the worker to accept the request", 10*time.Second, func() bool { return acceptedSince(w, before) })
			p.Signal(sig)
			if got, want := <-done, fmt.Sprintf("200 slept 700 ms in %d <nil>", w); got != want {
				t.Errorf("in-flight request = %q, want %q", got, want)
			}
			if code := p.WaitExit(30 * time.Second); code != 0 {
				t.Errorf("exit code after %v = %d, want 0", sig, code)
			}
			if !proctest.Gone(w) {
				t.Errorf("worker %d outlived the master", w)
			}
		})
	}
}

func TestWorkerKilledIsReplaced(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	w := p.WaitServing(0, 30*time.Second)
	start := time.Now()
	syscall.Kill(w, syscall.SIGKILL)
	nw := p.WaitServing(w, 10*time.Second)
	took := time.Since(start)
	t.Logf("worker %d killed, %d serving after %v", w, nw, took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("replacement took %v", took)
	}
	if z := proctest.Zombies(p.PID); len(z) > 0 {
		t.Errorf("zombies %v", z)
	}
}

func TestMasterKilledLeavesNoWorker(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	w := p.WaitServing(0, 30*time.Second)
	syscall.Kill(p.PID, syscall.SIGKILL)
	waitFor(t, "the orphaned worker to exit", 40*time.Second, func() bool { return proctest.Gone(w) })
	waitFor(t, "the port to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestFirstWorkerFailureEndsTheMaster(t *testing.T) {
	p := startProgram(t, build(t, "./testdata/app", "mode=nostart"), freePort(t))
	if code := p.WaitExit(30 * time.Second); code == 0 {
		t.Errorf("master exit code = 0, want non-zero")
	}
	if !strings.Contains(p.Log.String(), "load HTTPS pair") {
		t.Errorf("log does not name the cause:\n%s", p.Log.String())
	}
}

func TestRestartKeepsPidAndSockets(t *testing.T) {
	v2 := build(t, "./testdata/app", "greeting=restarted")
	bin := filepath.Join(t.TempDir(), "app")
	install(t, build(t, "./testdata/app"), bin)
	p := startProgram(t, bin, freePort(t))
	w := p.WaitServing(0, 30*time.Second)
	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.Port), "/pid", 3, 3*time.Minute)
	install(t, v2, bin)
	p.Signal(syscall.SIGUSR2)
	nw := p.WaitServing(w, 30*time.Second)
	if _, body, _ := p.Get("/"); body != "restarted" {
		t.Errorf("GET / after restart = %q", body)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID)); !strings.HasPrefix(exe, bin) {
		t.Errorf("master runs %q, want the binary on disk %q", exe, bin)
	}
	// A restart asked for by a handler works the same way.
	if code, body, err := p.Post("/restart"); err != nil || code != 200 {
		t.Errorf("POST /restart = %d %q %v", code, body, err)
	}
	p.WaitServing(nw, 30*time.Second)
	for kind, ss := range l.finish() {
		for _, s := range ss {
			if s.fail != "" {
				t.Errorf("%s request failed across the restart: %s", kind, s.fail)
				break
			}
		}
	}
	if proctest.Gone(p.PID) {
		t.Error("master pid changed across the restart")
	}
}

func TestGoRunThenReload(t *testing.T) {
	if testing.Short() {
		t.Skip("go run compiles hello")
	}
	port := freePort(t)
	p := &program{proctest.Start(t, proctest.Config{
		Argv: []string{"go", "run", "./examples/hello"},
		Env:  []string{"PORT=" + strconv.Itoa(port)},
		Port: port,
	})}
	w := p.WaitServing(0, 2*time.Minute)
	// The master is the program go run started: the worker's parent.
	st, _ := proctest.Stat(w)
	master := st.PPID
	if st, _ := proctest.Stat(master); st.PPID != p.PID {
		t.Fatalf("worker %d's parent %d is not go run's child", w, master)
	}
	syscall.Kill(master, syscall.SIGUSR1)
	nw := p.WaitServing(w, 30*time.Second)
	if st, _ := proctest.Stat(nw); st.PPID != master {
		t.Errorf("new worker %d's parent = %d, want the master %d", nw, st.PPID, master)
	}
}
