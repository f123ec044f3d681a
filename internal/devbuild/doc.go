// Package devbuild is baton's development-mode builder: the [Builder] that
// the master of a program in development mode runs (see the proc package,
// "Development mode"). It watches the program's sources, builds it with go
// build after each change, and has the master reload into the new binary;
// a change to a template only refreshes the pages.
//
// The files of the package:
//
//	builder.go   Builder: Prepare, go list and go build, the account of a build that serves
//	loop.go      the builder's event loop, one method per event
//	watch.go     the source watch (internal/watch) and the probe that chooses events or polling
//	sources.go   the source set: what is watched, what a change asks for, the hash of the build inputs
//
// # Development mode
//
// The builder finds the main package and module in the binary's build
// information (runtime/debug.ReadBuildInfo), runs "go list -deps" in the
// module root (found by walking up from the working directory to go.mod,
// or [proc.EnvDevDir]) and watches the directories of the packages of the
// main module, the directories of the files they embed, template
// directories next to them or at the module root ("template", "templates",
// "views"), go.mod, go.sum and [proc.Options.DevFiles]; not vendor,
// node_modules, .git, bin, dist, or editor files (watch.Ignored: *~, .#*,
// #*#, *.swp, *.swx, *.swo, *.tmp, 4913, ...).
//
// At start it writes a probe file in the main package's directory; if its
// event does not arrive within a second (network file systems, some
// container mounts), it polls modification times instead, as it does with
// [proc.EnvDevPoll]=1. [proc.DefaultDevQuiet] after the last change to a
// build input it hashes the build inputs and, if they differ from the last
// build's, runs "go build -o" into a fresh path in a temporary directory
// (with the -tags the program was built with). A change during a build
// kills that build, compilers included, and starts another. A good build
// is reloaded into through the master. A change to a template or a
// DevFiles file only raises [proc.DevState].Refresh, so pages reload
// without a build.
//
// A build that fails to compile, or whose binary does not start, keeps
// the old worker serving and sets the state's Error to the compiler output
// or the reload error; the next good build clears it.
// [proc.Options.DevOutput] gets one line per build:
//
//	baton: build 7 ready in 1.2s (go build 1.1s), handed off in 8ms; build 6 drained 3 requests
//
// "ready in" runs from the first change seen to the new worker's ready,
// "handed off" from its start to its ready; the drained count is what the
// old worker reported with [proc.Worker.Drained] before it exited.
package devbuild
