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

// A ReloadOption changes what Server.Reload does.
type ReloadOption func(*reloadOptions)

type reloadOptions struct {
	canary  *CanaryConfig
	verdict *CanaryVerdict
}

// Canary makes the reload a canary: the new worker serves beside this one
// for cfg.Window, on Share of the new connections, and is promoted or
// rolled back by the thresholds. Zero fields take the "graceful: canary:"
// section of the configuration file if it is there, else proc's defaults.
// Reload then returns a *CanaryError if the new worker was rolled back.
func Canary(cfg CanaryConfig) ReloadOption {
	return func(o *reloadOptions) { o.canary = &cfg }
}

// CanaryResult makes Reload store the verdict of a canary reload in v,
// promoted or rolled back; v is left alone by a reload that was no canary.
func CanaryResult(v *CanaryVerdict) ReloadOption {
	return func(o *reloadOptions) { o.verdict = v }
}

// canaryReloader is a host that can run canary reloads: a worker under a
// master.
type canaryReloader interface {
	reloadCanary(trigger string, cfg *CanaryConfig) (*CanaryVerdict, error)
}

// reloadWith performs the reload Server.Reload asks for.
func reloadWith(trigger string, opts []ReloadOption) error {
	var o reloadOptions
	for _, f := range opts {
		f(&o)
	}
	cr, ok := self.(canaryReloader)
	if !ok {
		if o.canary != nil {
			return fmt.Errorf("baton: a canary reload needs the master: %w", ErrNoMaster)
		}
		return self.reload(trigger)
	}
	if o.canary != nil {
		if err := o.canary.Validate(); err != nil {
			return err
		}
	}
	v, err := cr.reloadCanary(trigger, o.canary)
	if v != nil && o.verdict != nil {
		*o.verdict = *v
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
		s.access.Store(s.accessLine.Load() || o != nil)
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
