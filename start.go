package baton

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/baton-go/baton/internal/watch"
)

// This file starts a server: the checks, the HTTPS pair, the sockets
// obtained from the process the server runs in, and net/http serving on
// them; and what a started server tells of itself.

// listener is one bound socket of a server.
type listener struct {
	net.Listener
	scheme string // "http" or "https"
}

// Start binds every configured address and begins serving in the
// background. It returns an error, and serves nothing, if there is no
// address, a port is in use, the HTTPS files cannot be loaded, or the
// directory of a FileStore keeping the sessions is unsafe
// (ErrUnsafeSessionDir).
func (s *Server) Start() error {
	err := s.start()
	if err != nil {
		self.fail(err)
	}
	return err
}

func (s *Server) start() error {
	if s.name != "" {
		if _, err := fileConfig(s.name); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := s.startable()
	if err != nil {
		return err
	}
	https := cfg.HTTPSCertFile != "" || cfg.HTTPSKeyFile != ""
	var tlsConf *tls.Config
	if https {
		if tlsConf, err = s.loadTLS(cfg); err != nil {
			return err
		}
	}
	lns, err := s.bindAll(cfg, https)
	if err != nil {
		return err
	}
	s.router.compile()
	s.serveAll(cfg, lns, tlsConf)
	return nil
}

// startable returns the configuration to start with, or why the server
// cannot start: it runs or ran already, the configuration file's section
// is broken, there is no address, or the session directory is unsafe.
// s.mu is held.
func (s *Server) startable() (ServerConfig, error) {
	switch s.state {
	case stateRunning:
		return ServerConfig{}, ErrServerStarted
	case stateDraining, stateStopped:
		return ServerConfig{}, ErrServerClosed
	}
	if s.fileErr != nil && !s.codeSet["ServerRoot"] {
		return ServerConfig{}, s.fileErr
	}
	cfg := s.cfg
	https := cfg.HTTPSCertFile != "" || cfg.HTTPSKeyFile != ""
	if len(cfg.Addr) == 0 && (!https || len(cfg.HTTPSAddr) == 0) {
		if https {
			return cfg, fmt.Errorf("baton: server %q: HTTPS enabled but no HTTPS port set: %w", s.name, ErrNoAddress)
		}
		return cfg, fmt.Errorf("baton: server %q: %w", s.name, ErrNoAddress)
	}
	if st, ok := s.sessions.Load().store.(*FileStore); ok {
		if err := st.open(); err != nil {
			return cfg, fmt.Errorf("baton: server %q: %w", s.name, err)
		}
	}
	return cfg, nil
}

// loadTLS loads the HTTPS pair and returns the TLS configuration that
// serves it, and the pair that replaces it when its files change.
func (s *Server) loadTLS(cfg ServerConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.HTTPSCertFile, cfg.HTTPSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("baton: server %q: load HTTPS pair %s, %s: %w", s.name, cfg.HTTPSCertFile, cfg.HTTPSKeyFile, err)
	}
	s.tlsCert.Store(&cert)
	return &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.tlsCert.Load(), nil
		},
	}, nil
}

// bindAll obtains a listening socket for every address, from the process
// the server runs in; on an error it closes those it had.
func (s *Server) bindAll(cfg ServerConfig, https bool) ([]*listener, error) {
	var lns []*listener
	bind := func(scheme string, addrs []string) error {
		for i, a := range addrs {
			key := fmt.Sprintf("%s/%s/%d/%s", s.name, scheme, i, a)
			ln, err := self.listen(key, "tcp", a)
			if err != nil {
				return fmt.Errorf("baton: server %q: %w", s.name, err)
			}
			lns = append(lns, &listener{Listener: ln, scheme: scheme})
		}
		return nil
	}
	err := bind("http", cfg.Addr)
	if err == nil && https {
		err = bind("https", cfg.HTTPSAddr)
	}
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	return lns, nil
}

// newHTTPServer returns the net/http server of one scheme, with the
// header and idle timeouts it enforces itself.
func (s *Server) newHTTPServer(cfg ServerConfig, conf *tls.Config, header, idle time.Duration) *http.Server {
	hs := &http.Server{
		Handler:           http.HandlerFunc(s.serveConn),
		TLSConfig:         conf,
		ReadHeaderTimeout: header,
		ReadTimeout:       orDefault(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnState:         s.conns.state,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(s.Logger().Handler(), slog.LevelWarn),
	}
	if hs.ReadTimeout < 0 {
		hs.ReadTimeout = 0
	}
	if hs.MaxHeaderBytes == 0 {
		hs.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return hs
}

// serveAll marks the server running and serves every listener; tlsConf
// is nil without HTTPS. s.mu is held.
func (s *Server) serveAll(cfg ServerConfig, lns []*listener, tlsConf *tls.Config) {
	// Plain HTTP/1 connections have their header and idle timeouts
	// enforced by the tracker, which saves net/http two clock readings per
	// request (see waitFor); HTTPS ones, which may speak HTTP/2, keep
	// net/http's.
	headerTimeout := orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	idleTimeout := orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	sendTimeout := max(orDefault(cfg.SendTimeout, DefaultSendTimeout), 0)
	// A negative timeout is none to net/http; a zero one would fall back
	// to ReadTimeout.
	plain := s.newHTTPServer(cfg, nil, -1, -1)
	s.httpSrvs = []*http.Server{plain}
	var secure *http.Server
	if tlsConf != nil {
		secure = s.newHTTPServer(cfg, tlsConf, headerTimeout, idleTimeout)
		s.serveHTTP2(secure)
		s.httpSrvs = append(s.httpSrvs, secure)
		s.watchCertificate(cfg.HTTPSCertFile, cfg.HTTPSKeyFile)
	}
	s.lns = lns
	s.state = stateRunning
	registerRunning(s)
	for _, l := range lns {
		hs := plain
		var inner net.Listener = &trackingListener{Listener: l.Listener, t: &s.conns,
			headerTimeout: max(headerTimeout, 0), idleTimeout: max(idleTimeout, 0), sendTimeout: sendTimeout}
		if l.scheme == "https" {
			hs = secure
			inner = tls.NewListener(&trackingListener{Listener: l.Listener, t: &s.conns, sendTimeout: sendTimeout}, tlsConf)
		}
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			// Serve returns when the listener is closed by a drain or
			// shutdown; the connections it accepted live on.
			hs.Serve(inner)
		}()
		s.Logger().Info("baton: listening", "server", s.name, "scheme", l.scheme, "addr", l.Addr().String(), "pid", s.pid)
		if cfg.OnListen != nil {
			cfg.OnListen(l.scheme, l.Addr())
		}
	}
}

// watchCertificate reloads the HTTPS pair when its files change, so new
// handshakes use a renewed certificate without a process swap. A pair that
// does not load (half-written, or cert and key not matching yet) is
// ignored until the files settle.
func (s *Server) watchCertificate(certFile, keyFile string) {
	w, err := watch.NewFiles(DefaultQuietPeriod, func([]string) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			s.Logger().Warn("baton: new HTTPS pair not loaded, the old one stays", "server", s.name, "err", err)
			return
		}
		s.tlsCert.Store(&cert)
		s.Logger().Info("baton: HTTPS pair reloaded", "server", s.name, "cert", certFile)
	})
	if err != nil {
		s.Logger().Warn("baton: HTTPS files not watched", "server", s.name, "err", err)
		return
	}
	if err := w.Add(certFile); err != nil {
		s.Logger().Warn("baton: HTTPS files not watched", "server", s.name, "err", err)
	}
	if err := w.Add(keyFile); err != nil {
		s.Logger().Warn("baton: HTTPS files not watched", "server", s.name, "err", err)
	}
	s.certW = w
}

// Addrs returns the addresses the server is bound to, HTTP first, then
// HTTPS. It is empty before Start; with port 0 it tells the port chosen.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	addrs := make([]net.Addr, len(s.lns))
	for i, l := range s.lns {
		addrs[i] = l.Addr()
	}
	return addrs
}

// URL returns a base URL for the server's first listener of the given
// scheme ("http" or "https"), with a loopback host when it listens on all
// interfaces. It is empty if there is no such listener.
func (s *Server) URL(scheme string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lns {
		if l.scheme != scheme {
			continue
		}
		a, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return scheme + "://" + l.Addr().String()
		}
		host := "127.0.0.1"
		if a.IP != nil && !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
	}
	return ""
}

// Run starts the server and blocks until every started server of the
// program has shut down, as Wait does. It returns Start's error, if any.
func (s *Server) Run() error {
	if err := s.Start(); err != nil {
		return err
	}
	Wait()
	return nil
}

// Done returns a channel closed once the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }
