package baton

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// The profiles of the Go runtime, served as net/http/pprof serves them,
// for go tool pprof and go tool trace. This is not net/http/pprof itself:
// importing that package registers its handlers on http.DefaultServeMux,
// unprotected, in every program that links baton.

// DefaultPProfPattern is where EnablePProf serves by default.
const DefaultPProfPattern = "/debug/pprof"

// Bounds of the profiles that take a duration.
const (
	// DefaultProfileSeconds is the duration of a CPU profile or an
	// execution trace when the request gives none.
	DefaultProfileSeconds = 30
	// MaxProfileSeconds is the longest one a request may ask for.
	MaxProfileSeconds = 300
)

// EnablePProf serves the runtime's profiles at pattern
// (DefaultPProfPattern if not given), as GoFrame's EnablePProf and
// net/http/pprof do:
//
//	<pattern>/                 the index of profiles
//	<pattern>/profile?seconds=N a CPU profile (30 s if not given, at most 300)
//	<pattern>/trace?seconds=N  an execution trace
//	<pattern>/heap, allocs, goroutine, block, mutex, threadcreate (?debug=1 for text, ?gc=1 for heap after a GC)
//	<pattern>/cmdline          the command line
//
// A profile tells much about the program and a CPU profile costs, so it
// has the admin page's access rules (ServerConfig.Admin): with neither a
// token nor AllowLocal or Allow set, nobody gets in. The admin page
// (EnableAdmin) serves the same at <admin pattern>/pprof/. Call it before
// Start.
//
//	go tool pprof -http=: 'http://localhost:8199/debug/pprof/profile?seconds=10'
func (s *Server) EnablePProf(pattern ...string) {
	p := DefaultPProfPattern
	if len(pattern) > 0 && pattern[0] != "" {
		p = "/" + strings.Trim(pattern[0], "/")
	}
	a := &admin{s: s, prefix: p}
	s.bindPProf(p, a.guard(servePProf), callSite())
	s.markEnabled("pprof")
}

// bindPProf registers the profiles below prefix.
func (s *Server) bindPProf(prefix string, h HandlerFunc, site string) {
	if err := s.router.register(s.router.root, "GET:"+prefix+"/*profile", h, site); err != nil {
		panic(err)
	}
}

// servePProf serves the profile the path's last segment names.
func servePProf(r *Request) {
	name := strings.Trim(r.Param("profile"), "/")
	h := r.Response.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	switch name {
	case "":
		pprofIndex(r)
	case "cmdline":
		h.Set("Content-Type", "text/plain; charset=utf-8")
		r.Response.Write(strings.Join(os.Args, "\x00"))
	case "profile":
		timedProfile(r, "profile", func(w *bytes.Buffer) error { return pprof.StartCPUProfile(w) }, pprof.StopCPUProfile)
	case "trace":
		timedProfile(r, "trace", func(w *bytes.Buffer) error { return trace.Start(w) }, trace.Stop)
	default:
		p := pprof.Lookup(name)
		if p == nil {
			r.Response.WriteStatus(http.StatusNotFound, "unknown profile "+strconv.Quote(name)+"\n")
			return
		}
		if name == "heap" && r.GetQuery("gc").Int() > 0 {
			runtime.GC()
		}
		debug := r.GetQuery("debug").Int()
		if debug > 0 {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		}
		var b bytes.Buffer
		if err := p.WriteTo(&b, debug); err != nil {
			r.Response.WriteStatus(http.StatusInternalServerError, "profile "+name+": "+err.Error()+"\n")
			return
		}
		r.Response.Write(b.Bytes())
	}
}

// timedProfile runs a profile for the seconds the request asks for, or
// until the client goes away.
func timedProfile(r *Request, name string, start func(*bytes.Buffer) error, stop func()) {
	sec := DefaultProfileSeconds
	if q := r.GetQuery("seconds").String(); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 || n > MaxProfileSeconds {
			r.Response.WriteStatus(http.StatusBadRequest, fmt.Sprintf("seconds=%q: want 1 to %d\n", q, MaxProfileSeconds))
			return
		}
		sec = n
	}
	var b bytes.Buffer
	if err := start(&b); err != nil {
		// Another profile of the kind runs: the runtime allows one.
		r.Response.WriteStatus(http.StatusConflict, name+": "+err.Error()+"\n")
		return
	}
	t := time.NewTimer(time.Duration(sec) * time.Second)
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
	}
	stop()
	h := r.Response.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	r.Response.Write(b.Bytes())
}

// pprofIndex lists the profiles.
func pprofIndex(r *Request) {
	r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html><title>profiles</title><h1>Profiles</h1><ul>\n")
	for _, p := range pprof.Profiles() {
		n := html.EscapeString(p.Name())
		fmt.Fprintf(&b, `<li><a href="%s?debug=1">%s</a> (%d)`+"\n", n, n, p.Count())
	}
	b.WriteString(`<li><a href="profile?seconds=30">profile</a> (CPU, 30 s)` + "\n")
	b.WriteString(`<li><a href="trace?seconds=5">trace</a> (5 s)` + "\n")
	b.WriteString(`<li><a href="cmdline">cmdline</a>` + "\n</ul>\n")
	r.Response.Write(b.String())
}
