// Package proc is the process machinery of baton: one master and one worker
// per program, so that the program can replace itself with the binary on
// disk without refusing or dropping a connection. It contains no HTTP code;
// the root package baton drives it.
//
// The master is the process the user started. Its pid never changes, so
// service managers (systemd Type=simple or Type=notify, supervisord, Docker
// with the master as pid 1) see one steady process. The master owns the
// listening sockets, never serves a request, and starts, watches and
// replaces workers: the same binary path, the same arguments and working
// directory, the same environment plus EnvWorker. The worker runs the
// application and serves on duplicates of the master's sockets.
//
// baton calls [Init] at the first framework call:
//
//	w, err := proc.Init(proc.Options{})  // the master never returns from here
//	if err != nil { ... }
//	if w == nil { ... }                  // no master: serve by yourself
//	ln, err := w.Listen("default/http/0/:8199", "tcp", ":8199")
//	if err != nil { w.Fail(err); os.Exit(1) }
//	go srv.Serve(ln)
//	w.Ready(proc.ReadyInfo{})
//	<-w.Draining()
//	ln.Close()
//	srv.Shutdown(ctx)                    // finish in-flight requests, then exit 0
//
// # Hot reload
//
// A reload (SIGUSR1 to the master, or [Worker.Reload]) starts a new worker
// from the binary now on disk, waits until it calls [Worker.Ready] (at most
// the ready timeout), answers the callers of Reload, and then tells the old
// worker to drain: it must exit within the drain timeout, or
// [DefaultExitGrace] later it is killed. If the new worker exits, crashes,
// reports [Worker.Fail] or is not ready in time, it is killed and reaped,
// the old worker goes on serving, and the cause is logged, kept in the
// history ([Worker.Status]) and returned by Reload as a [*ReloadError], e.g.
// "baton: reload: new worker 1234: exited with status 2: panic: boom".
//
// Reloads run one at a time. Requests that arrive during a reload are
// coalesced into one more reload, whose result all of them get. A reload
// does not start while the previous old worker is still draining, so there
// is at most one old worker, except one whose own handler waits for the
// reload (it cannot finish before the reload does). With
// [Options.MaxDraining] N (EnvMaxDraining) a reload never waits: once more
// than N old workers drain, the oldest is killed, so a reload storm leaves
// at most N+2 workers. No handler outlives its worker's drain timeout by
// more than [DefaultExitGrace]: the master kills the worker then.
//
// With [Options.Rollback] (EnvRollback) the master keeps a copy of the
// executable the serving generation runs (on Linux read from
// /proc/<pid>/exe, the file the worker was started from, whatever the
// deploy did to its path since) and of the previous generation's, in a
// directory of its own that only its user can access (named after its
// pid, so that a restart finds it again; removed at exit). A rollback
// (SIGTTIN, [Worker.Rollback]) reloads into the previous copy, under the
// same rules as a reload; it is one step back: the next rollback is
// refused with [ErrNoRollback] until a reload has promoted a new
// generation. Respawns after a rollback start the copy; the next reload
// starts the executable's path again.
//
// A restart (SIGUSR2, [Worker.Restart]) also replaces the master: it
// re-executes itself from the binary on disk (same pid; the sockets are
// kept open across the exec, so new connections wait in the backlog rather
// than being refused) and starts a fresh worker. The master's ends of the
// serving worker's control channel and crash pipe are kept open across the
// exec too, so that worker goes on accepting, adopted by the new master,
// until the fresh worker is ready, and then drains as at a reload; if the
// fresh worker fails, the old one goes on serving and the restart is
// recorded as failed. If the exec fails, the worker, never told anything,
// goes on serving. After the exec there is nothing to fall back on, so the
// master first runs the binary with BATON_PROBE=1, which makes [Init] exit
// 0: a binary that cannot be executed, or exits or crashes before its
// first call of Init, fails that probe, the restart is refused with the
// reason (and the probe's last output), and the worker goes on serving. A
// binary that passes and fails later leaves the master running, starting
// workers with the backoff below.
//
// A shutdown (SIGINT, SIGTERM, SIGQUIT, SIGHUP, [Worker.Shutdown]) drains
// the workers, waits for them (bounded), closes the sockets and exits 0. A
// second signal during a shutdown kills the workers at once. With a lame
// duck ([Options.LameDuck], EnvLameDuck, or the worker's
// [ReadyInfo.LameDuck]) the master first sends the worker "lameduck"
// ([Worker.LameDuck] closes: its health check should fail) and waits that
// long, the worker serving as before, before the drain; a second signal
// ends the wait.
//
// Before it starts a worker or restarts, the master checks the executable
// as sshd's StrictModes checks key files: it must be owned by root or by
// the master's effective user and not be writable by group or others.
// Otherwise the reload, restart or respawn is refused with
// [ErrUnsafeExecutable] ("unsafe executable /srv/app: writable by group or
// others (mode 0777)"), logged and kept in the history, and the old worker
// goes on serving. The binary the program was started from only draws a
// warning at the first start: the user ran it. [EnvStrictModes]=0 turns
// the check off. Development builds, which the master writes into its own
// private directory, are not checked.
//
// A worker that dies unexpectedly (a crash, kill -9) is replaced at once,
// then with a backoff of 100ms, 200ms, ... up to 5s if it keeps dying; the
// backoff resets once a worker has been ready for 10s. A worker that exits
// with status 0 without being asked to drain ends the program: the master
// exits 0. If the very first worker cannot become ready, the master logs why
// and exits with that worker's exit status, or 1. A worker whose master
// dies sees its control channel close: Draining is closed, so it drains and
// exits instead of holding the port alone.
//
// # Canary reload
//
// With [Options.Canary] set, or when a worker asks for one
// ([Worker.ReloadCanary]), a reload whose new worker became ready goes
// on for a window in which both workers accept on the same sockets. The
// share of new connections is steered by time: each [CanarySlot] is cut
// at the share, the new worker accepts before the cut and the old one
// after it, with a millisecond of overlap, both reading the system
// clock; outside its part a worker waits on a timer, not in accept.
// Each worker reports, every 200ms, the connections it accepted, its
// answers, 5xx, panics and a latency histogram ([CanaryObserver], which
// baton feeds). At the end of the window, or at once if either worker
// dies, the master judges: the new worker is rolled back if it died,
// sent no figures for 2s, or answered 5xx more often than MaxErrorRate
// and than the old one, or had a p99 above MaxP99 and the old one's;
// with fewer than MinRequests answers it is promoted as inconclusive.
// The loser is drained, the survivor accepts alone again, and the
// verdict ([CanaryVerdict]) goes into the reload's event, the log, the
// reply and [Status] (the window under way, the counts of outcomes). A
// shutdown during the window rolls the new worker back. The watchdog's
// replacement of a hung worker and development builds are never
// canaries.
//
// # Watchdog
//
// The master sends each ready worker a heartbeat on its control channel
// every second ([DefaultHeartbeatInterval]), one at a time. A worker
// answers from the goroutine that reads the channel, so a worker busy in
// its handlers answers too; one that leaves a heartbeat unanswered for
// [DefaultHeartbeatTimeout] (10s; [Options.HeartbeatTimeout] or
// [EnvHeartbeatTimeout], "0" or "off" for none) is stopped (kill -STOP) or
// wedged. The master then replaces it as a reload would (trigger
// "watchdog"): a new worker starts from the current binary, and once it is
// ready the silent one is killed with SIGKILL, since it cannot drain. If
// the new worker fails, the silent one stays and the master tries again
// after another timeout.
//
// # Binary watch
//
// With [Options.WatchBinary], the master watches the directory of its
// executable's path. When a new binary is copied or renamed there, it
// waits until the file has kept its size and modification time for
// [DefaultBinaryQuiet] after the last event, hashes it (the size and time
// must not move meanwhile), and reloads (trigger "watch") if the content
// differs from the binary it last acted on and the file is a complete
// executable: every section and segment of the ELF, Mach-O or PE file ends
// within it. That last check is what keeps a copy that pauses half-way for
// longer than the quiet period from being started. A new binary that
// fails to start is handled like any failed reload: the old worker goes on
// serving. A running executable cannot be opened for writing on Linux
// (ETXTBSY): deploy by rename, or remove the file first (cp
// --remove-destination, install(1)). The other way round, a file still open
// for writing cannot be run: the master tries again for up to a second
// before it counts the start of such a binary as failed.
//
// # Development mode
//
// With [Options.Dev] or [EnvDev]=1, the master runs [Options.Builder], a
// [Builder] that makes new binaries of the program (baton's watches the
// sources and runs go build; its package documentation tells how). proc
// knows nothing of sources, templates or pages: through its [BuildHost] the
// builder has the master reload into a build (exactly as SIGUSR1 would, so
// the old worker serves until the new one is ready; the binary path comes
// from the builder in the master, never from a signal or a worker's
// message), changes the development state, runs commands with the
// workers' environment (reaped like workers, killed with their process
// group) and learns which build serves. The master tells the builder when
// one of its builds serves ([Handoff]), keeps the builder's directory
// across a restart and removes it at exit. builder.go holds these types,
// builder_unix.go the master's side of them.
//
// The master sends each worker the development state ([DevState]: the
// build it runs, the newest build, its error, whether the newest good
// build serves) in a "dev" message, the first the worker reads, and at
// every change; [Options.OnDevState] receives it.
//
// Development mode is not available when the program was built from
// files (go run main.go) rather than a package, nor on platforms without
// the master (Windows).
//
// # Counters
//
// A reload replaces the process that counts, so counters kept in a worker
// would start again from zero at each one. Instead each worker reports
// its counters to the master ([Worker.Counters], a [Report]: names and
// values that only grow) and gets back the sum over every worker of the
// program ([Totals]); baton's metrics report at every scrape, every
// second while draining, and one last time when the drain is over. The
// master keeps, per worker, the largest value each name was reported
// with, and the sum of the workers gone (folded in at a worker's final
// report, or when it is reaped: a worker killed keeps its last report).
// A total is thus a sum of values none of which goes down, so it never
// goes down, also while an old and a new worker overlap; and a scrape
// that starts after another has answered is at least as large, since the
// scraped worker's own report is part of the sum it gets.
//
// The master's own counts travel in the same answer ([Stats]): reloads,
// restarts and respawns by trigger and outcome, hand-off times, crashes,
// the generation, the draining workers and their connections, and the
// master's resident memory. They are plain numbers in maps bounded in
// size: the master links no metrics library. A restart passes them, with
// the sums, to the re-executed master in its state.
//
// # Signals
//
// The master handles:
//
//	SIGUSR1                          reload
//	SIGUSR2                          restart
//	SIGTTIN                          rollback (with Options.Rollback)
//	SIGINT, SIGTERM, SIGQUIT, SIGHUP shutdown
//	SIGCHLD                          reap children
//
// A worker relays SIGUSR1 and SIGUSR2 to the master as reload and restart
// requests (not SIGTTIN: a rollback is one step, and a signal to the group
// reaches the master itself), and SIGINT, SIGTERM, SIGQUIT and SIGHUP as a shutdown request
// (if the master is gone, it closes Draining instead). So a signal sent to
// the whole process group, such as Ctrl-C in a terminal, goes through the
// master either way; a SIGUSR1 sent to the group may cause a second,
// coalesced reload.
//
// # Protocol
//
// The control channel is a Unix stream socket pair; the worker's end is its
// file descriptor 3. Each message is one line of JSON with a "type". The
// worker sends "hello", "listen", "ready", "fail", "drained",
// "reload", "rollback", "restart", "shutdown", "status", "counters", "pong" and, in a
// canary window, "stats" (its figures, every 200ms); requests carry an
// "id" and the master answers each with a "reply" of the same id. A reply
// to "listen" carries exactly one listening socket as SCM_RIGHTS, marked
// by "fd": true. The master sends "drain", "lameduck", "ping" (the heartbeat, which
// the worker answers with "pong") and, in development mode, "dev" on its
// own, and "canary" at the start (with the worker's role and the share)
// and the end of a canary window. A "reload" may carry a CanaryConfig;
// its reply then carries the CanaryVerdict. File descriptor 4 of a worker is a pipe
// that the worker makes its crash output (runtime/debug.SetCrashOutput), so
// that the master can name the first line of a fatal panic without copying
// the worker's stderr. Workers share the master's stdout and stderr.
//
// At a restart, the master passes its sockets to its re-executed self as
// inherited descriptors named in BATON_FDS ("fd=key" pairs) and its state
// (start time, generation counter, history, draining workers, and the
// serving worker with the descriptors of its channel and crash pipe) in
// BATON_STATE. Neither is visible to workers or to the application.
//
// # Sockets
//
// The master keeps each listening socket as a raw, non-blocking,
// close-on-exec descriptor and never wraps it in an *os.File: the
// non-blocking flag belongs to the socket, shared by every duplicate in
// every process, and (*os.File).Fd would clear it. [Worker.Listen] finds the
// socket held for its key, else a socket-activation socket named after the
// key or bound to the address, else a held socket bound to the same
// (non-zero port) address, else binds a new one. After a reload the master
// closes the sockets the current worker no longer uses (except
// socket-activation ones).
//
// # systemd
//
// With NOTIFY_SOCKET set (Type=notify or Type=notify-reload), the master
// sends READY=1 and MAINPID once the first worker is ready, RELOADING=1 with
// MONOTONIC_USEC when a reload or restart starts and READY=1 when it ends,
// and STOPPING=1 at shutdown. Abstract socket names ("@...") work. With
// WATCHDOG_USEC set (WatchdogSec=) and WATCHDOG_PID unset or the master's,
// the master sends WATCHDOG=1 every half interval for as long as its
// supervising loop answers; a master stuck for the whole interval falls
// silent, and systemd acts on it. The workers get none of these variables. With
// socket activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), the master
// adopts the passed sockets and hands them to workers whose Listen key
// equals the socket's name (FileDescriptorName=) or whose address matches
// its bound address. The variables are removed from the environment.
//
// With [EnvFDStore] set as well (FileDescriptorStoreMax= sets it on
// systemd 254 and later), the master puts a copy of each TCP socket it
// binds in systemd's file descriptor store (FDSTORE=1, FDNAME=baton=
// and the socket's key, escaped), so that the socket outlives the master:
// after a crash or a systemctl restart (FileDescriptorStorePreserve=yes)
// the next master receives the copies as LISTEN_FDS, adopts them under
// their keys without binding, and the connections that waited in the
// backlog meanwhile are served. A socket closed because no worker uses it
// any more is removed from the store (FDSTOREREMOVE=1).
// examples/systemd holds unit files.
//
// # Configuration
//
// [Options] sets the logger and the timeouts; BATON_READY_TIMEOUT,
// BATON_DRAIN_TIMEOUT and BATON_HEARTBEAT_TIMEOUT (Go durations) apply
// when the fields are zero, and a worker's [ReadyInfo] overrides the first
// two for the reloads that follow. BATON_HEARTBEAT_TIMEOUT=off turns the
// heartbeat off, BATON_STRICT_MODES=0 the check of the executable's owner
// and mode, BATON_GRACEFUL=0 (or false, off) the master;
// BATON_MAX_DRAINING, BATON_LAME_DUCK and BATON_ROLLBACK are
// [Options.MaxDraining], [Options.LameDuck] and [Options.Rollback].
//
// # Files
//
// The master is one type whose code is cut by concept, each file saying at
// its top what it owns:
//
//	master_unix.go    the master's state and construction, its run loop, status and history
//	reload_unix.go    the requests: their queue, the reload (coalescing, rollback), the shutdown
//	child_unix.go     the worker lifecycle: spawn, ready, respawn with backoff, drain, kill deadline;
//	                  and procs, the seam through which the decisions start and signal workers
//	dispatch_unix.go  the master's side of the control channel
//	status_unix.go    the status a worker asks for, answered once the asker serves
//	fds_unix.go       the socket table (its own lock), the socket and its system calls
//	restart_unix.go   the restart: probe, exec, and the restore of sockets and state
//	canary_unix.go    the canary reload: which reloads are canaries, the window, verdict, rollback
//	overlap_unix.go   the settings of the generations; the bound on old workers draining
//	lameduck_unix.go  the lame duck of a shutdown
//	rollback_unix.go  the kept executables and the rollback into the previous one
//	handover_unix.go  the worker that serves across a restart: its channel and pipe
//	                  carried over the exec, and its replacement by the new master
//	watchdog_unix.go  the heartbeat of workers and the notifications to systemd's watchdog
//	binwatch_unix.go  the binary watch
//	reaper_unix.go    the reaper, which waits for every child
//	command_unix.go   commands the master runs through its reaper
//	memory_unix.go    the master's memory: its GC setting and the trim after a reload
//	                  (filepages_*.go drops the pages of the binary it touched)
//	sdnotify_unix.go  notifications to the service manager (monotonic_*.go: their clock)
//	fdstore_unix.go   the sockets kept in the service manager's file descriptor store
//	init_unix.go      Init: probe, worker or master
//	builder.go        the hook of development mode: [Builder] and [BuildHost]
//	builder_unix.go   the master's side of it: the host, the state sent to workers
//	counters_unix.go  the counters that survive reloads and the master's own counts
//
// The worker's side: worker.go and worker_unix.go ([Worker]), the wire
// protocol in control_unix.go; canary.go the rules, figures and verdict
// of a canary reload, canary_gate_unix.go the worker's accept gate and
// reports; proc.go the options, errors and types of
// the API; counters.go the types of the counters; fds.go the encoding of inherited sockets (BATON_FDS,
// LISTEN_FDS); exefile.go and exeowner_unix.go the checks of an
// executable; proc_other.go the stubs where there is no master.
//
// # NOTES
//
// Code that runs before the first framework call runs in the master too,
// and again in every worker: keep it to flag parsing and configuration.
// Goroutines, jobs, database connections and anything else with side effects
// belong after it, which only workers run.
//
// If reloads do not pick up your changes, you are probably using "go run":
// it builds a temporary binary, and the master starts workers from that
// same file. Build the binary, run it, and rebuild it to its path (or swap
// it in by rename) before a reload. Or use development mode, which builds
// for you.
//
// The executable path is resolved once, when the master starts. When the
// program was started through a path that names the same file (for
// instance a "current" symlink of a release directory), that path is kept,
// so switching the symlink and reloading starts the new release.
//
// The master waits for any of its children (it must reap orphans when it is
// pid 1 of a container). Code that runs in the master must therefore not
// start processes and wait for them with os/exec: the wait would fail with
// ECHILD. Development mode starts go list and go build through the
// master's own reaper, in a process group of their own, for that reason.
//
// net/http's Server.Shutdown closes, unanswered, a connection it accepted
// but whose request it had not yet read. On drain, close the listeners
// first, let the connections already accepted deliver their first request
// (http.Server.ConnState tells which are still StateNew), and only then
// call Shutdown.
//
// Without a master the process serves by itself and there is no hot reload:
// under "go test" (testing.Testing), with BATON_GRACEFUL=0, and on Windows
// and other platforms without Unix process semantics (AIX included), where
// Init returns a nil *Worker.
package proc
