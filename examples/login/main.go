// Command login shows views, cookies and sessions: a login form, a page
// that greets the user, and a logout. Sessions live in files (the default
// store), so a logged-in user stays logged in across reloads:
//
//	go build -o /tmp/login ./examples/login && /tmp/login
//	open http://localhost:8199/   (any name, password "baton")
//	kill -USR1 <master pid>       # reload: still logged in
//
// The templates in template/ are embedded in the binary with embed.FS, so
// it runs from any directory; a change to them needs a rebuild (and a
// reload). It serves on port 8199, or on $PORT, and answers GET /pid with
// the worker's pid.
package main

import (
	"embed"
	"io/fs"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

//go:embed template
var templates embed.FS

// password is the one password this example accepts, for any user name.
const password = "baton"

func main() {
	s := g.Server()
	views, err := fs.Sub(templates, "template")
	if err != nil {
		log.Fatal(err)
	}
	s.SetViewFS(views)
	// Fail at start on a broken template, so that a reload into this
	// binary is refused and the old worker goes on serving.
	if err := s.LoadViews(); err != nil {
		log.Fatal(err)
	}

	s.BindHandler("GET:/", func(r *baton.Request) {
		user := r.Session.GetString("user")
		if user == "" {
			r.Response.RedirectTo("/login")
			return
		}
		r.Response.WriteTpl("index.html", map[string]any{"User": user, "PID": os.Getpid()})
	})
	s.BindHandler("GET:/login", func(r *baton.Request) {
		r.Response.WriteTpl("login.html", nil)
	})
	s.BindHandler("POST:/login", func(r *baton.Request) {
		user := strings.TrimSpace(r.Get("user"))
		if user == "" || r.Get("password") != password {
			r.Response.WriteHeader(http.StatusUnauthorized)
			r.Response.WriteTpl("login.html", map[string]any{"Error": "Wrong name or password.", "User": user})
			return
		}
		// A new id at login: an id planted before is worth nothing after.
		if err := r.Session.RegenerateID(); err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Session.Set("user", user)
		r.Response.RedirectTo("/", http.StatusSeeOther)
	})
	s.BindHandler("POST:/logout", func(r *baton.Request) {
		if err := r.Session.Destroy(); err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Response.RedirectTo("/login", http.StatusSeeOther)
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(os.Getpid())
	})

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("login: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
