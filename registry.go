package baton

import "sync"

// This file holds the program's servers: the named ones (GetServer) and
// the running ones that Wait waits for.

// registry holds the named servers. Besides it the package keeps only the
// set of running servers Wait watches, the program's configuration (Cfg)
// and the process model's worker handle, each set up once and guarded.
var registry struct {
	sync.Mutex
	servers map[string]*Server
	order   []*Server
}

// GetServer returns the server with the given name, creating it on first
// use; no name means DefaultServerName. The same name always yields the same
// *Server. It is safe for concurrent use.
//
// The first call of GetServer or New in a program is where the process
// model takes over: unless graceful mode is off, the program becomes the
// master there, and the code after the call runs only in workers.
func GetServer(name ...string) *Server {
	initProcess()
	n := DefaultServerName
	if len(name) > 0 && name[0] != "" {
		n = name[0]
	}
	registry.Lock()
	defer registry.Unlock()
	if s, ok := registry.servers[n]; ok {
		return s
	}
	if registry.servers == nil {
		registry.servers = make(map[string]*Server)
	}
	s := newServer(n)
	registry.servers[n] = s
	registry.order = append(registry.order, s)
	return s
}

// New returns a server that is not in the registry: Wait does not wait for
// it and Reload does not hand it listeners unless it is started. It suits an
// application that mounts the server as an http.Handler elsewhere.
func New() *Server {
	initProcess()
	return newServer("")
}

// running tracks started servers for Wait.
var running struct {
	sync.Mutex
	servers map[*Server]struct{}
	changed chan struct{} // closed and replaced at every change
}

func registerRunning(s *Server) {
	running.Lock()
	defer running.Unlock()
	if running.servers == nil {
		running.servers = make(map[*Server]struct{})
	}
	running.servers[s] = struct{}{}
	notifyRunningLocked()
}

func unregisterRunning(s *Server) {
	running.Lock()
	defer running.Unlock()
	delete(running.servers, s)
	notifyRunningLocked()
}

func notifyRunningLocked() {
	if running.changed != nil {
		close(running.changed)
	}
	running.changed = make(chan struct{})
}

func runningServers() ([]*Server, chan struct{}) {
	running.Lock()
	defer running.Unlock()
	if running.changed == nil {
		running.changed = make(chan struct{})
	}
	list := make([]*Server, 0, len(running.servers))
	for s := range running.servers {
		list = append(list, s)
	}
	return list, running.changed
}

// Wait blocks until every started server has shut down. Under the master
// it first reports the worker ready (every server started so far accepts),
// and it drains every server when the master asks for it. Without a master
// it shuts the servers down gracefully on SIGINT or SIGTERM, except under
// go test.
func Wait() {
	stop := self.ready()
	for {
		list, changed := runningServers()
		if len(list) == 0 {
			return
		}
		select {
		case <-changed:
		case <-stop:
			stop = nil
			shutdownAll(list)
		}
	}
}

// shutdownAll drains the given servers in parallel, once all of them have
// stopped accepting.
func shutdownAll(list []*Server) {
	for _, s := range list {
		s.beginDrain()
	}
	// Counters that survive reloads: reported while the drain lasts, and
	// a last time once it is over (observe.go).
	drained := make(chan struct{})
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		reportWhileDraining(drained)
	}()
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Go(func() {
			if err := s.Shutdown(); err != nil {
				s.Logger().Warn("baton: shutdown", "server", s.name, "err", err)
			}
		})
	}
	wg.Wait()
	close(drained)
	<-reported
	var served int64
	for _, s := range list {
		served += s.conns.served.Load()
	}
	self.drained(served)
}
