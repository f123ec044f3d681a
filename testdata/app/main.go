// Command app is the program the process tests run. Builds choose its
// behaviour with -ldflags "-X main.mode=... -X main.greeting=...":
//
//	mode ""         serve normally
//	mode "exit"     exit with status 3 before the first framework call
//	mode "panic"    panic right after it
//	mode "nostart"  fail to start (the HTTPS files do not exist)
//	mode "hang"     never become ready
//
// It serves PORT, or the address of its configuration file (and, when set,
// a second server on PORT2 with HTTPS on PORT3 using CERT and KEY).
package main

import (
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

var (
	mode     = ""
	greeting = "app"
)

func main() {
	if mode == "exit" {
		os.Exit(3)
	}
	s := g.Server()
	if mode == "panic" {
		panic("boom: bad build")
	}
	if mode == "hang" {
		select {}
	}
	s.BindHandler("/", func(r *baton.Request) { r.Response.Writeln(greeting) })
	s.BindHandler("GET:/pid", func(r *baton.Request) { r.Response.Writeln(os.Getpid()) })
	s.EnableHealth()
	s.BindHandler("GET:/sleep", func(r *baton.Request) {
		ms := r.GetInt("ms")
		time.Sleep(time.Duration(ms) * time.Millisecond)
		r.Response.Writef("slept %d ms in %d\n", ms, os.Getpid())
	})
	s.BindHandler("POST:/reload", func(r *baton.Request) {
		if err := r.Server.Reload(); err != nil {
			r.Response.WriteStatus(http.StatusInternalServerError, err.Error())
			return
		}
		r.Response.Writeln("reloaded")
	})
	s.BindHandler("POST:/rollback", func(r *baton.Request) {
		if err := r.Server.Rollback(); err != nil {
			r.Response.WriteStatus(http.StatusInternalServerError, err.Error())
			return
		}
		r.Response.Writeln("rolled back")
	})
	s.BindHandler("POST:/restart", func(r *baton.Request) {
		if err := r.Server.Restart(); err != nil {
			r.Response.WriteStatus(http.StatusInternalServerError, err.Error())
			return
		}
		r.Response.Writeln("restarting")
	})
	s.BindHandler("GET:/cfg", func(r *baton.Request) { r.Response.Writeln(g.Cfg().GetString(r.Get("key"))) })
	g.Cfg().OnChange(func(old, new *baton.Config) {
		log.Printf("app: config changed %q -> %q", old.GetString("app.greeting"), new.GetString("app.greeting"))
	})
	if os.Getenv("PORT") != "" { // else the configuration file sets the address
		s.SetPort(port("PORT"))
	}
	if mode == "nostart" {
		s.EnableHTTPS("/nonexistent/cert.pem", "/nonexistent/key.pem")
		s.SetHTTPSPort(port("PORT"))
	}
	servers := []*baton.Server{s}
	if os.Getenv("PORT2") != "" {
		s2 := g.Server("second")
		s2.BindHandler("/", func(r *baton.Request) {
			r.Response.Writef("second %s %d tls=%v\n", greeting, os.Getpid(), r.TLS != nil)
		})
		s2.SetPort(port("PORT2"))
		if os.Getenv("PORT3") != "" {
			s2.EnableHTTPS(os.Getenv("CERT"), os.Getenv("KEY"))
			s2.SetHTTPSPort(port("PORT3"))
		}
		servers = append(servers, s2)
	}
	for _, x := range servers {
		if err := x.Start(); err != nil {
			log.Fatal(err)
		}
	}
	g.Wait()
}

func port(env string) int {
	n, err := strconv.Atoi(os.Getenv(env))
	if err != nil {
		log.Fatalf("app: %s=%q: %v", env, os.Getenv(env), err)
	}
	return n
}
