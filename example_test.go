package baton_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

func Example() {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.Writeln("hello")
	})
	s.BindHandler("GET:/user/{id}", func(r *baton.Request) {
		r.Response.WriteJson(map[string]any{"id": r.Get("id")})
	})

	for _, path := range []string{"/", "/user/42"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 hello
	// 200 {"id":"42"}
}

func ExampleServer_Group() {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.Group("/api/v1", func(api *baton.RouterGroup) {
		api.Use(func(r *baton.Request) {
			if r.Header.Get("Authorization") == "" {
				r.Response.WriteStatus(http.StatusUnauthorized)
				return // not calling Next ends the chain
			}
			r.Middleware.Next()
		})
		api.BindHandler("GET:/orders/:id", func(r *baton.Request) {
			r.Response.Writeln("order ", r.Param("id"))
		})
	})

	req := httptest.NewRequest("GET", "/api/v1/orders/7", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())

	req.Header.Set("Authorization", "Bearer x")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 401 Unauthorized
	// 200 order 7
}

func ExampleRequest_Parse() {
	type order struct {
		Item     string `json:"item"`
		Quantity int    `json:"quantity"`
	}
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.BindHandler("POST:/orders", func(r *baton.Request) {
		var o order
		if err := r.Parse(&o); err != nil {
			r.Response.WriteError(err) // 400 naming the field
			return
		}
		r.Response.Writef("%d x %s\n", o.Quantity, o.Item)
	})

	for _, body := range []string{`{"item":"tea","quantity":2}`, `{"item":"tea","quantity":"two"}`} {
		req := httptest.NewRequest("POST", "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 2 x tea
	// 400 field "quantity": want int, got JSON string
}

func ExampleWrapMiddleware() {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	// Any func(http.Handler) http.Handler plugs in.
	secure := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Content-Type-Options", "nosniff")
			next.ServeHTTP(w, r)
		})
	}
	s.Use(baton.WrapMiddleware(secure))
	s.BindHandler("/", func(r *baton.Request) { r.Response.Write("ok") })

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Header().Get("X-Content-Type-Options"), rec.Body.String())
	// Output: nosniff ok
}

// A program serves until it is shut down; under the master, kill -USR1
// reloads it into the binary on disk without dropping a request.
func ExampleServer_Run() {
	s := g.Server()
	s.BindHandler("/", func(r *baton.Request) { r.Response.Writeln("hello") })
	s.SetPort(8199)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}

// Several servers start, then g.Wait blocks until all have stopped.
func ExampleWait() {
	web, api := g.Server("web"), g.Server("api")
	web.SetPort(8080)
	api.SetPort(9090)
	for _, s := range []*baton.Server{web, api} {
		if err := s.Start(); err != nil {
			log.Fatal(err)
		}
	}
	g.Wait()
}

// A handler may ask for a reload; it returns once the new worker serves,
// or with the reason it could not start.
func ExampleServer_Reload() {
	s := g.Server()
	s.BindHandler("POST:/deploy", func(r *baton.Request) {
		if err := r.Server.Reload(); err != nil {
			r.Response.WriteStatus(http.StatusInternalServerError, err.Error())
			return
		}
		r.Response.Writeln("reloaded")
	})
}

func ExampleResponse_WriteTplContent() {
	s := baton.New()
	s.SetAccessLogEnabled(false)
	s.BindHandler("/hello/{name}", func(r *baton.Request) {
		r.Response.WriteTplContent(`<p>Hello, {{.Name | upper}}! {{.Note | default "no note"}}</p>`,
			map[string]any{"Name": r.Param("name"), "Note": ""})
	})

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/hello/ann", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 200 text/html; charset=utf-8
	// <p>Hello, ANN! no note</p>
}
