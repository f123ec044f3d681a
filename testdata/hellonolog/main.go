// Command hellonolog is examples/hello with the access log off, for
// bench/loopback.sh: it tells the cost of baton from the cost of the log
// line per request. It listens on $PORT (8199 if unset).
package main

import (
	"log"
	"os"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

var greeting = "hello from baton"

func main() {
	s := g.Server()
	s.SetAccessLogEnabled(false)
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.Writeln(greeting)
	})
	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("hellonolog: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
