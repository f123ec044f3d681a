package proc

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Builder is the other half of development mode: it makes new binaries of
// the program and has the master reload into them through a [BuildHost].
// The master uses [Options.Builder] when development mode is on
// ([Options.Dev] or [EnvDev]); baton's own builder watches the program's
// sources and runs go build. proc knows nothing of sources or pages: it
// runs the builder, reloads when asked, and sends the workers the
// [DevState] the builder sets.
//
// The master calls Prepare once, in the master only; if it succeeds, Run
// in a goroutine of its own and then Served, from its run goroutine, each
// time a build of the builder serves. Dir is read after Prepare.
type Builder interface {
	// Prepare readies the builder with what the master offers. An error
	// (wrapping ErrDevUnavailable when development mode cannot work
	// here) leaves development mode off.
	Prepare(h BuildHost, c BuildConfig) error
	// Run is the builder's life: it returns only if the builder gives
	// up.
	Run()
	// Served tells the builder that one of its builds serves now. It
	// must not block.
	Served(h Handoff)
	// Dir returns the directory the builder writes to, or "": the master
	// keeps it across a restart (BuildConfig.Kept) and removes it when it
	// exits.
	Dir() string
}

// BuildConfig is what the master tells a Builder at Prepare.
type BuildConfig struct {
	// Dir is the master's working directory.
	Dir string
	// Kept is the builder directory the master was restarted with (see
	// Builder.Dir), or "".
	Kept string
	// Files is Options.DevFiles.
	Files []string
	// Output is Options.DevOutput, or os.Stderr when that is nil.
	Output io.Writer
	// Logger is the master's logger.
	Logger *slog.Logger
}

// BuildHost is what a Builder may ask of the master. Its methods are safe
// for concurrent use.
type BuildHost interface {
	// Reload asks the master to reload into the binary at path, build n
	// of the builder (n > 0), as SIGUSR1 would, and calls reply once
	// with the outcome: nil when a worker of it serves.
	Reload(path string, n int, reply func(error))
	// SetDev changes the development state with f and sends it to every
	// worker.
	SetDev(f func(*DevState))
	// Serving returns the path of the binary workers start from and its
	// build: 0 for the program's own binary.
	Serving() (path string, build int)
	// DrainBound returns how long a replaced worker may take to drain
	// and exit.
	DrainBound() time.Duration
	// Run runs name with args in dir with the workers' environment,
	// writing its standard output and error to stdout and stderr (nil
	// discards). Cancelling ctx kills it and every process it started.
	// It fails with an error naming the command and how it ended.
	Run(ctx context.Context, dir string, stdout, stderr io.Writer, name string, args ...string) error
}

// Handoff tells a Builder that one of its builds took over from a worker.
type Handoff struct {
	// Build is the build now serving.
	Build int
	// Started and Ready are when its worker was started and reported
	// ready.
	Started, Ready time.Time
	// OldBuild is the build of the worker replaced: 0 for the program's
	// own binary.
	OldBuild int
	// Wait, when a worker was replaced, waits up to d for it to report
	// its drain or to exit, and says what it did. Nil when none was.
	Wait func(d time.Duration) Drain
}

// Drain is what a replaced worker did, as Handoff.Wait reports it.
type Drain struct {
	// Reported is true when the worker reported how many requests it
	// drained: Requests.
	Reported bool
	Requests int
	// Exited is true when the worker has exited, as Cause says
	// ("exited with status 0").
	Exited bool
	Cause  string
}
