// Command devreload shows development mode: run it with BATON_DEV=1, edit
// a handler, a template or a static file, save, and the page in the
// browser shows the change by itself.
//
//	BATON_DEV=1 go run ./examples/devreload
//	open http://localhost:8199/
//
// It serves / (template/page.html), /message, /pid and the files of
// public/, on port 8199 or $PORT. See README.md.
package main

import (
	"html/template"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

// message is what the page and /message say: edit it and save.
const message = "hello from devreload"

func main() {
	s := g.Server()
	dir := appDir()
	s.SetServerRoot(filepath.Join(dir, "public"))
	s.BindHandler("GET:/", func(r *baton.Request) {
		// Parsed at each request, so that an edited template shows at
		// the next page load (development mode reloads the page).
		t, err := template.ParseFiles(filepath.Join(dir, "template", "page.html"))
		if err != nil {
			r.Response.WriteError(err)
			return
		}
		r.Response.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := t.Execute(r.Response.Writer(), map[string]any{"Message": message, "PID": os.Getpid()}); err != nil {
			r.Response.WriteError(err)
		}
	})
	s.BindHandler("GET:/message", func(r *baton.Request) {
		r.Response.Writeln(message)
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(os.Getpid())
	})
	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("devreload: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}

// appDir finds template/ and public/: in the working directory, else next
// to this source file (go run ./examples/devreload from the repository).
func appDir() string {
	if _, err := os.Stat("template"); err == nil {
		return "."
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		return filepath.Dir(file)
	}
	return "."
}
