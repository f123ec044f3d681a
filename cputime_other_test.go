//go:build !unix

package baton_test

// processCPU returns -1: the process CPU time is only read on Unix.
func processCPU() int64 { return -1 }
