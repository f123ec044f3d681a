// Command rawhello is the baseline of bench/loopback.sh: the / handler of
// examples/hello on a bare httprouter and http.Server, with no framework
// around it. It listens on $PORT (8199 if unset).
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/julienschmidt/httprouter"
)

var greeting = []byte("hello from baton\n")

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8199"
	}
	r := httprouter.New()
	r.GET("/", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.Write(greeting)
	})
	log.Fatal(http.ListenAndServe(":"+port, r))
}
