package proc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// EnvWorker is the environment variable that marks a worker process. The
// master sets it to the worker's generation number ("1", "2", ...). A worker
// finds its control channel to the master on file descriptor 3. Init removes
// the variable from the worker's environment, so that programs the
// application starts do not mistake themselves for workers.
const EnvWorker = "BATON_WORKER"

// Environment variables of development mode, read by the master.
const (
	// EnvDev turns development mode on ("1", "true", "on") or off ("0",
	// "false", "off"), whatever Options.Dev says.
	EnvDev = "BATON_DEV"
	// EnvDevDir names the directory go list and go build run in. If
	// unset, it is the directory holding go.mod found by walking up from
	// the working directory.
	EnvDevDir = "BATON_DEV_DIR"
	// EnvDevPoll set to "1" makes development mode poll modification
	// times instead of waiting for file events.
	EnvDevPoll = "BATON_DEV_POLL"
)

// EnvGraceful is the environment variable that turns the master off. When it
// is "0", "false" or "off", Init returns a nil *Worker and the process serves
// by itself, without hot reload.
const EnvGraceful = "BATON_GRACEFUL"

// Environment variables read by the master for its timeouts, as Go durations
// ("45s"). They apply when the corresponding Options field is zero.
const (
	EnvReadyTimeout = "BATON_READY_TIMEOUT"
	EnvDrainTimeout = "BATON_DRAIN_TIMEOUT"
	// EnvHeartbeatTimeout bounds how long a ready worker may leave the
	// master's heartbeat unanswered before the master replaces it
	// (Options.HeartbeatTimeout). "0" or "off" turns the heartbeat off.
	EnvHeartbeatTimeout = "BATON_HEARTBEAT_TIMEOUT"
)

// Environment variables of the generations a reload keeps, read by the
// master when the corresponding Options field is zero.
const (
	// EnvMaxDraining is Options.MaxDraining, a number ("2").
	EnvMaxDraining = "BATON_MAX_DRAINING"
	// EnvLameDuck is Options.LameDuck, a Go duration ("5s").
	EnvLameDuck = "BATON_LAME_DUCK"
	// EnvRollback is Options.Rollback: "1", "true" or "on" keeps the
	// previous generation's executable.
	EnvRollback = "BATON_ROLLBACK"
)

// EnvStrictModes set to "0", "false" or "off" lets the master start
// workers from an executable that is owned by a user other than root and
// itself, or writable by group or others. By default such an executable
// is refused (as sshd's StrictModes refuses loose key files), except at
// the very first start, which only warns: the user ran that binary.
const EnvStrictModes = "BATON_STRICT_MODES"

// EnvFDStore, set to a number other than 0 with NOTIFY_SOCKET set, makes
// the master store its TCP listening sockets in systemd's file descriptor
// store (sd_notify FDSTORE=1), so that they outlive the master; see the
// package documentation. systemd 254 and later set it from
// FileDescriptorStoreMax=; with older versions set it in the unit
// (Environment=FDSTORE=1).
const EnvFDStore = "FDSTORE"

// Default timeouts of the master.
const (
	// DefaultReadyTimeout bounds the time a new worker may take to report
	// that it is ready.
	DefaultReadyTimeout = 30 * time.Second
	// DefaultDrainTimeout bounds the time an old worker may take to finish
	// its in-flight requests and exit.
	DefaultDrainTimeout = 30 * time.Second
	// DefaultExitGrace is the extra time an old worker gets after its drain
	// timeout before the master kills it with SIGKILL.
	DefaultExitGrace = 5 * time.Second
	// DefaultBinaryQuiet is how long a new binary at the executable's path
	// must stay unchanged (size, modification time and content) before
	// Options.WatchBinary reloads into it.
	DefaultBinaryQuiet = 300 * time.Millisecond
	// DefaultDevQuiet is how long the sources must stay unchanged before
	// development mode builds.
	DefaultDevQuiet = 100 * time.Millisecond
	// DefaultHeartbeatTimeout is how long a ready worker may leave the
	// master's heartbeat unanswered before the master declares it hung,
	// starts a new worker and, once that one is ready, kills it.
	DefaultHeartbeatTimeout = 10 * time.Second
	// DefaultHeartbeatInterval is how often the master sends a heartbeat
	// to a ready worker; never more than a quarter of the timeout.
	DefaultHeartbeatInterval = time.Second
)

// Errors returned by this package. Callers compare them with errors.Is.
var (
	// ErrNoMaster is returned by the methods of a nil *Worker: the process
	// runs without a master (see Init) and serves by itself.
	ErrNoMaster = errors.New("baton: no master process")
	// ErrNotSupported is returned where the platform has no master/worker
	// process model (Windows and other non-Unix systems).
	ErrNotSupported = errors.New("baton: process model not supported on this platform")
	// ErrMasterGone is returned by requests to a master whose control
	// channel is closed: the master died or re-executed itself.
	ErrMasterGone = errors.New("baton: master process is gone")
	// ErrReloadTimeout is the cause of a reload whose new worker was not
	// ready within the ready timeout.
	ErrReloadTimeout = errors.New("baton: new worker not ready in time")
	// ErrWorkerExited is the cause of a reload whose new worker exited or
	// was killed by a signal before it was ready.
	ErrWorkerExited = errors.New("baton: new worker exited")
	// ErrWorkerFailed is the cause of a reload whose new worker reported
	// that it could not start (Worker.Fail).
	ErrWorkerFailed = errors.New("baton: new worker failed to start")
	// ErrWorkerStart is the cause of a reload whose new worker process
	// could not be started at all (missing or non-executable binary).
	ErrWorkerStart = errors.New("baton: cannot start new worker")
	// ErrShuttingDown is returned for requests the master refuses or
	// abandons because the program is shutting down or restarting.
	ErrShuttingDown = errors.New("baton: shutting down")
	// ErrProtocol reports a malformed message on the control channel.
	ErrProtocol = errors.New("baton: control protocol error")
	// ErrIncompleteExecutable reports a binary that is not (yet) a whole
	// executable: a section or segment reaches past its end, as in a file
	// still being written.
	ErrIncompleteExecutable = errors.New("baton: incomplete executable")
	// ErrUnsafeExecutable is the cause of a reload, restart or respawn
	// refused because the executable is owned by another user than root
	// and this one, or is writable by group or others. See EnvStrictModes.
	ErrUnsafeExecutable = errors.New("baton: unsafe executable")
	// ErrNoRollback is returned by a rollback when the master keeps no
	// executable of a previous generation: Options.Rollback is off, no
	// reload has promoted a new generation since the start (or since the
	// last restart), or the last one was itself a rollback.
	ErrNoRollback = errors.New("baton: no previous generation to roll back to")
	// ErrDevUnavailable reports that development mode cannot work here:
	// the program was not built from a package of a module (go run
	// file.go), or go list cannot describe it.
	ErrDevUnavailable = errors.New("baton: development mode unavailable")
	// ErrCanaryRolledBack is the cause of a canary reload whose new
	// worker served worse than the old one beyond the thresholds (or
	// died): it was drained and the old worker goes on serving. The
	// error is a *CanaryError, which holds the verdict.
	ErrCanaryRolledBack = errors.New("baton: canary rolled back")
)

// ReloadError describes a failed reload: the new worker did not become ready
// and the old worker goes on serving. Err is one of ErrReloadTimeout,
// ErrWorkerExited, ErrWorkerFailed, ErrWorkerStart, ErrUnsafeExecutable or
// ErrShuttingDown, so callers can use errors.Is.
type ReloadError struct {
	// PID is the process id of the new worker, or 0 if it was not started.
	PID int
	// Cause is a human-readable reason, e.g. "exited with status 3",
	// "exited with status 2: panic: boom" (the first line of the crash
	// report), "killed by signal 9 (killed)", "not ready after 2s", or the
	// text the worker passed to Worker.Fail.
	Cause string
	// Err is the sentinel error classifying the failure.
	Err error
}

// Error returns a message such as
// "baton: reload: new worker 1234: exited with status 3".
func (e *ReloadError) Error() string {
	if e.PID == 0 {
		return "baton: reload: new worker: " + e.Cause
	}
	return fmt.Sprintf("baton: reload: new worker %d: %s", e.PID, e.Cause)
}

// Unwrap returns e.Err.
func (e *ReloadError) Unwrap() error { return e.Err }

// Options configures Init. The zero value is useful: every field has a
// default.
type Options struct {
	// Logger receives the log lines of the master and of the worker side
	// of this package. If nil, a slog text handler on os.Stderr is used.
	Logger *slog.Logger
	// ReadyTimeout bounds the time a new worker may take to call
	// Worker.Ready. If zero, the environment variable BATON_READY_TIMEOUT
	// is used, else DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// DrainTimeout bounds the time an old worker may take to drain. The
	// master kills it DefaultExitGrace later. If zero, the environment
	// variable BATON_DRAIN_TIMEOUT is used, else DefaultDrainTimeout.
	DrainTimeout time.Duration
	// HeartbeatTimeout bounds how long a ready worker may leave the
	// master's heartbeat (sent every DefaultHeartbeatInterval, or a
	// quarter of the timeout if that is shorter) unanswered: the master
	// then starts a new worker and, once it is ready, kills the silent
	// one (trigger "watchdog"). The worker answers from the goroutine
	// reading its control channel, so busy handlers do not delay it. If
	// zero, EnvHeartbeatTimeout is used, else DefaultHeartbeatTimeout; if
	// negative, or EnvHeartbeatTimeout is "0" or "off", there is no
	// heartbeat.
	HeartbeatTimeout time.Duration

	// Canary, if set, makes every reload a canary reload with these
	// settings (baton sets it from "graceful: {canary: ...}" in the
	// configuration file), except the watchdog's replacement of a hung
	// worker and development builds. See CanaryConfig.
	Canary *CanaryConfig
	// OnCanary, if set, is called in a worker when the master starts a
	// canary window that involves it, with the observer its server must
	// feed (CanaryObserver.Observe for every answer), and with nil when
	// the window ends. Calls come from one goroutine; they must not block.
	OnCanary func(*CanaryObserver)
	// MaxDraining bounds how many old generations may drain at once. If
	// zero (EnvMaxDraining unset), a reload waits until the previous old
	// worker has exited, so at most one drains. If positive, a reload
	// never waits: once more than MaxDraining old workers drain, the
	// oldest is killed (SIGKILL), cutting its requests, as HAProxy's
	// mworker-max-reloads does. Whatever the setting, an old worker is
	// killed DefaultExitGrace after its drain timeout.
	MaxDraining int
	// LameDuck is how long the workers go on serving at a shutdown
	// (SIGTERM, SIGINT, SIGQUIT, SIGHUP, Worker.Shutdown) after they are
	// told the program is stopping (Worker.LameDuck), before they drain:
	// time for a load balancer to see the health check fail and send its
	// traffic elsewhere. A worker's ReadyInfo.LameDuck overrides it; if
	// zero, EnvLameDuck is used, else there is none. A second shutdown
	// signal ends it at once. Reloads have no lame duck: the new worker
	// serves on the same sockets.
	LameDuck time.Duration
	// Rollback makes the master keep a copy of the executable of the
	// previous generation after each reload, in a directory of its own
	// that only this user can write, so that a rollback (SIGTTIN,
	// Worker.Rollback) can start it again even once the file on disk has
	// been replaced or removed. If false, EnvRollback decides.
	Rollback bool

	// NoMaster makes Init return a nil *Worker in the program the user
	// started, as EnvGraceful=0 does (baton sets it from "graceful:
	// {enabled: false}" in the configuration file). A worker still
	// connects to its master.
	NoMaster bool
	// WatchBinary makes the master watch the path of its executable: when
	// a new binary is copied or renamed there and stays unchanged for
	// DefaultBinaryQuiet, and is a complete executable, a reload follows
	// (trigger "watch"). See the package documentation, "Binary watch".
	WatchBinary bool
	// Dev turns development mode on: the master runs Builder, which
	// makes new binaries of the program, and reloads into them. If false,
	// EnvDev decides. See "Development mode".
	Dev bool
	// Builder is development mode's builder (baton passes its own, which
	// watches the program's sources and runs go build). If nil,
	// development mode is unavailable: the master says so and runs
	// without it.
	Builder Builder
	// DevFiles lists more files whose changes reload the pages in
	// development mode without a build (baton passes its configuration
	// file); the Builder receives them.
	DevFiles []string
	// DevOutput receives the one-line account of each development build
	// and the compiler output of failed ones. If nil, os.Stderr is used.
	DevOutput io.Writer
	// OnDevState, if set, is called in a worker with each development
	// state the master sends: once right after Init (before any Listen
	// returns) and at every change. Calls come from one goroutine, in
	// order; they must not block.
	OnDevState func(DevState)
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// DrainTimeout returns the drain timeout a setting v asks for: v if it is
// positive, else the duration in EnvDrainTimeout if it parses and is
// positive, else DefaultDrainTimeout. The master and baton's servers both
// decide by it. An invalid EnvDrainTimeout is logged on log, if not nil.
func DrainTimeout(v time.Duration, log *slog.Logger) time.Duration {
	return timeout(v, EnvDrainTimeout, DefaultDrainTimeout, log)
}

// timeout returns v if it is non-zero, else the duration in the environment
// variable env if it parses and is positive, else def. An invalid value is
// logged on log, if not nil.
func timeout(v time.Duration, env string, def time.Duration, log *slog.Logger) time.Duration {
	if v > 0 {
		return v
	}
	if s := os.Getenv(env); s != "" {
		d, err := time.ParseDuration(s)
		if err == nil && d > 0 {
			return d
		}
		if log != nil {
			log.Warn("baton: ignoring invalid duration", "env", env, "value", s)
		}
	}
	return def
}

// DevState is the state of development mode as the master tells it to a
// worker. The zero value means no build has been attempted.
type DevState struct {
	// Build is the number of the build this worker runs: 0 for the binary
	// the program was started with, then 1, 2, ... for each build of
	// development mode.
	Build int `json:"build"`
	// Latest is the number of the newest build attempted.
	Latest int `json:"latest"`
	// Error is why build Failed does not serve: the compiler output
	// (with file:line of each message), or the reload error when its
	// binary could not start. It is "" when no build failed since the
	// last good one served; it stays while a later build is underway.
	Error string `json:"error,omitempty"`
	// Failed is the number of the build Error is about, or 0.
	Failed int `json:"failed,omitempty"`
	// Ready reports that no build is running or waiting to start: the
	// newest good build serves.
	Ready bool `json:"ready"`
	// Refresh counts the changes to watched files that need no rebuild
	// (templates, the configuration file): pages reload when it grows.
	Refresh int `json:"refresh,omitempty"`
	// Poll reports that file events do not arrive here and the master
	// polls modification times instead; workers watching files for
	// development mode should poll too.
	Poll bool `json:"poll,omitempty"`
}

// ReadyInfo is what a worker reports to the master once it is ready. Zero
// fields keep the master's current values.
type ReadyInfo struct {
	// ReadyTimeout replaces the master's ready timeout for later reloads.
	ReadyTimeout time.Duration
	// DrainTimeout replaces the master's drain timeout for this worker and
	// later ones.
	DrainTimeout time.Duration
	// LameDuck replaces Options.LameDuck while this worker serves.
	LameDuck time.Duration
}

// ListenerInfo describes one listening socket held by the master.
type ListenerInfo struct {
	Key     string // the key the worker asked for, e.g. "default/http/0/:8199"
	Network string // "tcp", "tcp4", "tcp6" or "unix"
	Addr    string // the bound address, e.g. "[::]:8199"
}

// Event is one entry of the master's history: a reload, restart, respawn or
// shutdown and its outcome.
type Event struct {
	Time       time.Time     // when the event was triggered
	Kind       string        // "reload", "rollback", "restart", "respawn" or "shutdown"
	Trigger    string        // what asked for it, e.g. "SIGUSR1", "admin", "watchdog"
	OK         bool          // whether it succeeded
	Err        string        // the failure, if any
	OldPID     int           // the worker being replaced, or 0
	NewPID     int           // the new worker, or 0
	Generation int           // the new worker's generation, or 0
	HandOff    time.Duration // from the trigger to the new worker being ready
	// Canary is the verdict of a canary reload, or nil. A rolled back
	// canary is an event with OK false.
	Canary *CanaryVerdict `json:",omitempty"`
}

// Status is a snapshot of the master's state, as returned by Worker.Status.
type Status struct {
	MasterPID         int            // constant for the life of the program
	WorkerPID         int            // the current worker
	Generation        int            // the current worker's generation
	Started           time.Time      // when the master (first) started; kept across restarts
	Executable        string         // the binary the master starts workers from
	ExecutableModTime time.Time      // its modification time now (zero if it cannot be read)
	Listeners         []ListenerInfo // the sockets the master holds
	Reloading         bool           // a reload is in progress
	History           []Event        // oldest first; the last 50 events
	// Canary is the window under way, with the figures so far, or nil.
	Canary *CanaryVerdict `json:",omitempty"`
	// CanaryPromoted and CanaryRolledBack count the canary reloads of
	// this master by outcome, for metrics.
	CanaryPromoted, CanaryRolledBack int
	// Previous is the master's copy of the previous generation's
	// executable, which a rollback starts; "" when there is none (see
	// Options.Rollback).
	Previous string
}

// maxHistory is the number of events the master keeps.
const maxHistory = 50

var (
	initOnce sync.Once
	initW    *Worker
	initErr  error
)

// Init sets up the process model. baton calls it at the first framework call
// (g.Server()), before the application's own code has started goroutines or
// jobs.
//
// In a worker (EnvWorker is set), Init connects to the master on the
// control channel (file descriptor 3), says hello and returns the *Worker.
//
// Init returns nil, nil when the process should serve by itself: when
// EnvGraceful is off, inside a test binary (testing.Testing), or on a
// platform without support (Windows).
//
// Otherwise the calling process becomes the master and Init never returns:
// the master starts the first worker, supervises it, and calls os.Exit when
// the program ends: with status 0 after a clean shutdown, with the worker's
// exit status (or 1) if the very first worker cannot start. Only if the
// master cannot be set up at all (its executable or working directory
// cannot be determined) does Init return, with the error.
//
// Only the first call does anything; later calls return the same result.
// Init is safe for concurrent use.
func Init(opts Options) (*Worker, error) {
	initOnce.Do(func() {
		initW, initErr = initProcess(opts)
	})
	return initW, initErr
}

// DevOn reports whether development mode is on: EnvDev when it names a
// state ("1", "true", "on", "yes" or "0", "false", "off", "no"), else
// opt, the setting of the program (Options.Dev, "dev:" in baton's
// configuration file). It is the one rule: the master and baton both
// decide by it.
func DevOn(opt bool) bool {
	switch os.Getenv(EnvDev) {
	case "1", "true", "TRUE", "True", "on", "ON", "yes":
		return true
	case "0", "false", "FALSE", "False", "off", "OFF", "no":
		return false
	}
	return opt
}

// gracefulOff reports whether EnvGraceful disables the master.
func gracefulOff() bool { return offWord(os.Getenv(EnvGraceful)) }

// offWord reports whether the value of a switch turns it off.
func offWord(s string) bool {
	switch s {
	case "0", "false", "FALSE", "False", "off", "OFF", "Off", "no":
		return true
	}
	return false
}

// heartbeat returns the heartbeat timeout and interval the master uses,
// or zeros when the heartbeat is off.
func heartbeat(v time.Duration, log *slog.Logger) (timeoutD, interval time.Duration) {
	if v < 0 || v == 0 && offWord(os.Getenv(EnvHeartbeatTimeout)) {
		return 0, 0
	}
	d := timeout(v, EnvHeartbeatTimeout, DefaultHeartbeatTimeout, log)
	return d, min(DefaultHeartbeatInterval, d/4)
}
