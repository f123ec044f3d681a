// Command rawhello is the baseline of bench/loopback.sh: the / handler of
// examples/hello on a bare httprouter and http.Server, with no framework
// around it. It listens on $PORT (8199 if unset).
package main

import (
	"log"
	"net/http"
	"os"
	"time"

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
	srv := &http.Server{Addr: ":" + port, Handler: r}
	if os.Getenv("RAW_TIMEOUTS") != "" {
		// baton's defaults against slow clients: with them net/http resets
		// the connection's deadlines at every request.
		srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout = 10*time.Second, 60*time.Second, 60*time.Second
		srv.MaxHeaderBytes = 64 << 10
	}
	log.Fatal(srv.ListenAndServe())
}
