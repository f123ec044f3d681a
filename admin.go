package baton

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultAdminPattern is where EnableAdmin serves the admin page.
const DefaultAdminPattern = "/debug/admin"

// DefaultHealthPattern is where EnableHealth serves the health check.
const DefaultHealthPattern = "/healthz"

// AdminConfig controls who may use the admin page. The zero value admits
// nobody: set a Token, or AllowLocal for development on this machine.
type AdminConfig struct {
	// Token, if set, is required from every client, loopback included, as
	// "Authorization: Bearer <token>" or as the basic-auth password. It is
	// compared in constant time. With a Token set, Allow and AllowLocal
	// admit nobody without it.
	Token string
	// AllowLocal admits, when no Token is set, clients on this host
	// without a token: the peer is a loopback address, the request carries
	// no proxy header (X-Forwarded-For, Forwarded, X-Real-IP, Via,
	// X-Forwarded-Host, X-Forwarded-Proto) unless it came through one of
	// ServerConfig.TrustedProxies, and its Host is an IP address,
	// localhost, or one of ServerConfig.AllowedHosts. Every user of the
	// host gets in, and so does everyone behind a proxy on this host that
	// adds none of those headers: it is meant for development.
	AllowLocal bool
	// Allow lists further networks (CIDR, such as "10.0.0.0/8", or single
	// addresses) whose clients are admitted without a token when no Token
	// is set, under the same rules of proxy headers and Host as AllowLocal.
	Allow []string
	// TrustedProxies is the former place of ServerConfig.TrustedProxies,
	// used when that is empty.
	//
	// Deprecated: set ServerConfig.TrustedProxies.
	TrustedProxies []string
}

// admin serves the admin page and its actions for one server.
type admin struct {
	s      *Server
	prefix string
}

// EnableAdmin serves the admin page at pattern (DefaultAdminPattern if not
// given): the master and worker pids, generation, uptime, binary, listeners
// and reload history, with buttons for reload, restart, rollback (see
// Server.Rollback) and shutdown, and:
//
//	GET  <pattern>/status              the same facts as JSON
//	POST <pattern>/reload|restart|rollback|shutdown  act (GET too, when typed in the address bar)
//
// Every client must send ServerConfig.Admin.Token; without a token set,
// only the clients that AdminConfig.AllowLocal or AdminConfig.Allow admit
// are served, and others get 403. An action another site asked for
// (Sec-Fetch-Site cross-site or same-site, a foreign Origin, or, from a
// browser that sends neither, a foreign Referer) is refused with 403, and
// HEAD acts on nothing (405). The master's log line of an action names
// the client that asked. Call it before Start.
func (s *Server) EnableAdmin(pattern ...string) {
	p := DefaultAdminPattern
	if len(pattern) > 0 && pattern[0] != "" {
		p = "/" + strings.Trim(pattern[0], "/")
	}
	a := &admin{s: s, prefix: p}
	site := callSite()
	for _, r := range []struct {
		pattern string
		h       HandlerFunc
	}{
		{"GET:" + p, a.page},
		{"GET:" + p + "/status", a.status},
		{"GET,POST:" + p + "/reload", a.action("reload")},
		{"GET,POST:" + p + "/restart", a.action("restart")},
		{"GET,POST:" + p + "/rollback", a.action("rollback")},
		{"GET,POST:" + p + "/shutdown", a.action("shutdown")},
	} {
		if err := s.router.register(s.router.root, r.pattern, a.guard(r.h), site); err != nil {
			panic(err)
		}
	}
}

// EnableHealth serves a public health check at pattern (DefaultHealthPattern
// if not given): 200 while the server serves, 503 from the moment it starts
// to drain, and during the lame duck before it (ServerConfig.LameDuck),
// so that a load balancer stops sending it new work.
func (s *Server) EnableHealth(pattern ...string) {
	p := DefaultHealthPattern
	if len(pattern) > 0 && pattern[0] != "" {
		p = pattern[0]
	}
	if err := s.router.register(s.router.root, "GET:"+p, func(r *Request) {
		r.Response.Header().Set("Cache-Control", "no-store")
		if r.Server.IsLameDuck() {
			r.Response.WriteStatus(http.StatusServiceUnavailable, "stopping\n")
			return
		}
		if r.Server.IsDraining() {
			r.Response.WriteStatus(http.StatusServiceUnavailable, "draining\n")
			return
		}
		r.Response.Write("ok\n")
	}, callSite()); err != nil {
		panic(err)
	}
}

// guard admits the client or answers 401 or 403.
func (a *admin) guard(h HandlerFunc) HandlerFunc {
	return func(r *Request) {
		r.Response.Header().Set("Cache-Control", "no-store")
		r.Response.Header().Set("X-Frame-Options", "DENY")
		r.Response.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		c := a.s.Config()
		switch code, why := admit(r.Request, c.Admin, r.Server.trust.Load(), c.AllowedHosts); code {
		case 0:
			h(r)
		case http.StatusUnauthorized:
			r.Response.Header().Set("WWW-Authenticate", `Basic realm="baton admin", charset="UTF-8"`)
			r.Response.WriteStatus(code)
		default:
			r.Response.WriteStatus(code, "forbidden: "+why+"\n")
		}
	}
}

// admit decides whether the admin page serves req: 0, or the status to
// answer (401 or 403) and, for 403, why.
func admit(req *http.Request, c AdminConfig, trust *proxyTrust, hosts []string) (int, string) {
	if c.Token != "" {
		if tokenOK(req, c.Token) {
			return 0, ""
		}
		return http.StatusUnauthorized, ""
	}
	ip, ok := trust.client(req)
	if !ok {
		return http.StatusForbidden, "the client's address is not known"
	}
	if peer, _ := peerAddr(req.RemoteAddr); (trust == nil || !inPrefixes(peer, trust.nets)) && proxied(req) {
		return http.StatusForbidden, "a proxy that is not trusted passed this request on; set a token (AdminConfig.Token) or ServerConfig.TrustedProxies"
	}
	switch nets, _ := parseNetworks(c.Allow); {
	case ip.IsLoopback() && !c.AllowLocal:
		return http.StatusForbidden, "the admin page needs a token (AdminConfig.Token, admin.token); local clients get in without one only with AdminConfig.AllowLocal"
	case !ip.IsLoopback() && !inPrefixes(ip, nets):
		return http.StatusForbidden, "the admin page needs a token (AdminConfig.Token, admin.token)"
	}
	if !hostAllowed(req.Host, hosts) {
		return http.StatusForbidden, "Host " + strconv.Quote(req.Host) + " does not name this machine (list it in ServerConfig.AllowedHosts)"
	}
	return 0, ""
}

// hostAllowed reports whether a Host header names this server for certain:
// an IP address, localhost or a name below it, or one of the names listed
// (".example.com" for example.com and every name below it). A page of
// another site can reach a loopback address under a name of its own
// whose DNS record it points there (DNS rebinding); its requests carry
// that name.
func hostAllowed(host string, allowed []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return true // not a browser: every browser sends Host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSuffix(a, "."))
		if a == host || strings.HasPrefix(a, ".") && (strings.HasSuffix(host, a) || host == a[1:]) {
			return true
		}
	}
	return false
}

func tokenOK(req *http.Request, token string) bool {
	got := ""
	if auth := req.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		got = strings.TrimPrefix(auth, "Bearer ")
	} else if _, pass, ok := req.BasicAuth(); ok {
		got = pass
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// crossSite reports why a request was made by another site, or "".
func crossSite(req *http.Request) string {
	switch site := req.Header.Get("Sec-Fetch-Site"); site {
	case "cross-site", "same-site":
		return "Sec-Fetch-Site: " + site
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	self := scheme + "://" + req.Host
	origin := req.Header.Get("Origin")
	if origin != "" && origin != self {
		return "Origin: " + origin
	}
	if ref := req.Header.Get("Referer"); origin == "" && req.Header.Get("Sec-Fetch-Site") == "" && ref != "" {
		// A browser that sends neither (older Safari) still sends the
		// page that asked, unless its policy hides it.
		if ref != self && !strings.HasPrefix(ref, self+"/") && !strings.HasPrefix(ref, self+"?") {
			return "Referer: " + ref
		}
	}
	if req.Method == http.MethodGet {
		// A GET acts only when a person typed the address or followed a
		// link of this site; not for a subresource or a script.
		if m := req.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
			return "Sec-Fetch-Mode: " + m
		}
		if d := req.Header.Get("Sec-Fetch-Dest"); d != "" && d != "document" {
			return "Sec-Fetch-Dest: " + d
		}
	}
	return ""
}

// wantsHTML reports whether the client is a browser expecting a page.
func wantsHTML(req *http.Request) bool {
	return strings.Contains(req.Header.Get("Accept"), "text/html")
}

func (a *admin) action(name string) HandlerFunc {
	return func(r *Request) {
		if r.Method == http.MethodHead {
			// HEAD must be safe: it answers without acting.
			r.Response.Header().Set("Allow", "GET, POST")
			r.Response.WriteStatus(http.StatusMethodNotAllowed)
			return
		}
		if why := crossSite(r.Request); why != "" {
			r.Response.WriteStatus(http.StatusForbidden, "forbidden: "+name+" asked for by another site ("+why+")\n")
			return
		}
		status, err := self.status(r.Context())
		if err == nil && status.Reloading && name != "shutdown" {
			a.answer(r, name, http.StatusConflict, "a reload is already running; try again when it ends")
			return
		}
		// The master logs the trigger: it names who asked.
		trigger := "admin from " + r.GetClientIp()
		switch name {
		case "reload":
			err = self.reload(trigger)
		case "restart":
			err = self.restart(trigger)
		case "rollback":
			err = self.rollback(trigger)
		case "shutdown":
			err = self.shutdown(trigger)
		}
		switch {
		case errors.Is(err, ErrNoMaster):
			a.answer(r, name, http.StatusNotImplemented, err.Error())
		case errors.Is(err, errShuttingDown), errors.Is(err, errNoRollback):
			a.answer(r, name, http.StatusConflict, err.Error())
		case err != nil:
			a.answer(r, name, http.StatusInternalServerError, err.Error())
		case name == "reload" || name == "rollback":
			// This worker drains now. Answer once it has stopped accepting,
			// and close the connection, so that the client's next request
			// (the page, after a browser's redirect) reaches the new worker.
			if self.hasMaster() {
				select {
				case <-a.s.Draining():
				case <-time.After(2 * time.Second):
				}
			}
			r.Response.Header().Set("Connection", "close")
			if name == "rollback" {
				a.answer(r, name, http.StatusOK, "rolled back: a worker of the previous generation serves")
				return
			}
			a.answer(r, name, http.StatusOK, "reloaded: a new worker serves")
		default:
			a.answer(r, name, http.StatusAccepted, name+" accepted")
		}
	}
}

// answer tells a browser the outcome on the page (after a success, by
// redirecting to it, so that the page comes from the new worker) and a
// script in plain text.
func (a *admin) answer(r *Request, action string, code int, msg string) {
	if !wantsHTML(r.Request) {
		r.Response.WriteStatus(code, msg+"\n")
		return
	}
	if code < 300 {
		// After a reload the old worker answers with Connection: close, so
		// the browser fetches the page from the new worker.
		r.Response.RedirectTo(a.prefix+"?done="+action, http.StatusSeeOther)
		return
	}
	r.Response.WriteHeader(code)
	a.render(r, &notice{Error: true, Text: action + " failed: " + msg})
}

// statusView is the JSON of the status endpoint and the data of the page.
type statusView struct {
	MasterPID         int          `json:"master_pid"`
	WorkerPID         int          `json:"worker_pid"`
	Generation        int          `json:"generation"`
	Started           time.Time    `json:"started"`
	Uptime            string       `json:"uptime"`
	Executable        string       `json:"executable"`
	ExecutableModTime time.Time    `json:"executable_mod_time"`
	Reloading         bool         `json:"reloading"`
	Previous          string       `json:"previous,omitempty"` // the kept executable a rollback starts
	Draining          bool         `json:"draining"`
	Graceful          bool         `json:"graceful"`
	PagePID           int          `json:"served_by"`
	Servers           []serverView `json:"servers"`
	Sockets           []socketView `json:"sockets,omitempty"`
	History           []eventView  `json:"history"`
}

// socketView is one listening socket the master holds.
type socketView struct {
	Key     string // the key the worker asked for, e.g. "default/http/0/:8199"
	Network string // "tcp", "tcp4", "tcp6" or "unix"
	Addr    string // the bound address, e.g. "[::]:8199"
}

type serverView struct {
	Name      string   `json:"name"`
	Listeners []string `json:"listeners"`
}

type eventView struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Trigger    string    `json:"trigger"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	OldPID     int       `json:"old_pid,omitempty"`
	NewPID     int       `json:"new_pid,omitempty"`
	Generation int       `json:"generation,omitempty"`
	HandOff    string    `json:"hand_off,omitempty"`
}

func (a *admin) view(ctx context.Context) (statusView, error) {
	v, err := self.status(ctx)
	if err != nil {
		return statusView{}, err
	}
	v.Uptime = time.Since(v.Started).Round(time.Second).String()
	v.Draining, v.Graceful, v.PagePID = a.s.IsDraining(), v.MasterPID != 0, os.Getpid()
	list, _ := runningServers()
	for _, s := range list {
		sv := serverView{Name: s.name}
		s.mu.Lock()
		for _, l := range s.lns {
			sv.Listeners = append(sv.Listeners, l.scheme+"://"+l.Addr().String())
		}
		s.mu.Unlock()
		v.Servers = append(v.Servers, sv)
	}
	slices.SortFunc(v.Servers, func(a, b serverView) int { return strings.Compare(a.Name, b.Name) })
	return v, nil
}

func (a *admin) status(r *Request) {
	v, err := a.view(r.Context())
	if err != nil {
		r.Response.WriteStatus(http.StatusInternalServerError, "status: "+err.Error()+"\n")
		return
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	r.Response.Header().Set("Content-Type", "application/json; charset=utf-8")
	r.Response.Write(b, "\n")
}

// notice is the message shown at the top of the page.
type notice struct {
	Error bool
	Text  string
}

var doneNotices = map[string]string{
	"reload":   "Reloaded: the worker below is the new one.",
	"restart":  "Restart accepted: the master re-executes itself and starts a fresh worker.",
	"rollback": "Rolled back: the worker below runs the previous generation's binary.",
	"shutdown": "Shutdown accepted: the program drains and exits.",
}

func (a *admin) page(r *Request) {
	if a.s.IsDraining() && self.hasMaster() {
		// A browser may hold several keep-alive connections to this old
		// worker. Send it round again on a fresh one, which only the new
		// worker accepts, so the page shows the program as it now is.
		r.Response.Header().Set("Connection", "close")
		r.Response.RedirectTo(r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	}
	var n *notice
	if text, ok := doneNotices[r.Query("done")]; ok {
		n = &notice{Text: text}
	}
	a.render(r, n)
}

func (a *admin) render(r *Request, n *notice) {
	v, err := a.view(r.Context())
	if err != nil {
		r.Response.WriteStatus(http.StatusInternalServerError, "status: "+err.Error()+"\n")
		return
	}
	host, _ := os.Hostname()
	r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := adminPage.Execute(r.Response.Writer(), map[string]any{
		"V": v, "Notice": n, "Prefix": a.prefix, "Host": host, "Now": time.Now(),
	}); err != nil {
		r.Server.Logger().Error("baton: admin page", "err", err)
	}
}

var adminPage = template.Must(template.New("admin").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"pid": func(n int) string {
		if n == 0 {
			return "—"
		}
		return fmt.Sprint(n)
	},
}).Parse(adminHTML))

const adminHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>baton admin · {{.Host}}</title>
<style>
:root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--mute:#687083;--line:#e3e6ec;--ok:#1b7f4c;--bad:#b42318;--acc:#3451b2}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--ink)}
header{background:#1d2330;color:#fff;padding:18px 32px;display:flex;align-items:baseline;gap:16px}
header h1{margin:0;font-size:20px;letter-spacing:.5px}header span{color:#aab3c5;font-size:14px}
main{max-width:1100px;margin:0 auto;padding:24px 32px}
.notice{padding:12px 16px;border-radius:8px;margin-bottom:20px;background:#e7f5ee;color:var(--ok);border:1px solid #b7e0c9}
.notice.error{background:#fdecea;color:var(--bad);border-color:#f5c2bd}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:14px;margin-bottom:22px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .k{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.card .v{font-size:22px;font-weight:600;margin-top:2px;word-break:break-all}.card .v.small{font-size:14px;font-weight:500}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:22px}
section h2{margin:0 0 10px;font-size:16px}
table{width:100%;border-collapse:collapse;font-size:14px}th,td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--mute);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}code{font-size:13px}
.actions{display:flex;gap:12px;flex-wrap:wrap}.actions form{margin:0}
button{font:inherit;border:0;border-radius:8px;padding:10px 20px;cursor:pointer;color:#fff;background:var(--acc)}
button.warn{background:#9a6700}button.danger{background:var(--bad)}button:hover{filter:brightness(1.1)}
.hint{color:var(--mute);font-size:13px;margin:10px 0 0}
</style></head><body>
<header><h1>baton admin</h1><span>{{.Host}} · {{stamp .Now}}</span></header>
<main>
{{with .Notice}}<div class="notice{{if .Error}} error{{end}}" id="notice">{{.Text}}</div>{{end}}
<div class="grid">
 <div class="card"><div class="k">Master pid</div><div class="v" id="master-pid">{{pid .V.MasterPID}}</div></div>
 <div class="card"><div class="k">Worker pid</div><div class="v" id="worker-pid">{{pid .V.WorkerPID}}</div></div>
 <div class="card"><div class="k">Generation</div><div class="v" id="generation">{{.V.Generation}}</div></div>
 <div class="card"><div class="k">Uptime</div><div class="v">{{.V.Uptime}}</div></div>
 <div class="card"><div class="k">State</div><div class="v small">{{if .V.Reloading}}reloading{{else if .V.Draining}}draining{{else}}serving{{end}}{{if not .V.Graceful}} · no master{{end}}<br><span class="k">page from pid <span id="page-pid">{{.V.PagePID}}</span></span></div></div>
</div>
<section><h2>Binary</h2>
<table><tr><th>Path</th><th>Modified</th></tr>
<tr><td><code>{{.V.Executable}}</code></td><td>{{stamp .V.ExecutableModTime}} ({{ago .V.ExecutableModTime}})</td></tr>
{{with .V.Previous}}<tr><td><code id="previous">{{.}}</code></td><td>previous generation, kept for a rollback</td></tr>{{end}}</table></section>
<section><h2>Servers</h2>
<table><tr><th>Server</th><th>Listeners</th></tr>
{{range .V.Servers}}<tr><td>{{.Name}}</td><td>{{range $i, $l := .Listeners}}{{if $i}}, {{end}}<code>{{$l}}</code>{{end}}</td></tr>
{{else}}<tr><td colspan="2">none started</td></tr>{{end}}</table></section>
<section><h2>Actions</h2>
<div class="actions">
 <form method="post" action="{{.Prefix}}/reload"><button type="submit" id="reload">Reload</button></form>
 <form method="post" action="{{.Prefix}}/restart"><button type="submit" class="warn" id="restart">Restart</button></form>
 {{if .V.Previous}}<form method="post" action="{{.Prefix}}/rollback"><button type="submit" class="warn" id="rollback">Roll back</button></form>{{end}}
 <form method="post" action="{{.Prefix}}/shutdown"><button type="submit" class="danger" id="shutdown">Shut down</button></form>
</div>
<p class="hint">Reload starts a new worker from the binary on disk and drains this one; a binary that fails to start leaves this worker serving. Restart re-executes the master in place. Roll back starts the previous generation's binary again, as the master kept it. Shut down drains and exits.</p></section>
<section><h2>History</h2>
<table id="history"><tr><th>Time</th><th>Event</th><th>Trigger</th><th>Outcome</th><th>Workers</th><th>Hand-off</th></tr>
{{range .V.History}}<tr><td>{{stamp .Time}}</td><td>{{.Kind}}</td><td>{{.Trigger}}</td>
<td>{{if .OK}}<span class="ok">ok</span>{{else}}<span class="bad">failed</span>{{with .Error}}<br><code>{{.}}</code>{{end}}{{end}}</td>
<td>{{pid .OldPID}} → {{pid .NewPID}}{{with .Generation}} (gen {{.}}){{end}}</td><td>{{.HandOff}}</td></tr>
{{else}}<tr><td colspan="6">nothing yet</td></tr>{{end}}</table></section>
</main></body></html>
`
