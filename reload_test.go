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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/selfsigned"
)

func TestReloadServesNewBinary(t *testing.T) {
	v1 := build(t, "./examples/hello", "greeting=version one")
	v2 := build(t, "./examples/hello", "greeting=version two")
	bin := filepath.Join(t.TempDir(), "hello")
	install(t, v1, bin)
	p := startProgram(t, bin, freePort(t))
	w1 := p.waitServing(0, 30*time.Second)
	if _, body, _ := p.get("/"); body != "version one" {
		t.Fatalf("GET / = %q before the reload", body)
	}
	install(t, v2, bin)
	p.signal(syscall.SIGUSR1)
	w2 := p.waitServing(w1, 30*time.Second)
	if _, body, _ := p.get("/"); body != "version two" {
		t.Errorf("GET / = %q after the reload, want the new binary's answer", body)
	}
	if !alive(p.pid) {
		t.Fatal("master died")
	}
	waitFor(t, "the old worker to exit and be reaped", 30*time.Second, func() bool { return reaped(w1) })
	if k := children(p.pid); len(k) != 1 || k[0] != w2 {
		t.Errorf("children of the master = %v, want [%d]", k, w2)
	}
	if w1 == p.pid || w2 == p.pid {
		t.Errorf("the master %d serves requests itself", p.pid)
	}
}

func TestLongRequestFinishesOnOldWorker(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	old := p.waitServing(0, 30*time.Second)
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, body, err := p.get("/sleep?ms=3000")
		done <- result{code, body, err}
	}()
	waitFor(t, "the old worker to accept the long request", 10*time.Second, func() bool {
		return accepted(t, old, p.port) >= 1
	})
	p.signal(syscall.SIGUSR1)
	p.waitServing(old, 30*time.Second)
	r := <-done
	if r.err != nil || r.code != 200 || r.body != fmt.Sprintf("slept 3000 ms in %d", old) {
		t.Errorf("long request across a reload = %d %q %v, want 200 from the old worker %d", r.code, r.body, r.err, old)
	}
}

// accepted counts the established connections to port that process pid
// holds: a request has reached that worker once it is at least 1.
func accepted(t *testing.T, pid, port int) int {
	out, _ := os.ReadFile("/proc/net/tcp")
	out6, _ := os.ReadFile("/proc/net/tcp6")
	hexPort := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(out)+string(out6), "\n") {
		// After the load tests the tables hold tens of thousands of
		// TIME_WAIT lines: splitting each one is slow enough (under -race)
		// to miss a short request.
		if !strings.Contains(line, hexPort) {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 9 && strings.HasSuffix(f[1], hexPort) && f[3] == "01" {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && inodes[l] {
			n++
		}
	}
	return n
}

func TestBadBinariesKeepTheOldWorker(t *testing.T) {
	good := build(t, "./testdata/app", "greeting=good")
	good2 := build(t, "./testdata/app", "greeting=good two")
	bin := filepath.Join(t.TempDir(), "app")
	install(t, good, bin)
	p := startProgram(t, bin, freePort(t), "BATON_READY_TIMEOUT=2s")
	serving := p.waitServing(0, 30*time.Second)

	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.port), "/pid", 2, 3*time.Minute)
	cases := []struct{ mode, cause string }{
		{"exit", "status 3"},
		{"panic", "boom: bad build"},
		{"nostart", "load HTTPS pair"},
		{"hang", "not ready"},
	}
	for _, c := range cases {
		install(t, build(t, "./testdata/app", "mode="+c.mode), bin)
		code, body, err := p.post("/reload")
		if err != nil || code != 500 || !strings.Contains(body, c.cause) {
			t.Errorf("reload into a %q binary = %d %q %v, want 500 naming %q", c.mode, code, body, err, c.cause)
		}
		if pid, err := p.workerPID(); err != nil || pid != serving {
			t.Errorf("after the %q binary the worker is %d (%v), want the old one %d", c.mode, pid, err, serving)
		}
		waitFor(t, "the failed worker to be reaped", 10*time.Second, func() bool {
			k := children(p.pid)
			return len(k) == 1 && k[0] == serving
		})
		if !strings.Contains(p.log(), c.cause) {
			t.Errorf("the log does not state the cause %q", c.cause)
		}
	}
	install(t, good2, bin)
	if code, body, err := p.post("/reload"); err != nil || code != 200 || body != "reloaded" {
		t.Errorf("reload into a good binary = %d %q %v", code, body, err)
	}
	p.waitServing(serving, 30*time.Second)
	if _, body, _ := p.get("/"); body != "good two" {
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
	old := p.waitServing(0, 30*time.Second)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", port3)
	before := certFingerprint(t, tlsAddr)

	// Renew the certificate on disk; the new worker must read it.
	if err := selfsigned.Write(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGUSR1)
	cur := p.waitServing(old, 30*time.Second)
	waitFor(t, "the old worker to exit and be reaped", 30*time.Second, func() bool { return reaped(old) })

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
			w := p.waitServing(0, 30*time.Second)
			done := make(chan string, 1)
			go func() {
				code, body, err := p.get("/sleep?ms=700")
				done <- fmt.Sprint(code, " ", body, " ", err)
			}()
			waitFor(t, "the worker to accept the request", 10*time.Second, func() bool { return accepted(t, w, p.port) >= 1 })
			p.signal(sig)
			if got, want := <-done, fmt.Sprintf("200 slept 700 ms in %d <nil>", w); got != want {
				t.Errorf("in-flight request = %q, want %q", got, want)
			}
			if code := p.waitExit(30 * time.Second); code != 0 {
				t.Errorf("exit code after %v = %d, want 0", sig, code)
			}
			if alive(w) {
				t.Errorf("worker %d outlived the master", w)
			}
		})
	}
}

func TestWorkerKilledIsReplaced(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	w := p.waitServing(0, 30*time.Second)
	start := time.Now()
	syscall.Kill(w, syscall.SIGKILL)
	nw := p.waitServing(w, 10*time.Second)
	took := time.Since(start)
	t.Logf("worker %d killed, %d serving after %v", w, nw, took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("replacement took %v", took)
	}
	if z := zombies(p.pid); len(z) > 0 {
		t.Errorf("zombies %v", z)
	}
}

func TestMasterKilledLeavesNoWorker(t *testing.T) {
	p := startProgram(t, build(t, "./examples/hello"), freePort(t))
	w := p.waitServing(0, 30*time.Second)
	syscall.Kill(p.pid, syscall.SIGKILL)
	waitFor(t, "the orphaned worker to exit", 40*time.Second, func() bool { return !alive(w) })
	waitFor(t, "the port to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestFirstWorkerFailureEndsTheMaster(t *testing.T) {
	p := startProgram(t, build(t, "./testdata/app", "mode=nostart"), freePort(t))
	if code := p.waitExit(30 * time.Second); code == 0 {
		t.Errorf("master exit code = 0, want non-zero")
	}
	if !strings.Contains(p.log(), "load HTTPS pair") {
		t.Errorf("log does not name the cause:\n%s", p.log())
	}
}

func TestRestartKeepsPidAndSockets(t *testing.T) {
	v2 := build(t, "./testdata/app", "greeting=restarted")
	bin := filepath.Join(t.TempDir(), "app")
	install(t, build(t, "./testdata/app"), bin)
	p := startProgram(t, bin, freePort(t))
	w := p.waitServing(0, 30*time.Second)
	l := startLoad(fmt.Sprintf("127.0.0.1:%d", p.port), "/pid", 3, 3*time.Minute)
	install(t, v2, bin)
	p.signal(syscall.SIGUSR2)
	nw := p.waitServing(w, 30*time.Second)
	if _, body, _ := p.get("/"); body != "restarted" {
		t.Errorf("GET / after restart = %q", body)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid)); !strings.HasPrefix(exe, bin) {
		t.Errorf("master runs %q, want the binary on disk %q", exe, bin)
	}
	// A restart asked for by a handler works the same way.
	if code, body, err := p.post("/restart"); err != nil || code != 200 {
		t.Errorf("POST /restart = %d %q %v", code, body, err)
	}
	p.waitServing(nw, 30*time.Second)
	for kind, ss := range l.finish() {
		for _, s := range ss {
			if s.fail != "" {
				t.Errorf("%s request failed across the restart: %s", kind, s.fail)
				break
			}
		}
	}
	if !alive(p.pid) {
		t.Error("master pid changed across the restart")
	}
}

func TestGoRunThenReload(t *testing.T) {
	if testing.Short() {
		t.Skip("go run compiles hello")
	}
	port := freePort(t)
	cmd := exec.Command("go", "run", "./examples/hello")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	logPath := filepath.Join(t.TempDir(), "out.log")
	logf, _ := os.Create(logPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range descendants(cmd.Process.Pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		logf.Close()
	})
	p := &program{t: t, port: port, exit: make(chan struct{}), logPath: logPath}
	w := p.waitServing(0, 2*time.Minute)
	// The master is the program go run started: the worker's parent.
	master, _, _ := procStat(w)
	if pp, _, _ := procStat(master); pp != cmd.Process.Pid {
		t.Fatalf("worker %d's parent %d is not go run's child", w, master)
	}
	syscall.Kill(master, syscall.SIGUSR1)
	nw := p.waitServing(w, 30*time.Second)
	if pp, _, _ := procStat(nw); pp != master {
		t.Errorf("new worker %d's parent = %d, want the master %d", nw, pp, master)
	}
}
