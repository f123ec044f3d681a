//go:build unix && !aix

package proc

import (
	"os"
	"runtime/debug"
)

// masterGCPercent is the GOGC of the master unless GOGC is set. Its live
// heap is tiny and its allocation rate, a few buffers and goroutines per
// worker started, even more so: the default 100, with the runtime's 4 MB
// minimum heap goal, would let every reload's garbage pile up to 4 MB
// before the first collection.
const masterGCPercent = 10

// limitMemory sets the master's garbage collector for a small heap. The
// workers, separate processes, keep the runtime's defaults.
func limitMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(masterGCPercent)
	}
}

// trimMemory returns the memory the master no longer uses to the system,
// after a worker was started or replaced: the heap it freed, and the pages
// of the binary it touched at its start and since (see dropFilePages). The
// heap is small, so this takes well under a millisecond.
func (m *master) trimMemory() {
	debug.FreeOSMemory()
	dropFilePages()
}
