// Package baton is a web framework with zero-downtime hot reload built in.
//
// A program gets a named [Server], binds handlers and runs it:
//
//	s := g.Server()
//	s.BindHandler("/", func(r *baton.Request) {
//		r.Response.Writeln("hello")
//	})
//	s.BindHandler("GET:/user/{id}", func(r *baton.Request) {
//		r.Response.WriteJson(map[string]any{"id": r.Get("id")})
//	})
//	s.SetPort(8199)
//	s.Run()
//
// Then kill -USR1 <master pid>, or [Server.Reload] from a handler, replaces
// the program with the binary now on disk, and no client notices.
//
// # Routing
//
// A pattern is an optional method list and a path: "/user/:id" and
// "/user/{id}" name a parameter, "/{id}.html", "/admin-{page}" and
// "/{hash}.{type}" name parameters inside a segment (each takes at least
// one character and as many as it can), "/static/*path" catches the rest,
// "GET:/x" and "GET,POST:/x" restrict the methods (none means all; GET
// also answers HEAD). Static segments, parameters and catch-alls may share
// a position: "/user/new" beside "/user/:id" beside "/user/*rest". The
// most specific wins, segment by segment: a static segment, then a
// segment with more literal text around its parameters, then a plain
// parameter, then a catch-all; when the rest of the path matches nothing
// below the winner, the next is tried, so "/a/b/c" matches "/a/:x/c" even
// beside "/a/b/d". Unmatched requests get 404, or 405 with an Allow
// header; OPTIONS is answered; a path with a stray trailing slash or the
// wrong case is redirected. Only two routes that match the same paths
// conflict (the same pattern twice, or "/a/:x" and "/a/:y"): the second
// registration panics with both patterns and the file:line of each.
//
// A table julienschmidt/httprouter can hold is served by httprouter; from
// the first route it cannot hold, baton serves the table from a segment
// tree of its own, which answers alike.
//
// Middleware is a [HandlerFunc] that calls r.Middleware.Next(); code after
// Next runs after the handler. Standard func(http.Handler) http.Handler
// middleware plugs in through [WrapMiddleware]. baton ships [RequestID],
// [SecurityHeaders], [CORS], [CSRF], [RateLimit], [Compress] and
// [Timeout], each configured by a struct, or for the whole server by
// [MiddlewareConfig] and the file's middleware section. A panicking
// handler is answered with 500 and its stack goes to the error log.
//
// GoFrame's binding styles are there under its names: the group verbs
// ([RouterGroup.GET], ...), [RouterGroup.Map], [RouterGroup.REST],
// controllers through [Server.BindObject], middleware for a pattern
// ([Server.BindMiddleware]), hooks around the chain
// ([Server.BindHookHandler]) and pages for a status
// ([Server.BindStatusHandler]).
//
// # Typed APIs
//
// A request struct embeds [Meta] (g.Meta), whose tags give its path and
// methods, and a function or a controller's method of the shape
// func(ctx context.Context, req *XReq) (res *XRes, err error) serves it:
// [RouterGroup.Bind] binds a controller's methods, [Server.BindHandler]
// and the group verbs take a typed function. The request is bound from
// the path, the query, the body and the headers by a table compiled once
// per type, checked against its v rules, and the result written by the
// [ResultWriter] of the group or server: GoFrame's [Envelope] by
// default, [RawJSONWriter] or [ProblemWriter]. [NewError] sets the status
// and code of an error; [RequestFromCtx] returns the [Request].
//
// # Responses
//
// Output is buffered until the handler chain returns, so headers and the
// status may be set late; the response then leaves in one write with a
// Content-Length. [Response.Flush] sends what is buffered and switches to
// streaming, for Server-Sent Events.
//
// # Views
//
// [Response.WriteTpl] renders a file of the view directory (template/ by
// default, [Server.SetViewPath], or an fs.FS such as an embed.FS through
// [Server.SetViewFS]) with html/template. Files ending in .html, .htm,
// .tmpl, .gohtml or .tpl are templates, named by their slash-separated
// path below the directory ("index.html", "user/profile.html"). The files
// under layout/ and partial/ are shared: every page can call them. Every
// other file is a page, parsed on its own with the shared files, so that
// two pages may define blocks of the same name. A page names its layout by
// calling it and fills the layout's blocks with define:
//
//	layout/main.html:  <html><title>{{block "title" .}}site{{end}}</title>
//	                   <body>{{template "partial/nav.html" .}}{{block "content" .}}{{end}}</body></html>
//	index.html:        {{template "layout/main.html" .}}
//	                   {{define "title"}}Home{{end}}
//	                   {{define "content"}}<h1>Hello {{.User}}</h1>{{end}}
//
// Templates are parsed at the first render (or at [Server.LoadViews]) and
// cached. In development mode (see "Development mode"), or with
// [Server.SetViewAutoReload], the files are checked at most every 100ms
// and parsed again when one changed. A render that fails leaves nothing of itself in the response: it
// becomes a bare 500, and the error goes to the log. [ViewFuncs] lists the
// functions templates can call.
//
// # Cookies and sessions
//
// r.Cookie gets and sets cookies (Path=/, HttpOnly, SameSite=Lax, and
// Secure over TLS unless [CookieConfig] says otherwise). r.Session holds
// per-client values, under a random 128-bit id in the cookie "batonsid",
// loaded at first use and saved when the handler returns, if changed. The
// default [FileStore] keeps sessions on disk, so they survive reloads and
// restarts: in $STATE_DIRECTORY (systemd's StateDirectory=) if set, else in
// the user cache directory (~/.cache/baton/sessions-<server> on Linux), or
// in [SessionConfig.Dir]. Its file names are the session ids, so
// [Server.Start] refuses a directory that is a symbolic link or, on Unix,
// another user's or open to the group or others ([ErrUnsafeSessionDir]),
// and a session file that is a link or another user's is not read.
// [MemoryStore] loses sessions at each reload. Any [SessionStore] plugs in
// through [Server.SetSessionStore]; package session/redisstore keeps them
// in Redis, for several instances behind a load balancer (session/sqlstore
// in an SQL database), and registers
// itself ([RegisterSessionStore]) for the file's "session:" section
// (store, addr, prefix, ttl), which applies to every server whose store
// code does not set.
//
// # WebSockets and streams
//
// [Request.WebSocket] upgrades a request with gorilla/websocket and returns
// a [WebSocket], which the server's drain knows about (http.Server.Shutdown
// does not see hijacked connections):
//
//	s.BindHandler("GET:/ws", func(r *baton.Request) {
//		ws, err := r.WebSocket()
//		if err != nil {
//			return // the client got 403 or 400
//		}
//		defer ws.Close()
//		for {
//			mt, msg, err := ws.ReadMessage()
//			if err != nil {
//				return
//			}
//			ws.WriteMessage(mt, msg)
//		}
//	})
//
// When the worker drains, every WebSocket gets a close frame with code 1012
// (service restart) at once; the client answers, ReadMessage returns, and
// the client reconnects to the new worker. A client that does not answer
// is cut at the drain timeout. Origins, the read limit, pings and write
// timeouts are set in [WebSocketConfig].
//
// A handler that called [Response.Flush] is a stream (Server-Sent Events,
// long responses): it should return when [Server.Draining] is closed,
// after a final event. Its connection is then closed at once, so the old
// worker exits as soon as its last stream has ended.
//
// # Hot reload
//
// On Unix the program runs as one master and one worker. The master is the
// process started by the user; its pid never changes. It binds the
// listening sockets, never serves a request, and starts the worker: the same
// binary with the same arguments, which serves on duplicates of the
// master's sockets. A reload starts a new worker from the binary on disk,
// waits until it reports ready, then tells the old one to drain: stop
// accepting, answer the requests in flight and those still arriving on its
// keep-alive connections (with Connection: close), close connections that
// stay idle past a grace, and exit. Since the sockets never close, no
// connection is refused. A new binary that exits, crashes or does not
// become ready in time is killed and the old worker goes on serving.
//
// The master takes over at the first framework call: GetServer, g.Server
// or New. Code before that call (package init functions, flag parsing)
// runs in the master and again in every worker; code after it runs only in
// workers. The master runs no handler.
//
// The worker reports ready when the program calls [Wait] (or [Server.Run]),
// that is once every server it starts is accepting.
//
// A canary reload ([Canary], the admin's Canary reload, or every reload
// once the configuration file has a "graceful: canary:" section) first
// lets the new worker serve beside the old one for a window, on a share
// of the new connections, while the master compares the two generations'
// 5xx answers, panics, deaths and 99th percentile latency; a new worker
// worse beyond the thresholds is drained and the old one serves on
// ([ErrCanaryRolledBack], with the [CanaryVerdict]). canary.go holds the
// framework's side, proc's CanaryConfig the rules.
//
// # Signals
//
//	SIGUSR1                         reload: new worker, old one drains
//	SIGUSR2                         restart: the master re-executes itself in place
//	SIGINT, SIGTERM, SIGQUIT, SIGHUP  graceful shutdown, exit 0
//
// Signals sent to a worker are passed on to the master.
//
// # Configuration
//
// [Cfg] reads config.yaml (or config/config.yaml, or the file named by
// -config or BATON_CONFIG): "server:" and "server.<name>:" sections set the
// servers' addresses, HTTPS files, timeouts, body limit, drain, logging and
// admin access, and the rest holds the application's own values, read with
// [Config.Get], the typed getters and [Config.Scan]. Code settings win over
// the file. The file is watched: a valid change is applied in place and
// [Config.OnChange] callbacks run, a change of listener settings triggers a
// graceful reload, and an invalid file is rejected with its file, line and
// key while the running configuration stays.
//
// # Admin
//
// [Server.EnableAdmin] serves a page with the pids, generation, binary,
// listeners and reload history, and actions to reload, restart and shut
// down; [Server.EnableHealth] serves a health check that answers 503 from
// the moment a drain starts. The admin requires [AdminConfig.Token] from
// every client; without a token it admits nobody, unless
// [AdminConfig.AllowLocal] (for development) or [AdminConfig.Allow]
// admits clients by address, through no untrusted proxy and under a Host
// that names this machine. It refuses actions other sites ask for, and
// never acts on HEAD. The README's Security section gives the threat
// model.
//
// # Development mode
//
// With BATON_DEV=1 (or "dev: true" in the configuration file) the master
// watches the program's sources, rebuilds it with go build a moment after
// each save and reloads into the new binary, so that the old worker serves
// until the new one is ready. Run it from the module:
//
//	BATON_DEV=1 go run ./examples/devreload
//
// In development mode every HTML page (text/html responses of handlers and
// static .html files) gets a small script, served from the app's own port
// at /__baton/dev.js, which holds a WebSocket to /__baton/dev. The page
// reloads itself when a new build is ready and serves (the old worker's
// drain closes the socket with 1012; the script reconnects and meets the
// new build), and when a static file below a server's ServerRoot, a
// template or the configuration file changes, without a build. A build
// that fails leaves the old worker serving and shows the compiler output
// (file:line and message) over every HTML page, and in the terminal; a new
// binary that crashes at start is shown the same way; the next good build
// clears it. BATON_DEV_DIR names the module directory when the program
// does not run inside it; BATON_DEV_POLL=1 polls for changes where file
// events do not arrive (this is also detected). The builder lives in
// internal/devbuild, whose package documentation says what is watched;
// dev.go holds the worker's side (the page script, its socket, the
// static-file watch) and every file watcher is built on internal/watch,
// which holds the one list of editor files that no watcher acts on.
//
// Development mode is off by default, and with it off, the request path
// does one atomic load for it and nothing else. It needs the master: it is
// unavailable on Windows and with graceful mode off.
//
// # Configuration of the process
//
// The process section of the configuration file is read before the
// master starts:
//
//	graceful:
//	  enabled: false      # no master: the process serves by itself
//	  watchBinary: true   # reload when a new binary is put at the executable's path
//	  canary:             # every reload is a canary reload (see Hot reload)
//	    window: 30s
//	    share: 0.2
//	    maxErrorRate: 0.05
//	    maxP99: 250ms
//	dev: true             # development mode (BATON_DEV=0 or 1 overrides it)
//
// With watchBinary, deploy by copying the new binary into place (by
// rename, or after removing the old file) and a reload follows once it has
// stayed unchanged for 300 ms and is a complete executable.
//
// # Without a master
//
// With BATON_GRACEFUL=0, under go test, and on Windows the process serves
// itself: Reload and Restart return [ErrNoMaster] (on Windows, Reload is a
// full restart in a new process, with a brief refusal of connections).
// SIGINT and SIGTERM still shut the servers down gracefully.
//
// # Source layout
//
// Where each concept of this package lives:
//
//	server.go          Server, ServerConfig, the setters
//	start.go           Start and Run: checks, HTTPS pair, sockets, serving; Addrs, URL
//	registry.go        the named servers (GetServer, New) and the running ones (Wait)
//	serve.go           the request path: ServeHTTP, the route closure, the chain, the flush
//	router.go          routes, groups, patterns and their conflicts
//	bind.go            GoFrame's binding styles: verbs, Map, objects, REST, BindMiddleware
//	hooks.go           hooks around the chain, status handlers, ExitAll
//	request.go         Request: parameters, query, body, Parse
//	api.go             typed handlers: Meta, Bind, BindHandler of a typed func, RequestFromCtx
//	api_bind.go        the field table of a request type, and binding a request by it
//	api_serve.go       a typed handler's request: bind, validate, call, write
//	api_result.go      Error, NewError, the envelope and the ResultWriters
//	api_vrule.go       the v rules, through internal/vrule
//	api_openapi.go     the bound operations, for internal/openapi
//	openapi.go         the document and its docs page: SetOpenApiPath, SetSwaggerPath
//	request_getters.go the GoFrame getters: GetVar, GetQuery, GetForm, GetMap, GetBody,
//	                   SetParam, SetCtxVar; a[]= and m[k]= keys
//	var.go             Var, a request value with typed conversions
//	upload.go          UploadFile: multipart files and a safe Save
//	response.go        Response: buffering, streaming, files, JSON(P), redirects
//	response_xml.go    Response.WriteXml
//	conn.go            the connection tracker and its hooks
//	sweep.go           read deadlines, header, idle and send timeouts
//	drain.go           the drain: Shutdown, Draining, OnDrain, idle grace, drain timeout
//	h2drain.go         the HTTP/2 drain in two steps: GOAWAY(2^31-1) and PING, then Shutdown's
//	process.go         the seam to package proc (host), and a process serving itself
//	worker_unix.go     a worker under the master
//	reload_unix.go     choosing the process (proc.Init), Reload, Restart
//	reload_windows.go  the same on Windows: restart in a new process
//	canary.go          canary reloads: Reload's options, the observation of answers, the config section
//	config.go          Config, the file and its values
//	config_server.go   the server sections of the file and how they apply
//	config_middleware.go  MiddlewareConfig: the middleware section of a server's
//	config_gf.go       GoFrame's keys in a server section: renamed, or reported
//	config_map.go      SetConfigWithMap: the same keys from code
//	config_observe.go  the metrics, tracing and pprof keys of a server section
//	clientip.go        trusted proxies and the client address
//	cookie.go          cookies
//	session*.go        sessions and their stores
//	config_session.go  the session section of the file and the stores it can name
//	static.go          static files: ServerRoot, SearchPaths, StaticPaths
//	view.go            templates
//	websocket.go       WebSockets and the drain
//	admin.go           the admin page and the health check
//	lameduck.go        the lame duck of a stopping program: IsLameDuck
//	dev.go             development mode in a worker: overlay, page script
//	log.go             the access and error logs
//	observe.go         the seams of observability: UseRoute, AdminGuard,
//	                   AddAccessLogField, CarryCounters and CarriedTotals,
//	                   EnableMetrics and EnableTracing
//	pprof.go           EnablePProf and the admin's profiles
//	middleware_*.go    the middleware shipped with baton, one file each: requestid,
//	                   secure (security headers), cors, csrf, ratelimit, compress,
//	                   timeout
//	internal/watch     file watching, for every watcher (config, certificates,
//	                   static files in development, the dev builder, the binary)
//	internal/devbuild  development mode in the master: sources, go build, reloads
//	session/redisstore the Redis session store, linked only by programs importing it
//	session/sqlstore   the database/sql session store, likewise
//	internal/redistest a real redis-server for tests
//	internal/sessiontest what the tests of every session store share
//	internal/kubetest  a volume mounted and updated as the kubelet does, for tests
//	internal/lbtest    HAProxy in front of process tests
//	metrics, tracing   Prometheus metrics and OpenTelemetry tracing, packages of
//	                   their own so that only programs importing them link them;
//	                   internal/obshook is where they plug into the methods
//	internal/vrule     GoFrame's v rules, compiled once per type
//	internal/openapi   the OpenAPI 3.1 document of the typed handlers
//	internal/swaggerui the docs page: Swagger UI, embedded
//	pending_*.go, tcpinfo_*.go  what the kernel says of a socket
//
// # NOTES
//
// A [Request] is recycled when its handler returns: a goroutine that
// outlives the handler must copy what it needs first.
//
// Coming from GoFrame: r.Get returns a string here (with an optional
// default); r.GetVar is GoFrame's r.Get and returns a [Var]. A path
// parameter cannot be overridden by the query string or the body, as it
// can in GoFrame: the order is SetParam, path, query, body.
//
// With go run, the binary re-executed by a reload is the one go run built
// in its temporary directory: rebuild with go build to deploy new code.
//
// Server.Shutdown called from a handler waits for that handler too, so it
// ends at the drain timeout; call it in a goroutine there.
//
// If an old worker lingers until the drain timeout after a reload, a
// WebSocket handler probably never calls Close, or a stream handler does
// not watch Server.Draining. BATON_DRAIN_TIMEOUT ("10s") sets the drain
// timeout of the master and of every server that leaves it at zero.
//
// The master replaces a worker that stops answering its heartbeat for 10s
// (BATON_HEARTBEAT_TIMEOUT, "off" for never), and refuses to reload into a
// binary owned by another user or writable by group or others
// (BATON_STRICT_MODES=0 allows it). See the proc package.
package baton
