// Command admin serves an application with the admin page and a health
// check, and guards its own API with a custom auth middleware.
//
//	go run ./examples/admin
//	open http://localhost:8199/debug/admin      # this machine only, without a token
//	ADMIN_TOKEN=s3cret go run ./examples/admin  # then only clients with the token:
//	curl -H 'Authorization: Bearer s3cret' http://host:8199/debug/admin/status
//	curl -H 'X-API-Key: demo' http://localhost:8199/api/hello
package main

import (
	"crypto/subtle"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// requireKey is a custom auth middleware: requests without the right
// X-API-Key header end with 401 before reaching a handler.
func requireKey(key string) baton.HandlerFunc {
	return func(r *baton.Request) {
		got := r.Header.Get("X-API-Key")
		if subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			r.Response.WriteStatus(http.StatusUnauthorized, "missing or wrong X-API-Key\n")
			return
		}
		r.Middleware.Next()
	}
}

func main() {
	s := g.Server()
	c := s.Config()
	c.Admin.Token = os.Getenv("ADMIN_TOKEN")
	// Without a token, admit the clients of this machine that no proxy
	// passed on: fine on a developer's machine, not on a shared host.
	c.Admin.AllowLocal = c.Admin.Token == ""
	if err := s.SetConfig(c); err != nil {
		log.Fatal(err)
	}
	s.EnableAdmin()
	s.EnableHealth()

	s.BindHandler("GET:/pid", func(r *baton.Request) { r.Response.Writeln(os.Getpid()) })
	key := os.Getenv("API_KEY")
	if key == "" {
		key = "demo"
	}
	s.Group("/api", func(api *baton.RouterGroup) {
		api.Use(requireKey(key))
		api.BindHandler("GET:/hello", func(r *baton.Request) {
			r.Response.WriteJson(map[string]any{"hello": "world", "pid": os.Getpid()})
		})
	})

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("admin: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
