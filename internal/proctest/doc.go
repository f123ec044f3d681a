// Package proctest is the harness of the tests that run real programs:
// the root package's tests of the examples and proc's tests of its master
// and workers. Each suite keeps only what is its own (the programs it
// builds, the answers it parses) as thin code over this package.
//
// The files:
//
//   - build.go: [Builds] compiles a package into a binary once per test
//     binary, sharing the go build cache; [Install] puts a binary in place
//     by rename, as a deployment does; [FreePort].
//   - program.go: [Start] runs a program in its own process group and kills
//     it and every process below it by pid when the test ends; a
//     [Program] sends it signals and HTTP requests and waits for a worker,
//     a log line or its exit.
//   - log.go: [Log], the program's combined output, and the wait for a
//     line.
//   - proc.go: processes as /proc tells them: parents, states, zombies,
//     memory, environment.
//   - fds.go: descriptors and listening sockets as /proc tells them.
//   - metrics.go: [Metric], a sample of a Prometheus scrape.
//
// All but build.go and log.go are Linux only.
package proctest
