// Command metrics serves /hit and /pid with metrics on at /metrics, open
// to local clients, for the test of counters across reloads.
package main

import (
	"log"
	"os"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	_ "github.com/baton-go/baton/metrics"
)

func main() {
	s := g.Server()
	c := s.Config()
	c.Admin.AllowLocal = true
	if err := s.SetConfig(c); err != nil {
		log.Fatal(err)
	}
	s.SetAccessLogEnabled(false)
	s.EnableMetrics()
	s.BindHandler("GET:/hit", func(r *baton.Request) { r.Response.Write("hit\n") })
	s.BindHandler("GET:/pid", func(r *baton.Request) { r.Response.Writeln(os.Getpid()) })
	port, err := strconv.Atoi(os.Getenv("PORT"))
	if err != nil {
		log.Fatalf("metrics: PORT=%q: %v", os.Getenv("PORT"), err)
	}
	s.SetPort(port)
	s.Run()
}
