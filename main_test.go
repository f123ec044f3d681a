package baton_test

import (
	"os"
	"sync"
	"testing"
)

// builds caches the programs the process tests compile.
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	builds.Lock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	builds.Unlock()
	os.Exit(code)
}
