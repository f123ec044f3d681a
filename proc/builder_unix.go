//go:build unix && !aix

package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// The master's side of development mode: the Builder's host, the
// development state the workers receive, and the builder's directory.

// prepareBuilder readies opts.Builder for this master.
func (m *master) prepareBuilder(opts Options) error {
	if opts.Builder == nil {
		return fmt.Errorf("baton: no builder in the options: %w", ErrDevUnavailable)
	}
	out := opts.DevOutput
	if out == nil {
		out = os.Stderr
	}
	c := BuildConfig{Dir: m.dir, Kept: m.devDir, Files: opts.DevFiles, Output: out, Logger: m.log}
	if err := opts.Builder.Prepare(buildHost{m}, c); err != nil {
		return err
	}
	m.dev = opts.Builder
	if d := m.dev.Dir(); d != "" {
		m.devDir = d
	}
	m.devState.Ready = true
	return nil
}

// buildHost is the master as a Builder sees it.
type buildHost struct{ m *master }

var _ BuildHost = buildHost{}

func (h buildHost) Reload(path string, n int, reply func(error)) {
	h.m.reqs <- request{kind: msgReload, trigger: "dev", at: time.Now(), bin: &binary{path: path, build: n}, reply: reply}
}

func (h buildHost) SetDev(f func(*DevState)) { h.m.setDev(f) }

func (h buildHost) Serving() (string, int) {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.bin.path, h.m.bin.build
}

func (h buildHost) DrainBound() time.Duration {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.drainTimeout + DefaultExitGrace
}

func (h buildHost) Run(ctx context.Context, dir string, stdout, stderr io.Writer, name string, args ...string) error {
	return h.m.runCommand(ctx, dir, h.m.env, stdout, stderr, name, args...)
}

// handoff describes for the builder the worker c, now serving bin, and
// the worker old it replaced (nil if none).
func handoff(bin *binary, c, old *child) Handoff {
	c.mu.Lock()
	h := Handoff{Build: bin.build, Started: c.started, Ready: c.readyAt}
	c.mu.Unlock()
	if old == nil {
		return h
	}
	h.OldBuild = old.build
	h.Wait = func(d time.Duration) Drain {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-old.drainedCh:
		case <-old.done:
		case <-t.C:
		}
		old.mu.Lock()
		dr := Drain{Requests: old.drained, Reported: isClosed(old.drainedCh)}
		old.mu.Unlock()
		if old.isDone() {
			dr.Exited, dr.Cause = true, old.exitCause()
		}
		return dr
	}
	return h
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// setDev changes the development state and sends it to every worker.
func (m *master) setDev(f func(*DevState)) {
	m.mu.Lock()
	f(&m.devState)
	kids := slices.Clone(m.draining)
	for _, c := range []*child{m.cur, m.starting} {
		if c != nil {
			kids = append(kids, c)
		}
	}
	m.mu.Unlock()
	for _, c := range kids {
		m.sendDev(c)
	}
}

// sendDev sends c the current development state.
//
// NOTE: c.devMu is held from reading the state to sending it, so that the
// last message a worker gets is the latest state even when spawn and
// setDev send at once.
func (m *master) sendDev(c *child) {
	if c.conn == nil {
		return
	}
	c.devMu.Lock()
	defer c.devMu.Unlock()
	m.mu.Lock()
	st := m.devState
	m.mu.Unlock()
	st.Build = c.build
	if err := c.conn.send(&message{Type: msgDev, Dev: &st}, -1); err != nil {
		m.log.Debug("baton: development state", "pid", c.pid, "err", err)
	}
}

// cleanup removes what the master made for itself before it exits: the
// builder's directory.
func (m *master) cleanup() {
	if m.devDir != "" {
		os.RemoveAll(m.devDir)
	}
	m.removeKept()
}
