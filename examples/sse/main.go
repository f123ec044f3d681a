// Command sse serves a clock as Server-Sent Events that rides through
// reloads: when the old worker drains, the stream sends a final
// "event: bye" and ends, and the browser's EventSource reconnects, to the
// new worker.
//
//	go run ./examples/sse
//	open http://localhost:8199/         # the clock page
//	curl -N localhost:8199/events       # the raw stream
//	kill -USR1 <master pid>             # reload: bye, then the new worker's hello
//
// Endpoints: / (the page), /events (the stream: "event: hello" with the
// worker pid, then the time every second), /pid (the worker pid). It
// listens on 8199, or on $PORT.
package main

import (
	"log"
	"os"
	"strconv"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>baton clock</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #clock { font-size: 2.5rem; font-variant-numeric: tabular-nums; }
  #log { color: #555; }
</style></head>
<body>
<h1>baton clock</h1>
<p id="clock">…</p>
<p>worker pid: <b id="pid">?</b></p>
<ul id="log"></ul>
<script>
"use strict";
// EventSource reconnects by itself when a stream ends, after the retry
// delay the server sent; the bye event only says why.
const $ = (id) => document.getElementById(id);
const note = (t) => { const li = document.createElement("li"); li.textContent = t; $("log").appendChild(li); };
const es = new EventSource("/events");
es.addEventListener("hello", (e) => { $("pid").textContent = e.data; note("connected to worker " + e.data); });
es.addEventListener("bye", (e) => note("worker " + e.data + " is restarting"));
es.onmessage = (e) => { $("clock").textContent = new Date(e.data).toLocaleTimeString(); };
</script>
</body>
</html>
`

func main() {
	s := g.Server()
	pid := os.Getpid()

	s.BindHandler("GET:/", func(r *baton.Request) {
		r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
		r.Response.Write(page)
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(pid)
	})
	s.BindHandler("GET:/events", func(r *baton.Request) {
		h := r.Response.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		if r.Server.IsDraining() {
			// A browser reconnecting after "bye" may reuse a keep-alive
			// connection to this old worker: send it on to the new one.
			// The connection closes after this answer.
			r.Response.Write("retry: 50\n\n")
			return
		}
		// retry makes EventSource come back quickly after a reload.
		r.Response.Writef("retry: 250\nevent: hello\ndata: %d\n\n", pid)
		r.Response.Writef("data: %s\n\n", time.Now().Format(time.RFC3339))
		r.Response.Flush()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-r.Server.Draining():
				// The last event; returning ends the stream, and the
				// drain closes the connection at once.
				r.Response.Writef("event: bye\ndata: %d\n\n", pid)
				r.Response.Flush()
				return
			case <-r.Context().Done():
				return
			case t := <-tick.C:
				r.Response.Writef("data: %s\n\n", t.Format(time.RFC3339))
				r.Response.Flush()
			}
		}
	})

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("sse: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
