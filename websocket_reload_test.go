//go:build linux

package baton_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/internal/proctest"
	"github.com/gorilla/websocket"
)

// Process tests of long-lived clients across reloads: WebSockets of
// examples/websocket and Server-Sent Events of examples/sse.

// streamEnd is a stream of a worker that ended, as a client saw it.
type streamEnd struct {
	pid  int       // the worker that served the stream
	at   time.Time // when the client saw the close frame, or the end of the body
	recv time.Time // when the client's kernel received the close frame
	code int       // WebSocket close code
	text string    // WebSocket close reason
}

// stampConn is a client TCP connection that records when the kernel
// received the data each Read returns (SO_TIMESTAMPNS), so that a receive
// time does not include the delays of this process's scheduler, which a
// loaded machine and the race detector make long.
type stampConn struct {
	*net.TCPConn
	raw syscall.RawConn

	mu   sync.Mutex
	last time.Time // kernel receive time of the data of the latest Read
}

func dialStamped(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	raw, err := tc.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	return &stampConn{TCPConn: tc, raw: raw}, nil
}

func (c *stampConn) Read(p []byte) (int, error) {
	oob := make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	if msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn]); perr == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := *(*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				c.mu.Lock()
				c.last = time.Unix(ts.Unix())
				c.mu.Unlock()
			}
		}
	}
	return n, nil
}

// lastReceived returns the kernel receive time of the latest data read.
func (c *stampConn) lastReceived() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// wsClient holds one WebSocket to /ws/echo, sending a message every 50 ms
// and reconnecting as soon as a session ends, until stopped.
type wsClient struct {
	url string

	mu       sync.Mutex
	hellos   []int // worker pid of each session, from "hello <pid>"
	ends     []streamEnd
	echoes   int
	problems []string
}

func (c *wsClient) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// lastHello returns the pid of the current session.
func (c *wsClient) lastHello() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hellos) == 0 {
		return 0
	}
	return c.hellos[len(c.hellos)-1]
}

func (c *wsClient) run(stop <-chan struct{}) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: dialStamped}
	for {
		select {
		case <-stop:
			return
		default:
		}
		conn, _, err := d.Dial(c.url, nil)
		if err != nil {
			c.problem("dial: %v", err)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond): // a client's backoff
			}
			continue
		}
		c.session(conn, stop)
	}
}

func (c *wsClient) session(conn *websocket.Conn, stop <-chan struct{}) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := conn.ReadMessage()
	pid, perr := 0, error(nil)
	if err == nil {
		s, ok := strings.CutPrefix(string(msg), "hello ")
		if pid, perr = strconv.Atoi(s); !ok || perr != nil {
			err = fmt.Errorf("greeting %q", msg)
		}
	}
	if err != nil {
		c.problem("first message: %v", err)
		return
	}
	c.mu.Lock()
	c.hellos = append(c.hellos, pid)
	c.mu.Unlock()

	done := make(chan struct{})
	defer close(done)
	stopping := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-stop:
				close(stopping)
				conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				return
			case <-tick.C:
				if conn.WriteMessage(websocket.TextMessage, []byte("m"+strconv.Itoa(n))) != nil {
					return // the connection is closing
				}
			}
		}
	}()
	for {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _, err := conn.ReadMessage()
		at := time.Now()
		if err == nil {
			c.mu.Lock()
			c.echoes++
			c.mu.Unlock()
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			// gorilla has answered the close frame already.
			c.mu.Lock()
			// The close frame is the last data the server sends, so the
			// latest read brought it. The kernel stamps packets only
			// once it has turned timestamps on, which it does in the
			// background after the first socket asks; until then the
			// time this goroutine read it, later still, stands in.
			recv := conn.NetConn().(*stampConn).lastReceived()
			if recv.IsZero() {
				recv = at
			}
			c.ends = append(c.ends, streamEnd{pid: pid, at: at, recv: recv, code: ce.Code, text: ce.Text})
			c.mu.Unlock()
		}
		select {
		case <-stopping:
		default:
			if ce == nil || ce.Code != websocket.CloseServiceRestart {
				c.problem("session with %d ended by %v", pid, err)
			}
		}
		return
	}
}

// sseClient reads /events as EventSource does: it reconnects when the
// stream ends, after the retry delay the server sent, over a keep-alive
// transport.
type sseClient struct {
	url string

	mu       sync.Mutex
	hellos   []int
	byes     []streamEnd
	ends     []streamEnd
	ticks    int
	problems []string
}

func (c *sseClient) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *sseClient) lastHello() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hellos) == 0 {
		return 0
	}
	return c.hellos[len(c.hellos)-1]
}

func (c *sseClient) run(stop <-chan struct{}) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	retry := time.Second
	for ctx.Err() == nil {
		retry = c.stream(ctx, client, retry)
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// stream reads one stream to its end and returns the retry delay.
func (c *sseClient) stream(ctx context.Context, client *http.Client, retry time.Duration) time.Duration {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.problem("GET: %v", err)
		}
		return retry
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.problem("GET: status %d", resp.StatusCode)
		return retry
	}
	pid, bye := 0, false
	var event, data string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "retry: "):
			if ms, err := strconv.Atoi(strings.TrimPrefix(line, "retry: ")); err == nil {
				retry = time.Duration(ms) * time.Millisecond
			}
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "":
			at := time.Now()
			c.mu.Lock()
			switch event {
			case "hello":
				pid, _ = strconv.Atoi(data)
				c.hellos = append(c.hellos, pid)
			case "bye":
				bye = true
				c.byes = append(c.byes, streamEnd{pid: pid, at: at})
			default:
				c.ticks++
			}
			c.mu.Unlock()
			event, data = "", ""
		}
	}
	at := time.Now()
	c.mu.Lock()
	c.ends = append(c.ends, streamEnd{pid: pid, at: at})
	c.mu.Unlock()
	if ctx.Err() == nil && (!bye || sc.Err() != nil) {
		c.problem("stream of %d ended without bye (%v)", pid, sc.Err())
	}
	return retry
}

var drainLine = regexp.MustCompile(`time=(\S+) level=INFO msg="baton: draining" server=\S+ pid=(\d+)`)

// drainStarts returns when each worker of p logged the start of its
// drain.
func (p *program) drainStarts() map[int]time.Time {
	p.T.Helper()
	starts := make(map[int]time.Time)
	for _, m := range drainLine.FindAllStringSubmatch(p.Log.String(), -1) {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			p.T.Fatalf("drain log time %q: %v", m[1], err)
		}
		pid, _ := strconv.Atoi(m[2])
		starts[pid] = at
	}
	return starts
}

// watchReaped waits up to d until pid has exited and been reaped, and
// returns when that was first seen.
func watchReaped(pid int, d time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(d)
	for !proctest.Reaped(pid) {
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(2 * time.Millisecond) // polling /proc: the resolution of the exit time
	}
	return time.Now(), true
}

// TestWebSocketsAndStreamsSurviveReloads reloads examples/websocket and
// examples/sse 5 times while 8 WebSocket clients and 4 SSE clients are
// connected and light HTTP load runs. Every WebSocket must get the 1012
// close frame within 100 ms of its worker's drain starting and reconnect
// to the new worker, every SSE client must get the bye event and
// reconnect, no request may fail, and each old worker must be gone within
// a second of its last stream ending. Run with -v for the figures.
func TestWebSocketsAndStreamsSurviveReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("reloads real programs")
	}
	const (
		reloads    = 5
		nWS        = 8
		nSSE       = 4
		maxClose   = 100 * time.Millisecond
		maxExitLag = time.Second
	)
	wsProg := startProgram(t, build(t, "./examples/websocket"), freePort(t))
	sseProg := startProgram(t, build(t, "./examples/sse"), freePort(t))
	wsWorkers := []int{wsProg.WaitServing(0, 30*time.Second)}
	sseWorkers := []int{sseProg.WaitServing(0, 30*time.Second)}

	stop := make(chan struct{})
	var clients sync.WaitGroup
	wsClients := make([]*wsClient, nWS)
	for i := range wsClients {
		c := &wsClient{url: fmt.Sprintf("ws://127.0.0.1:%d/ws/echo", wsProg.Port)}
		wsClients[i] = c
		clients.Go(func() { c.run(stop) })
	}
	sseClients := make([]*sseClient, nSSE)
	for i := range sseClients {
		c := &sseClient{url: sseProg.URL("/events")}
		sseClients[i] = c
		clients.Go(func() { c.run(stop) })
	}
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
			clients.Wait()
		}
	}
	defer stopClients()
	// Light load: one client of each kind per program. The clients run
	// flat out in this process, and the close latency is measured here,
	// so heavier load would measure this process's scheduling instead.
	kinds := []string{"keep-alive", "new-conn"}
	wsLoad := startLoadKinds(fmt.Sprintf("127.0.0.1:%d", wsProg.Port), "/pid", kinds, 1, 2*time.Minute)
	sseLoad := startLoadKinds(fmt.Sprintf("127.0.0.1:%d", sseProg.Port), "/pid", kinds, 1, 2*time.Minute)

	connected := func(ws, sse int) func() bool {
		return func() bool {
			for _, c := range wsClients {
				if c.lastHello() != ws {
					return false
				}
			}
			for _, c := range sseClients {
				if c.lastHello() != sse {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "every client to connect", 20*time.Second, connected(wsWorkers[0], sseWorkers[0]))

	reapedAt := make(map[int]time.Time)
	for i := 0; i < reloads; i++ {
		oldWS, oldSSE := wsWorkers[len(wsWorkers)-1], sseWorkers[len(sseWorkers)-1]
		wsProg.Signal(syscall.SIGUSR1)
		sseProg.Signal(syscall.SIGUSR1)
		// Watch the old workers from now on, so that the time each is
		// seen gone is not late.
		var reap sync.WaitGroup
		var reapMu sync.Mutex
		for _, pid := range []int{oldWS, oldSSE} {
			reap.Go(func() {
				at, ok := watchReaped(pid, 30*time.Second)
				reapMu.Lock()
				defer reapMu.Unlock()
				if ok {
					reapedAt[pid] = at
				}
			})
		}
		newWS := wsProg.WaitServing(oldWS, 30*time.Second)
		newSSE := sseProg.WaitServing(oldSSE, 30*time.Second)
		wsWorkers, sseWorkers = append(wsWorkers, newWS), append(sseWorkers, newSSE)
		reap.Wait()
		for _, pid := range []int{oldWS, oldSSE} {
			if _, ok := reapedAt[pid]; !ok {
				t.Fatalf("reload %d: old worker %d still present 30s later", i+1, pid)
			}
		}
		waitFor(t, fmt.Sprintf("every client to reach the new workers (reload %d)", i+1), 20*time.Second, connected(newWS, newSSE))
	}
	stopClients()
	wsByKind, sseByKind := wsLoad.finish(), sseLoad.finish()

	var report strings.Builder
	fmt.Fprintf(&report, "%d reloads with %d WebSockets (examples/websocket) and %d SSE clients (examples/sse)\n", reloads, nWS, nSSE)

	// HTTP load: nothing may fail.
	for _, l := range []struct {
		name   string
		byKind map[string][]sample
	}{{"websocket", wsByKind}, {"sse", sseByKind}} {
		for _, kind := range kinds {
			ss := l.byKind[kind]
			fails := map[string]int{}
			for _, s := range ss {
				if s.fail != "" {
					fails[s.fail]++
				}
			}
			fmt.Fprintf(&report, "load on %-9s %-10s %5d requests, %d failed %v\n", l.name, kind, len(ss), len(ss)-len(latencies(ss, func(sample) bool { return true })), fails)
			if len(fails) > 0 {
				t.Errorf("%s clients of %s: failures %v", kind, l.name, fails)
			}
			if len(ss) == 0 {
				t.Errorf("%s clients of %s made no request", kind, l.name)
			}
		}
	}

	// WebSockets: 1012 within maxClose of the drain, then the next worker.
	wsDrains := wsProg.drainStarts()
	lastEnd := make(map[int]time.Time) // by old worker pid
	var closeLats, seenLats []time.Duration
	echoes := 0
	for i, c := range wsClients {
		c.mu.Lock()
		echoes += c.echoes
		for _, p := range c.problems {
			t.Errorf("WebSocket client %d: %s", i, p)
		}
		if fmt.Sprint(c.hellos) != fmt.Sprint(wsWorkers) {
			t.Errorf("WebSocket client %d was greeted by %v, want each worker once: %v", i, c.hellos, wsWorkers)
		}
		restarts := 0
		for _, e := range c.ends {
			if e.code != websocket.CloseServiceRestart {
				continue // the client's own close at the end
			}
			restarts++
			if e.text != baton.WebSocketCloseReason {
				t.Errorf("WebSocket client %d: close reason %q, want %q", i, e.text, baton.WebSocketCloseReason)
			}
			drain, ok := wsDrains[e.pid]
			if !ok {
				t.Errorf("WebSocket client %d: close 1012 from %d, which logged no drain", i, e.pid)
				continue
			}
			// The log has millisecond resolution: a receipt up to 1 ms
			// "before" the drain is the same millisecond.
			lat := e.recv.Sub(drain)
			closeLats = append(closeLats, lat)
			seenLats = append(seenLats, e.at.Sub(drain))
			if lat < -time.Millisecond || lat > maxClose {
				t.Errorf("WebSocket client %d: close 1012 from %d received %v after its drain began, want within %v", i, e.pid, lat, maxClose)
			}
			if e.at.After(lastEnd[e.pid]) {
				lastEnd[e.pid] = e.at
			}
		}
		if restarts != reloads {
			t.Errorf("WebSocket client %d got %d close frames 1012, want %d", i, restarts, reloads)
		}
		c.mu.Unlock()
	}
	for _, l := range [][]time.Duration{closeLats, seenLats} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	fmt.Fprintf(&report, "WebSocket close 1012 received after the drain began: %d frames, p50 %v, max %v (limit %v); %d echoes\n",
		len(closeLats), percentile(closeLats, .5).Round(10*time.Microsecond), percentile(closeLats, 1).Round(10*time.Microsecond), maxClose, echoes)
	fmt.Fprintf(&report, "  the same, by when the client's read returned (includes this process's scheduling): p50 %v, max %v\n",
		percentile(seenLats, .5).Round(10*time.Microsecond), percentile(seenLats, 1).Round(10*time.Microsecond))

	// SSE: bye from every old worker, then the next worker's stream.
	ticks := 0
	for i, c := range sseClients {
		c.mu.Lock()
		ticks += c.ticks
		for _, p := range c.problems {
			t.Errorf("SSE client %d: %s", i, p)
		}
		if fmt.Sprint(c.hellos) != fmt.Sprint(sseWorkers) {
			t.Errorf("SSE client %d streamed from %v, want each worker once: %v", i, c.hellos, sseWorkers)
		}
		var byes []int
		for _, b := range c.byes {
			byes = append(byes, b.pid)
		}
		if fmt.Sprint(byes) != fmt.Sprint(sseWorkers[:reloads]) {
			t.Errorf("SSE client %d got bye from %v, want %v", i, byes, sseWorkers[:reloads])
		}
		for _, e := range c.ends {
			if e.at.After(lastEnd[e.pid]) && slices.Contains(sseWorkers[:reloads], e.pid) {
				lastEnd[e.pid] = e.at
			}
		}
		c.mu.Unlock()
	}
	fmt.Fprintf(&report, "SSE: %d bye events, %d clock ticks\n", nSSE*reloads, ticks)

	// Old workers: gone within maxExitLag of their last stream.
	var lags []time.Duration
	for _, workers := range [][]int{wsWorkers[:reloads], sseWorkers[:reloads]} {
		for _, pid := range workers {
			end, ok := lastEnd[pid]
			if !ok {
				t.Errorf("no stream of old worker %d was seen to end", pid)
				continue
			}
			lag := reapedAt[pid].Sub(end)
			lags = append(lags, lag)
			if lag > maxExitLag {
				t.Errorf("old worker %d was reaped %v after its last stream ended, want within %v", pid, lag, maxExitLag)
			}
		}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	fmt.Fprintf(&report, "old worker reaped after its last stream ended: p50 %v, max %v (limit %v)\n",
		percentile(lags, .5).Round(100*time.Microsecond), percentile(lags, 1).Round(100*time.Microsecond), maxExitLag)
	t.Log("\n" + report.String())
}

// TestWebSocketIgnoringCloseIsCutAtDrainTimeout reloads examples/websocket
// with a client that never reads, so never answers the close frame: the
// old worker keeps the connection until the drain timeout (1.5 s, from
// BATON_DRAIN_TIMEOUT), then cuts it and exits.
func TestWebSocketIgnoringCloseIsCutAtDrainTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("reloads a real program")
	}
	const timeout = 1500 * time.Millisecond
	p := startProgram(t, build(t, "./examples/websocket"), freePort(t), "BATON_DRAIN_TIMEOUT="+timeout.String())
	old := p.WaitServing(0, 30*time.Second)
	url := fmt.Sprintf("ws://127.0.0.1:%d/ws/echo", p.Port)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	deaf, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()

	p.Signal(syscall.SIGUSR1)
	reapedCh := make(chan time.Time, 1)
	go func() {
		at, _ := watchReaped(old, 30*time.Second)
		reapedCh <- at
	}()
	cur := p.WaitServing(old, 30*time.Second)
	gone := <-reapedCh
	if gone.IsZero() {
		t.Fatalf("old worker %d still present 30s after the reload", old)
	}
	drain, ok := p.drainStarts()[old]
	if !ok {
		t.Fatalf("old worker %d logged no drain:\n%s", old, p.Log.String())
	}
	held := gone.Sub(drain)
	t.Logf("old worker %d held the silent WebSocket for %v after its drain began (drain timeout %v)", old, held.Round(time.Millisecond), timeout)
	if held < timeout-10*time.Millisecond || held > timeout+time.Second {
		t.Errorf("old worker exited %v after its drain began, want at the drain timeout %v", held, timeout)
	}
	if !strings.Contains(p.Log.String(), `msg="baton: drain timeout: closed WebSockets that did not finish" server=default pid=`+strconv.Itoa(old)) {
		t.Errorf("old worker did not log the cut:\n%s", p.Log.String())
	}

	// What the client finds when it reads at last: the greeting, the
	// close frame, then the end of the connection.
	deaf.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := deaf.ReadMessage(); err != nil || string(msg) != fmt.Sprintf("hello %d", old) {
		t.Errorf("first message = %q, %v; want hello %d", msg, err, old)
	}
	if _, _, err := deaf.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseServiceRestart) {
		t.Errorf("then %v, want close %d", err, websocket.CloseServiceRestart)
	}
	if n, err := deaf.NetConn().Read(make([]byte, 1)); err == nil {
		t.Errorf("connection still open after the cut (read %d bytes)", n)
	}

	// A client that reconnects reaches the new worker.
	again, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	again.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := again.ReadMessage(); err != nil || string(msg) != fmt.Sprintf("hello %d", cur) {
		t.Errorf("after reconnecting: %q, %v; want hello %d", msg, err, cur)
	}
}
