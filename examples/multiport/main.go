// Command multiport runs two named servers in one program: "web" on ports
// 8200 and 8201, and "api" on 8202 (override with WEB_PORTS="8200,8201"
// and API_PORT). g.Wait blocks until both have stopped.
package main

import (
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

func main() {
	web := g.Server("web")
	web.BindHandler("/", func(r *baton.Request) {
		r.Response.Writeln("web on ", r.Host)
	})
	web.SetPort(ports("WEB_PORTS", 8200, 8201)...)

	api := g.Server("api")
	api.BindHandler("GET:/users/{id}", func(r *baton.Request) {
		r.Response.WriteJson(map[string]any{"id": r.Get("id"), "pid": os.Getpid()})
	})
	api.SetPort(ports("API_PORT", 8202)...)

	for _, s := range []*baton.Server{web, api} {
		if err := s.Start(); err != nil {
			log.Fatal(err)
		}
	}
	g.Wait()
}

// ports reads a comma-separated port list from the environment.
func ports(env string, def ...int) []int {
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	var list []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatalf("multiport: %s=%q: %v", env, v, err)
		}
		list = append(list, n)
	}
	return list
}
