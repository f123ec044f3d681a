//go:build unix && !aix

package proc

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// fakeProcs plays the worker processes for the unit tests of the master's
// decisions. A started worker is a child whose channels the test closes,
// as the reaper and the control channel would for a process; its messages
// go through the master's dispatch. It runs inside a synctest bubble, so
// the master's timers run on the bubble's clock: a test of a 10s timeout
// takes no time, and times are exact.
type fakeProcs struct {
	m       *master
	started chan *child

	mu       sync.Mutex
	nextPID  int
	startErr error // the next start fails with it
	workers  map[*child]*fakeWorker
	replies  map[uint64]chan error // the worker requests waiting for a reply
}

// fakeWorker is how a fake worker behaves and what it was sent.
type fakeWorker struct {
	silent      bool // answers no ping
	stayOnDrain bool // does not exit when told to drain
	exited      bool
	signals     []signalAt
	sent        []*message
}

type signalAt struct {
	sig   syscall.Signal
	at    time.Time
	alive bool // the worker had not exited: the signal reached it
}

var _ procs = (*fakeProcs)(nil)

func (f *fakeProcs) start(gen int, bin *binary) (*child, error) {
	f.mu.Lock()
	if err := f.startErr; err != nil {
		f.startErr = nil
		f.mu.Unlock()
		return nil, err
	}
	f.nextPID++
	c := newChild(1000+f.nextPID, gen)
	c.build = bin.build
	f.workers[c] = &fakeWorker{}
	f.mu.Unlock()
	f.started <- c
	return c, nil
}

func (f *fakeProcs) signal(c *child, sig syscall.Signal) {
	f.mu.Lock()
	w := f.workers[c]
	w.signals = append(w.signals, signalAt{sig: sig, at: time.Now(), alive: !w.exited})
	f.mu.Unlock()
	if sig == syscall.SIGKILL {
		f.exit(c, syscall.WaitStatus(syscall.SIGKILL), "")
	}
}

func (f *fakeProcs) send(c *child, msg *message) error {
	f.mu.Lock()
	w := f.workers[c]
	w.sent = append(w.sent, msg)
	silent, stay := w.silent, w.stayOnDrain
	reply := f.replies[msg.ID]
	if msg.Type == msgReply && reply != nil {
		delete(f.replies, msg.ID)
	}
	f.mu.Unlock()
	switch msg.Type {
	case msgPing:
		if !silent {
			f.m.dispatch(c, &message{Type: msgPong})
		}
	case msgDrain:
		if !stay {
			f.exit(c, 0, "")
		}
	case msgReply:
		if reply != nil {
			reply <- replyErr(msg)
		}
	}
	return nil
}

// exit ends worker c with wait status ws, its crash output starting with
// line: its crash pipe and control channel end, and it is reaped.
func (f *fakeProcs) exit(c *child, ws syscall.WaitStatus, line string) {
	f.mu.Lock()
	w := f.workers[c]
	if w.exited {
		f.mu.Unlock()
		return
	}
	w.exited = true
	f.mu.Unlock()
	c.mu.Lock()
	c.crashLine = line
	c.mu.Unlock()
	c.status = ws
	close(c.crashDone)
	close(c.ctlDone)
	close(c.done)
}

func (f *fakeProcs) worker(c *child) *fakeWorker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.workers[c]
}

// signals returns the signals that reached c while it lived.
func (f *fakeProcs) signals(c *child) []signalAt {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []signalAt
	for _, sa := range f.workers[c].signals {
		if sa.alive {
			s = append(s, sa)
		}
	}
	return s
}

// sent returns the messages of type typ the master sent c.
func (f *fakeProcs) sent(c *child, typ string) []*message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []*message
	for _, m := range f.workers[c].sent {
		if m.Type == typ {
			s = append(s, m)
		}
	}
	return s
}

// harness runs a master over fakeProcs. Create it inside synctest.Test.
type harness struct {
	t    *testing.T
	m    *master
	f    *fakeProcs
	log  *lineLog
	code chan int
	id   uint64
}

// within bounds every wait of a test on the bubble's clock: a master that
// never does what the test waits for fails it instead of hanging.
const within = time.Hour

// newHarness starts a master with a fake worker starter; set adjusts the
// master before it runs. Its cleanup shuts the master down.
func newHarness(t *testing.T, set func(m *master)) *harness {
	t.Helper()
	h := &harness{t: t, log: new(lineLog), code: make(chan int, 1)}
	log := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.m = &master{
		log:          log,
		pid:          1,
		exe:          "/srv/app",
		bin:          &binary{path: "/srv/app"},
		reqs:         make(chan request, 64),
		started:      time.Now(),
		sockets:      newSocketTable(log),
		readyTimeout: DefaultReadyTimeout,
		drainTimeout: DefaultDrainTimeout,
	}
	h.f = &fakeProcs{m: h.m, started: make(chan *child, 64), workers: make(map[*child]*fakeWorker), replies: make(map[uint64]chan error)}
	h.m.procs = h.f
	if set != nil {
		set(h.m)
	}
	go func() { h.code <- h.m.supervise() }()
	t.Cleanup(h.stop)
	return h
}

// stop ends the master, if it still runs, and every worker.
func (h *harness) stop() {
	select {
	case h.m.reqs <- request{kind: msgShutdown, trigger: "test end", at: time.Now()}:
	default:
	}
	h.f.mu.Lock()
	var kids []*child
	for c := range h.f.workers {
		kids = append(kids, c)
	}
	h.f.mu.Unlock()
	for _, c := range kids {
		h.f.exit(c, syscall.WaitStatus(syscall.SIGKILL), "")
	}
	select {
	case <-h.code:
	case <-time.After(within):
		h.t.Error("the master did not end")
	}
}

// next returns the next worker the master starts.
func (h *harness) next() *child {
	h.t.Helper()
	select {
	case c := <-h.f.started:
		return c
	case <-time.After(within):
		h.t.Fatal("no worker started")
		return nil
	}
}

// noStart fails if the master has started a worker not yet taken by next.
func (h *harness) noStart() {
	h.t.Helper()
	synctest.Wait()
	select {
	case c := <-h.f.started:
		h.t.Errorf("worker %d (generation %d) started, want none", c.pid, c.gen)
	default:
	}
}

// ready makes c report ready, with its own timeouts if not zero.
func (h *harness) ready(c *child, info ReadyInfo) {
	h.m.dispatch(c, &message{Type: msgReady, ReadyTimeout: info.ReadyTimeout, DrainTimeout: info.DrainTimeout, LameDuck: info.LameDuck})
}

// serving starts the master's first worker and makes it ready.
func (h *harness) serving() *child {
	h.t.Helper()
	c := h.next()
	h.ready(c, ReadyInfo{})
	h.waitCur(c)
	return c
}

// waitCur waits until c is the serving worker.
func (h *harness) waitCur(c *child) {
	h.t.Helper()
	synctest.Wait()
	if cur := h.cur(); cur != c {
		h.t.Fatalf("serving worker = %v, want %d", pidOf(cur), c.pid)
	}
}

func (h *harness) cur() *child {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.cur
}

func pidOf(c *child) any {
	if c == nil {
		return "none"
	}
	return c.pid
}

// exitCode ends c with an exit status.
func (h *harness) exitCode(c *child, code int) {
	h.f.exit(c, syscall.WaitStatus(code<<8), "")
}

// request sends the master a request as a signal would (no reply) if
// reply is false, else as the program would, and returns where its answer
// arrives.
func (h *harness) request(kind, trigger string, reply bool) <-chan error {
	ch := make(chan error, 1)
	r := request{kind: kind, trigger: trigger, at: time.Now()}
	if reply {
		r.reply = func(err error) { ch <- err }
	}
	h.m.reqs <- r
	return ch
}

// requestFrom sends the master a request from worker c, over the control
// channel's dispatch, and returns where its reply arrives.
func (h *harness) requestFrom(c *child, kind, trigger string) <-chan error {
	ch := make(chan error, 1)
	h.f.mu.Lock()
	h.id++
	id := h.id
	h.f.replies[id] = ch
	h.f.mu.Unlock()
	h.m.dispatch(c, &message{Type: kind, ID: id, Trigger: trigger})
	return ch
}

// answer waits for the answer to a request.
func (h *harness) answer(ch <-chan error) error {
	h.t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(within):
		h.t.Fatal("request not answered")
		return nil
	}
}

// exited waits for the master to end and returns its exit status.
func (h *harness) exited() int {
	h.t.Helper()
	select {
	case code := <-h.code:
		h.code <- code // for stop
		return code
	case <-time.After(within):
		h.t.Fatal("the master did not end")
		return 0
	}
}

func (h *harness) history() []Event { return h.m.status().History }

// lastEvent returns the last event of kind in the history.
func (h *harness) lastEvent(kind string) Event {
	h.t.Helper()
	hist := h.history()
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Kind == kind {
			return hist[i]
		}
	}
	h.t.Fatalf("no %s event in the history %+v", kind, hist)
	return Event{}
}

// logged reports whether a log line holds every one of parts.
func (h *harness) logged(parts ...string) bool {
	return slices.ContainsFunc(h.log.all(), func(line string) bool {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				return false
			}
		}
		return true
	})
}

// lineLog keeps the lines of a slog text handler, which writes one line
// per call. It is safe for concurrent use.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l *lineLog) String() string { return strings.Join(l.all(), "") }
