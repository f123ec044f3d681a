//go:build unix && !aix

package proc

import (
	"os"
	"testing"
)

func initProcess(opts Options) (*Worker, error) {
	if os.Getenv(envProbe) == "1" {
		// A master about to restart into this binary checks that it gets
		// this far; see master.probe.
		os.Exit(0)
	}
	if gen := os.Getenv(EnvWorker); gen != "" {
		return initWorker(opts, gen)
	}
	if opts.NoMaster || gracefulOff() || testing.Testing() {
		return nil, nil
	}
	m, err := newMaster(opts)
	if err != nil {
		return nil, err
	}
	// This process is the master from here on: it never returns to the
	// application, and its exit is the program's.
	code := m.run()
	m.cleanup()
	os.Exit(code)
	panic("unreachable")
}
