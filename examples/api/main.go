// Command api is a small CRUD service written as typed handlers: a book
// resource (list, get, create, update, delete) stored in SQLite, with its
// requests validated by v rules, its results in the JSON envelope, its
// OpenAPI document at /api.json and a docs page at /swagger. It serves on
// port 8199, or on $PORT, and keeps its books in books.db, or in $BOOKS_DB.
//
//	go run .
//	curl -H 'Content-Type: application/json' -d '{"title":"The Go Programming Language","author":"Donovan, Kernighan","year":2015}' localhost:8199/books
//	curl localhost:8199/books/1
//	open http://localhost:8199/swagger
//	kill -USR1 <master pid>   # reload into the binary on disk; the books stay
//
// It is a module of its own, so that baton itself does not depend on a
// database driver; modernc.org/sqlite is SQLite in pure Go, so no C
// toolchain is needed.
package main

import (
	"log"
	"os"
	"strconv"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

func main() {
	path := os.Getenv("BOOKS_DB")
	if path == "" {
		path = "books.db"
	}
	store, err := openStore(path)
	if err != nil {
		log.Fatalf("api: %v", err)
	}
	defer store.Close()

	s := g.Server()
	s.Group("/", func(g *baton.RouterGroup) {
		g.Bind(&books{store: store})
	})
	s.BindHandler("GET:/pid", func(r *baton.Request) {
		r.Response.Writeln(os.Getpid())
	})
	s.SetOpenApiInfo(baton.OpenApiInfo{Title: "Books", Version: "1.0.0",
		Description: "A CRUD service in typed handlers on SQLite."})
	s.SetOpenApiPath("/api.json")
	s.SetSwaggerPath("/swagger")

	port := 8199
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			log.Fatalf("api: PORT=%q: %v", p, err)
		}
		port = n
	}
	s.SetPort(port)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
