// Command fleet is an instance of a program meant to run several times
// behind a load balancer: its sessions live in Redis, so a user logged in
// through one instance is logged in on all, and it answers a health check
// at /healthz that turns 503 for the lame duck when it is told to stop.
// Everything comes from config.yaml (or the file named by BATON_CONFIG):
//
//	server:
//	  address: ":8199"
//	graceful:
//	  lameDuck: 5s          # /healthz 503 this long after SIGTERM, then drain
//	session:
//	  store: redis
//	  addr: 127.0.0.1:6379
//	  prefix: "fleet:sess:"
//	  ttl: 12h
//
// Routes: POST /login?user=NAME logs in (a new session id), GET /me names
// the user (401 without a session), POST /hit counts a hit in the session
// and returns the count, GET /pid tells the worker's pid. $PORT, if set,
// replaces the address. examples/deploy holds its Dockerfile and
// Kubernetes files.
package main

import (
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	_ "github.com/baton-go/baton/session/redisstore" // "store: redis" in the config file
)

func main() {
	s := g.Server()
	s.EnableHealth() // /healthz
	s.BindHandler("POST:/login", func(r *baton.Request) {
		user := r.Get("user")
		if user == "" {
			r.Response.WriteStatus(http.StatusBadRequest, "user is missing")
			return
		}
		if err := r.Session.RegenerateID(); err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Session.Set("user", user)
		r.Session.Set("hits", 0)
		r.Response.Write("ok")
	})
	s.BindHandler("GET:/me", func(r *baton.Request) {
		user := r.Session.GetString("user")
		if user == "" {
			r.Response.WriteStatus(http.StatusUnauthorized, "not logged in")
			return
		}
		r.Response.Write(user)
	})
	s.BindHandler("POST:/hit", func(r *baton.Request) {
		if r.Session.GetString("user") == "" {
			r.Response.WriteStatus(http.StatusUnauthorized, "not logged in")
			return
		}
		n := r.Session.GetInt("hits") + 1
		r.Session.Set("hits", n)
		r.Response.Write(strconv.Itoa(n))
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Write(strconv.Itoa(os.Getpid()))
	})
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("fleet: PORT=%q: %v", p, err)
		}
		s.SetPort(n)
	}
	s.Run()
}
