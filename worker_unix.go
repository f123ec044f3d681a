//go:build unix

package baton

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/baton-go/baton/proc"
)

// worker is a process under a master: sockets, reloads and status come
// from the master, over w.
type worker struct {
	w         *proc.Worker
	readyOnce sync.Once
}

var _ host = (*worker)(nil)

func (p *worker) listen(key, network, addr string) (net.Listener, error) {
	return p.w.Listen(key, network, addr)
}

// ready reports the worker ready, once, with the largest timeouts the
// running servers ask for, and returns the channel the master closes to
// make it drain.
func (p *worker) ready() <-chan struct{} {
	p.readyOnce.Do(func() {
		var info proc.ReadyInfo
		list, _ := runningServers()
		for _, s := range list {
			c := s.Config()
			info.DrainTimeout = max(info.DrainTimeout, drainTimeoutOf(c))
			info.ReadyTimeout = max(info.ReadyTimeout, c.ReadyTimeout)
			info.LameDuck = max(info.LameDuck, c.LameDuck)
		}
		if err := p.w.Ready(info); err != nil {
			defaultLogger().Error("baton: report ready", "err", err)
		}
		startDevWatch(list, defaultLogger())
		go watchLameDuck(p.w.LameDuck())
	})
	return p.w.Draining()
}

func (p *worker) fail(err error)  { p.w.Fail(err) }
func (p *worker) drained(n int64) { p.w.Drained(int(n)) }
func (p *worker) hasMaster() bool { return true }

func (p *worker) reload(trigger string) error {
	return p.w.Reload(context.Background(), trigger)
}

func (p *worker) restart(trigger string) error  { return p.w.Restart(trigger) }
func (p *worker) rollback(trigger string) error { return p.w.Rollback(context.Background(), trigger) }
func (p *worker) shutdown(trigger string) error { return p.w.Shutdown(trigger) }

// status returns the master's view of the program.
func (p *worker) status(ctx context.Context) (statusView, error) {
	st, err := p.w.Status(ctx)
	if err != nil {
		return statusView{}, err
	}
	v := statusView{
		MasterPID: st.MasterPID, WorkerPID: st.WorkerPID, Generation: st.Generation,
		Started: st.Started, Executable: st.Executable, ExecutableModTime: st.ExecutableModTime,
		Reloading: st.Reloading, Previous: st.Previous,
	}
	for _, l := range st.Listeners {
		v.Sockets = append(v.Sockets, socketView{Key: l.Key, Network: l.Network, Addr: l.Addr})
	}
	for i := len(st.History) - 1; i >= 0; i-- { // newest first
		e := st.History[i]
		ev := eventView{Time: e.Time, Kind: e.Kind, Trigger: e.Trigger, OK: e.OK, Error: e.Err,
			OldPID: e.OldPID, NewPID: e.NewPID, Generation: e.Generation}
		if e.HandOff > 0 {
			ev.HandOff = e.HandOff.Round(time.Millisecond).String()
		}
		v.History = append(v.History, ev)
	}
	return v, nil
}
