package baton

import (
	"fmt"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/baton-go/baton/proc"
)

// This file holds the canary reload on the framework's side: the options
// of Server.Reload, and the observation of this worker's answers while
// the master compares it with another generation (see "Canary reload" in
// the README and proc's CanaryConfig).

// CanaryConfig configures a canary reload: window, share of new
// connections, thresholds. See proc.CanaryConfig.
type CanaryConfig = proc.CanaryConfig

// CanaryVerdict is the outcome of a canary reload, promoted or rolled
// back, with the figures that decided it.
type CanaryVerdict = proc.CanaryVerdict

// CanaryError is the error of a canary reload that was rolled back; it
// holds the verdict.
type CanaryError = proc.CanaryError

// ErrCanaryRolledBack matches (errors.Is) the error of a canary reload
// whose new worker was rolled back: the old one goes on serving.
var ErrCanaryRolledBack = proc.ErrCanaryRolledBack

// ReloadOptions asks Server.Reload for more than a plain reload. The zero
// value is a plain reload (a canary one if the configuration file has a
// "graceful: canary:" section). Of several, the fields set win.
type ReloadOptions struct {
	// Canary, if set, makes the reload a canary: the new worker serves
	// beside this one for Window, on Share of the new connections, and is
	// promoted or rolled back by the thresholds. Its zero fields take the
	// configuration file's section if it is there, else proc's defaults.
	// Reload then returns a *CanaryError if the new worker was rolled
	// back.
	Canary *CanaryConfig
	// Verdict, if set, receives the verdict of a canary reload, promoted
	// or rolled back; it is left alone by a reload that was no canary.
	Verdict *CanaryVerdict
}

// Canary returns the options of a canary reload with cfg.
func Canary(cfg CanaryConfig) ReloadOptions { return ReloadOptions{Canary: &cfg} }

// CanaryResult returns the options that store the verdict of a canary
// reload in v.
func CanaryResult(v *CanaryVerdict) ReloadOptions { return ReloadOptions{Verdict: v} }

// canaryReloader is a host that can run canary reloads: a worker under a
// master.
type canaryReloader interface {
	reloadCanary(trigger string, cfg *CanaryConfig) (*CanaryVerdict, error)
}

// reloadWith performs the reload Server.Reload asks for.
func reloadWith(trigger string, opts []ReloadOptions) error {
	var o ReloadOptions
	for _, x := range opts {
		if x.Canary != nil {
			o.Canary = x.Canary
		}
		if x.Verdict != nil {
			o.Verdict = x.Verdict
		}
	}
	cr, ok := self.(canaryReloader)
	if !ok {
		if o.Canary != nil {
			return fmt.Errorf("baton: a canary reload needs the master: %w", ErrNoMaster)
		}
		return self.reload(trigger)
	}
	if o.Canary != nil {
		if err := o.Canary.Validate(); err != nil {
			return err
		}
	}
	v, err := cr.reloadCanary(trigger, o.Canary)
	if v != nil && o.Verdict != nil {
		*o.Verdict = *v
	}
	return err
}

// canaryObs is the observer of the canary window this worker is in, or
// nil. The request path loads it only where it times a request for the
// access log, which a window turns on (Server.access) for every server.
var canaryObs atomic.Pointer[proc.CanaryObserver]

// setCanary starts (o set) or ends (nil) this worker's observation.
func setCanary(o *proc.CanaryObserver) {
	canaryObs.Store(o)
	list, _ := runningServers()
	for _, s := range list {
		s.access.Store(s.logLine.Load() || o != nil)
	}
}

// canaryFile is the "graceful: canary:" section of the configuration
// file. Its presence makes every reload a canary reload.
type canaryFile struct {
	Window       time.Duration `yaml:"window"`
	Share        float64       `yaml:"share"`
	MaxErrorRate float64       `yaml:"maxErrorRate"`
	MaxP99       time.Duration `yaml:"maxP99"`
	MinRequests  int           `yaml:"minRequests"`
}

// config returns the master's setting of f, nil if there is no section.
func (f *canaryFile) config() *CanaryConfig {
	if f == nil {
		return nil
	}
	return &CanaryConfig{Window: f.Window, Share: f.Share, MaxErrorRate: f.MaxErrorRate, MaxP99: f.MaxP99, MinRequests: f.MinRequests}
}

// check rejects a section no canary can run with, naming the file, the
// line of the section under graceful (node) and the key.
func (f *canaryFile) check(path string, graceful *yaml.Node) error {
	c := f.config()
	if c == nil {
		return nil
	}
	if err := c.Validate(); err != nil {
		line := graceful.Line
		for i := 0; i+1 < len(graceful.Content); i += 2 {
			if graceful.Content[i].Value == "canary" {
				line = graceful.Content[i].Line
			}
		}
		return &ConfigError{File: path, Line: line, Key: "graceful.canary", Msg: err.Error()}
	}
	return nil
}
