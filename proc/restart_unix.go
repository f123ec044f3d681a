//go:build unix && !aix

// This file holds the restart: the start probe, the exec of the master
// with its sockets and state, and the restore of both in the master it
// becomes.

package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// envState carries the master's state across the exec of a restart: start
// time, generation counter, history, socket details, draining workers.
const envState = "BATON_STATE"

// masterState is the value of envState.
type masterState struct {
	Version  int           `json:"v"`
	Started  time.Time     `json:"started"`
	NextGen  int           `json:"next_gen"`
	History  []Event       `json:"history,omitempty"`
	Restart  *Event        `json:"restart,omitempty"`
	Sockets  []stateSocket `json:"sockets,omitempty"`
	Draining []stateChild  `json:"draining,omitempty"`
	Serving  *stateServing `json:"serving,omitempty"`
	// The binary workers start from when it is not the master's own (a
	// development build or the binary watch), and the directory of
	// development builds.
	Bin    string `json:"bin,omitempty"`
	Build  int    `json:"build,omitempty"`
	DevDir string `json:"dev_dir,omitempty"`
	// Carry holds the counts of counters.go.
	Carry *carryState `json:"carry,omitempty"`
}

type stateSocket struct {
	FD        int    `json:"fd"`
	Network   string `json:"network,omitempty"`
	Name      string `json:"name,omitempty"`
	Activated bool   `json:"activated,omitempty"`
	Stored    bool   `json:"stored,omitempty"`
	Unlink    string `json:"unlink,omitempty"`
}

type stateChild struct {
	PID      int       `json:"pid"`
	Gen      int       `json:"gen"`
	Deadline time.Time `json:"deadline"`
}

// restore takes over the sockets and state of the master this process was
// before a restart.
func (m *master) restore(stateStr, fdsStr string) {
	m.restarted = true
	entries, err := parseFDs(fdsStr)
	if err != nil {
		m.log.Error("baton: inherited sockets", "err", err)
	}
	byFD := make(map[int]*socket)
	for _, e := range entries {
		s := byFD[e.FD]
		if s == nil {
			s, err = adoptSocket(e.FD)
			if err != nil {
				m.log.Error("baton: inherited socket", "fd", e.FD, "err", err)
				continue
			}
			byFD[e.FD] = s
			m.sockets.add(s)
		}
		if e.Key != "" {
			s.addKey(e.Key)
		}
	}
	var st masterState
	if stateStr != "" {
		if err := json.Unmarshal([]byte(stateStr), &st); err != nil {
			m.log.Error("baton: inherited state", "err", err)
			return
		}
	}
	for _, ss := range st.Sockets {
		if s := byFD[ss.FD]; s != nil {
			s.name, s.activated, s.stored, s.unlink = ss.Name, ss.Activated, ss.Stored, ss.Unlink
			if ss.Network != "" {
				s.network = ss.Network
			}
		}
	}
	if !st.Started.IsZero() {
		m.started = st.Started
	}
	m.nextGen = st.NextGen
	m.devDir = st.DevDir
	if st.Bin != "" {
		if _, err := os.Stat(st.Bin); err == nil {
			m.bin = &binary{path: st.Bin, build: st.Build}
		}
	}
	m.history = st.History
	m.restartEvent = st.Restart
	if st.Serving != nil && !m.adoptServing(st.Serving) {
		m.log.Warn("baton: the worker from before the restart is gone", "pid", st.Serving.PID)
	}
	m.carry.restore(st.Carry)
	for _, d := range st.Draining {
		c := newChild(d.PID, d.Gen)
		close(c.crashDone)
		close(c.ctlDone)
		c.drainSent = true
		if !m.reaper.adopt(c) {
			continue
		}
		m.draining = append(m.draining, c)
		go m.killAfter(c, time.Until(d.Deadline))
	}
}

// restart re-executes the master from the binary on disk, keeping its pid
// and its sockets. A binary that fails its probe is refused, and the worker
// goes on serving.
//
// The serving worker is not told anything: the master's ends of its
// control channel and crash pipe survive the exec (handover_unix.go), so
// it goes on accepting while the new master starts its successor, and
// drains once that one is ready, as at a reload; if the successor fails,
// it goes on serving. Workers already draining are adopted as such. If the
// exec fails, nothing has changed for any of them.
func (m *master) restart(r request) {
	ev := Event{Time: r.at, Kind: "restart", Trigger: r.trigger}
	m.mu.Lock()
	if m.cur != nil {
		ev.OldPID = m.cur.pid
	}
	m.mu.Unlock()
	// The probe runs the binary: check it first.
	var err error
	if m.strictModes {
		err = checkOwner(m.exe)
	}
	if err == nil {
		err = m.probe()
	}
	if err != nil {
		err = fmt.Errorf("baton: restart refused: %w", err)
		m.log.Error("baton: restart refused, the worker goes on serving", "err", err)
		ev.Err = err.Error()
		m.record(ev)
		r.answer(err)
		return
	}
	r.answer(nil)
	m.notify.reloading()
	err = m.exec(&ev)
	// Still here: the exec failed.
	m.log.Error("baton: restart failed, the worker goes on serving", "err", err)
	ev.Err = err.Error()
	m.record(ev)
	m.notify.ready(m.pid)
}

// envProbe set to "1" makes Init exit with status 0.
const envProbe = "BATON_PROBE"

// probeOutput is how much of a failed probe's output its error quotes.
const probeOutput = 1 << 10

// probe runs the binary a restart would execute, as the restart would,
// with envProbe set: it exits 0 at its first framework call. After the
// exec nothing is left to fall back on, so a binary that cannot start, or
// exits or crashes before the framework takes over (a panic in an init
// function, a log.Fatal in main), is found here, while the old worker
// still serves. A binary that gets that far and fails later leaves the
// master running, which starts workers with a backoff.
func (m *master) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.readyTimeout)
	defer cancel()
	out := &tailBuffer{max: probeOutput}
	env := append(slices.Clip(m.execEnv), envProbe+"=1")
	res := make(chan error, 1)
	go func() { res <- m.runCommand(ctx, "", env, out, out, m.exe, m.args[1:]...) }()
	for {
		select {
		case err := <-res:
			if err == nil {
				return nil
			}
			var ce *commandError
			if errors.As(err, &ce) {
				err = errors.New(ce.Cause)
			}
			if s := strings.TrimSpace(out.String()); s != "" {
				return fmt.Errorf("%s failed its start probe: %w: %s", m.exe, err, s)
			}
			return fmt.Errorf("%s failed its start probe: %w", m.exe, err)
		case r := <-m.reqs:
			m.queue(r)
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// exec re-executes the master, passing its sockets and state. It returns
// only on failure.
func (m *master) exec(ev *Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sockets.handOff(func(socks []*socket) error {
		st := masterState{Version: 1, Started: m.started, NextGen: m.nextGen, History: m.history, Restart: ev, DevDir: m.devDir}
		if m.bin.path != m.exe {
			st.Bin, st.Build = m.bin.path, m.bin.build
		}
		var dropped bool
		if st.Carry, dropped = m.carry.save(); dropped {
			m.log.Warn("baton: restart: too many counters to carry over; they start again from zero")
		}
		var fds []inheritedFD
		for _, s := range socks {
			if len(s.keys) == 0 {
				fds = append(fds, inheritedFD{FD: s.fd})
			}
			for _, k := range s.keys {
				fds = append(fds, inheritedFD{FD: s.fd, Key: k})
			}
			st.Sockets = append(st.Sockets, stateSocket{FD: s.fd, Network: s.network, Name: s.name, Activated: s.activated, Stored: s.stored, Unlink: s.unlink})
		}
		var carried []int
		st.Serving, carried = m.carryServing()
		draining := slices.Clone(m.draining)
		if st.Serving == nil {
			draining = append(draining, m.cur)
		}
		deadline := time.Now().Add(m.drainTimeout + DefaultExitGrace)
		for _, c := range draining {
			if c != nil && !c.isDone() {
				st.Draining = append(st.Draining, stateChild{PID: c.pid, Gen: c.gen, Deadline: deadline})
			}
		}
		b, err := json.Marshal(&st)
		if err != nil {
			return fmt.Errorf("baton: restart: encode state: %w", err)
		}
		env := append(slices.Clip(m.execEnv), envFDs+"="+formatFDs(fds), envState+"="+string(b))

		// NOTE: the sockets must survive the exec, and nothing else may
		// inherit them: ForkLock keeps processes from being started
		// meanwhile.
		syscall.ForkLock.Lock()
		defer syscall.ForkLock.Unlock()
		for _, s := range socks {
			if err := setCloexec(s.fd, false); err != nil {
				cloexecAll(socks)
				return fmt.Errorf("baton: restart: %w", err)
			}
		}
		for _, fd := range carried {
			if err := setCloexec(fd, false); err != nil {
				cloexecAll(socks)
				cloexecFDs(carried)
				return fmt.Errorf("baton: restart: %w", err)
			}
		}
		m.log.Info("baton: restarting", "executable", m.exe, "sockets", len(socks), "serving", st.Serving != nil)
		err = syscall.Exec(m.exe, m.args, env)
		cloexecAll(socks)
		cloexecFDs(carried)
		return fmt.Errorf("baton: restart: exec %s: %w", m.exe, err)
	})
}

// finishRestart records the restart that executed this master.
func (m *master) finishRestart(rerr *ReloadError) {
	ev := m.restartEvent
	if ev == nil {
		return
	}
	m.restartEvent = nil
	if rerr != nil {
		ev.NewPID = rerr.PID
		ev.Err = rerr.Error()
	} else {
		m.mu.Lock()
		ev.OK, ev.NewPID, ev.Generation = true, m.cur.pid, m.cur.gen
		m.mu.Unlock()
		ev.HandOff = time.Since(ev.Time)
		m.log.Info("baton: restart complete", "trigger", ev.Trigger, "old_pid", ev.OldPID, "new_pid", ev.NewPID,
			"generation", ev.Generation, "handoff", ev.HandOff.Round(time.Millisecond))
	}
	m.record(*ev)
}
