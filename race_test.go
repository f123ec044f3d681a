//go:build race

package baton_test

func init() { raceEnabled = true }
