package proc

import (
	"context"
	"log/slog"
	"net"
	"sync"
)

// Worker is the worker's side of the process model: it asks the master for
// listening sockets, reports readiness and relays reload, restart and
// shutdown requests. Init returns the only Worker of a worker process.
//
// The methods of a nil *Worker (a process without master, see Init) return
// ErrNoMaster, except Draining, which returns a nil channel, and Fail and
// Generation, which do nothing or return 0.
//
// A Worker is safe for concurrent use.
type Worker struct {
	gen int
	log *slog.Logger
	c   *client

	draining  chan struct{}
	drainOnce sync.Once

	lameDuck                    chan struct{}
	lameDuckOnce, lameDuckClose sync.Once

	onDev  func(DevState)
	devMu  sync.Mutex
	dev    DevState
	devSet bool
}

func (w *Worker) setDev(st DevState) {
	w.devMu.Lock()
	w.dev, w.devSet = st, true
	w.devMu.Unlock()
	if w.onDev != nil {
		w.onDev(st)
	}
}

// DevState returns the last development state the master sent, and false
// if it sent none: development mode is off. See Options.OnDevState.
func (w *Worker) DevState() (DevState, bool) {
	if w == nil {
		return DevState{}, false
	}
	w.devMu.Lock()
	defer w.devMu.Unlock()
	return w.dev, w.devSet
}

// Drained tells the master how many requests this worker answered while
// it drained; development mode prints it with the build that replaced
// this worker. Call it once the drain is over, before exiting.
func (w *Worker) Drained(requests int) {
	if w == nil {
		return
	}
	w.c.drained(requests)
}

func (w *Worker) drain() {
	w.drainOnce.Do(func() { close(w.draining) })
}

// Generation returns the worker's generation: 1 for the first worker of the
// program, and higher for each worker started after it (failed starts
// included). It returns 0 for a nil *Worker.
func (w *Worker) Generation() int {
	if w == nil {
		return 0
	}
	return w.gen
}

// Listen returns a listener for (network, addr) from the master. Network is
// "tcp", "tcp4", "tcp6" or "unix". Key identifies the socket across
// generations (baton passes e.g. "default/http/0/:8199").
//
// The master hands out a duplicate of the socket it already holds for key;
// else it adopts a socket-activation socket named key or bound to addr;
// else it reuses a socket it holds bound to the same address (non-zero
// port); else it binds a new one. A bind error is returned as the master
// got it, e.g. "listen tcp :80: bind: permission denied". The caller owns
// the listener; closing it does not close the master's socket.
func (w *Worker) Listen(key, network, addr string) (net.Listener, error) {
	if w == nil {
		return nil, ErrNoMaster
	}
	return w.c.listen(key, network, addr)
}

// Ready tells the master that every server of this worker accepts
// connections. During a reload, the master then tells the old worker to
// drain. Non-zero fields of info replace the master's timeouts for later
// reloads.
func (w *Worker) Ready(info ReadyInfo) error {
	if w == nil {
		return ErrNoMaster
	}
	return w.c.ready(info)
}

// Fail tells the master why this worker cannot start, before the worker
// exits. The master includes the text in the reload error and keeps the old
// worker serving.
func (w *Worker) Fail(err error) {
	if w == nil || err == nil {
		return
	}
	w.c.fail(err)
}

// Draining returns a channel that is closed when the master asks this worker
// to drain (stop accepting, finish in-flight requests and exit), or when the
// master is gone, so that no worker keeps serving on its own. It returns nil
// for a nil *Worker.
func (w *Worker) Draining() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.draining
}

// Reload asks the master to start a new worker from the binary on disk. It
// returns nil once the new worker is ready (this worker is told to drain
// right after), or an error naming the cause: a *ReloadError when the new
// worker failed, ErrMasterGone, ErrShuttingDown, or ctx.Err(). A reload
// requested while another is running is coalesced into the next one.
func (w *Worker) Reload(ctx context.Context, trigger string) error {
	if w == nil {
		return ErrNoMaster
	}
	return w.c.call(ctx, msgReload, trigger)
}

// Restart asks the master for a full restart: the master re-executes
// itself from the binary on disk (same pid, sockets kept) and starts a new
// worker, while this one drains. It returns once the master has run the new binary
// as a probe and accepted, or with the reason the master refused: a binary
// that fails the probe (see the package documentation) restarts nothing.
func (w *Worker) Restart(trigger string) error {
	if w == nil {
		return ErrNoMaster
	}
	return w.c.call(context.Background(), msgRestart, trigger)
}

// Shutdown asks the master to shut the whole program down: the workers
// drain, then the master exits 0. It returns once the master has accepted.
func (w *Worker) Shutdown(trigger string) error {
	if w == nil {
		return ErrNoMaster
	}
	return w.c.call(context.Background(), msgShutdown, trigger)
}

// Status returns a snapshot of the master's state.
func (w *Worker) Status(ctx context.Context) (Status, error) {
	if w == nil {
		return Status{}, ErrNoMaster
	}
	return w.c.status(ctx)
}

// LameDuck returns a channel that is closed when the master tells this
// worker that the program is stopping and it has Options.LameDuck (or its
// ReadyInfo.LameDuck) left to serve before it drains: health checks should
// fail from then on, and everything else go on as before. A nil *Worker
// returns a nil channel.
func (w *Worker) LameDuck() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.lameDuckCh()
}

func (w *Worker) lameDuckCh() chan struct{} {
	w.lameDuckOnce.Do(func() { w.lameDuck = make(chan struct{}) })
	return w.lameDuck
}

func (w *Worker) enterLameDuck() {
	ch := w.lameDuckCh()
	w.lameDuckClose.Do(func() { close(ch) })
}

// Rollback asks the master to go back to the previous generation: it
// starts a worker from its copy of the executable the previous generation
// ran (see Options.Rollback), waits until it is ready and drains this
// one, as a reload does. It returns nil once the worker of the previous
// generation serves, ErrNoRollback when there is none to go back to, or
// the error of the reload.
func (w *Worker) Rollback(ctx context.Context, trigger string) error {
	if w == nil {
		return ErrNoMaster
	}
	return w.c.call(ctx, msgRollback, trigger)
}
