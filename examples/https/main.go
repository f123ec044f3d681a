// Command https serves HTTP on 8080 and HTTPS (HTTP/1.1 and HTTP/2) on
// 8443. Without -cert and -key it uses cert.pem and key.pem in the current
// directory, creating a self-signed pair for localhost on first run.
//
//	go run ./examples/https
//	curl -k https://localhost:8443/
package main

import (
	"errors"
	"flag"
	"log"
	"os"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	"github.com/baton-go/baton/internal/selfsigned"
)

func main() {
	cert := flag.String("cert", "cert.pem", "PEM certificate file")
	key := flag.String("key", "key.pem", "PEM private key file")
	httpPort := flag.Int("http", 8080, "HTTP port")
	httpsPort := flag.Int("https", 8443, "HTTPS port")
	flag.Parse()

	if _, err := os.Stat(*cert); errors.Is(err, os.ErrNotExist) {
		if err := selfsigned.Write(*cert, *key, "localhost", "127.0.0.1", "::1"); err != nil {
			log.Fatal(err)
		}
		log.Printf("https: wrote a self-signed pair to %s and %s", *cert, *key)
	}

	s := g.Server()
	s.BindHandler("/", func(r *baton.Request) {
		r.Response.Writef("hello over %s (TLS: %v)\n", r.Proto, r.TLS != nil)
	})
	s.SetPort(*httpPort)
	s.EnableHTTPS(*cert, *key)
	s.SetHTTPSPort(*httpsPort)
	if err := s.Run(); err != nil {
		log.Fatal(err)
	}
}
