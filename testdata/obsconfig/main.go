// Command obsconfig links metrics and tracing and enables nothing in
// code: its configuration file does. It serves /pid on the address the
// file gives.
package main

import (
	"os"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	_ "github.com/baton-go/baton/metrics"
	_ "github.com/baton-go/baton/tracing"
)

func main() {
	s := g.Server()
	s.BindHandler("GET:/pid", func(r *baton.Request) { r.Response.Writeln(os.Getpid()) })
	s.Run()
}
