// Command hello is the smallest baton program: it serves /, /pid and
// /sleep?ms=N on port 8199, or on $PORT.
//
//	go run ./examples/hello
//	curl localhost:8199/
//	kill -USR1 <master pid>   # reload into the binary on disk
package main

import (
	"log"
	"os"
	"strconv"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// greeting is what / answers; builds may change it with
// -ldflags "-X main.greeting=...".
var greeting = "hello from baton"

func main() {
	s := g.Server()
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.Writeln(greeting)
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(os.Getpid())
	})
	s.BindHandler("GET:/sleep", func(r *baton.Request) {
		ms := r.GetInt("ms")
		time.Sleep(time.Duration(ms) * time.Millisecond)
		r.Response.Writef("slept %d ms in %d\n", ms, os.Getpid())
	})
	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("hello: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
