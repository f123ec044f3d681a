// Command procapp is the program the integration tests of package proc
// build, start and signal. Its behaviour is selected at build time with
// -ldflags "-X main.mode=...":
//
//	""        serve normally
//	"exit"    exit with status 3 at start
//	"panic"   panic right after proc.Init
//	"nostart" fail to listen on an unassignable address and report it
//	"hang"    listen but never report ready
//	"unexec"  as "", but in a restart's start probe it makes its own file
//	          non-executable before passing: the exec that follows fails
//
// Environment: PROCAPP_PORT (required), PROCAPP_READY_DELAY (a duration to
// wait before reporting ready).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baton-go/baton/proc"
)

var (
	mode    string
	version = "v1"
)

func main() {
	if mode == "exit" {
		os.Exit(3)
	}
	if mode == "unexec" && os.Getenv("BATON_PROBE") == "1" {
		exe, err := os.Executable()
		if err == nil {
			err = os.Chmod(exe, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "procapp: unexec:", err)
			os.Exit(1)
		}
	}
	w, err := proc.Init(proc.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "procapp: init:", err)
		os.Exit(1)
	}
	if mode == "panic" {
		panic("boom")
	}
	port := os.Getenv("PROCAPP_PORT")
	addr := "127.0.0.1:" + port
	if mode == "nostart" {
		addr = "192.0.2.1:" + port // TEST-NET-1: not assigned to this host
	}
	var ln net.Listener
	if w != nil {
		ln, err = w.Listen("default/http/0/:"+port, "tcp", addr)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "procapp: listen:", err)
		w.Fail(err)
		os.Exit(1)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/pid", func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%d %d %s", os.Getpid(), w.Generation(), version)
	})
	mux.HandleFunc("/sleep", func(rw http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		fmt.Fprintf(os.Stderr, "procapp: sleep begin %d\n", os.Getpid())
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(rw, "slept %d", os.Getpid())
	})
	mux.HandleFunc("/stuck", func(rw http.ResponseWriter, r *http.Request) {
		// A handler that never returns, whatever the drain asks.
		fmt.Fprintf(os.Stderr, "procapp: stuck begin %d %s\n", os.Getpid(), r.URL.RawQuery)
		select {}
	})
	mux.HandleFunc("/rollback", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.Rollback(r.Context(), "http"); err != nil {
			rw.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(rw, err)
			return
		}
		fmt.Fprint(rw, "ok")
	})
	mux.HandleFunc("/reload", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.Reload(r.Context(), "http"); err != nil {
			rw.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(rw, err)
			return
		}
		fmt.Fprint(rw, "ok")
	})
	mux.HandleFunc("/restart", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.Restart("http"); err != nil {
			rw.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(rw, err)
			return
		}
		fmt.Fprint(rw, "ok")
	})
	mux.HandleFunc("/status", func(rw http.ResponseWriter, r *http.Request) {
		st, err := w.Status(r.Context())
		if err != nil {
			rw.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(rw, err)
			return
		}
		json.NewEncoder(rw).Encode(st)
	})
	mux.HandleFunc("/exit", func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprint(rw, "bye")
		rw.(http.Flusher).Flush()
		go func() {
			time.Sleep(50 * time.Millisecond)
			os.Exit(0)
		}()
	})
	mux.HandleFunc("/orphan", func(rw http.ResponseWriter, r *http.Request) {
		// The shell exits at once; its background child is re-parented
		// to the nearest reaper, which must wait for it.
		out, err := exec.Command("sh", "-c", "sleep 1 >/dev/null 2>&1 & echo $!").Output()
		if err != nil {
			rw.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(rw, err)
			return
		}
		fmt.Fprint(rw, strings.TrimSpace(string(out)))
	})

	// Connections accepted but without a request yet: http.Server.Shutdown
	// would close them unanswered, so the drain waits for their request.
	var (
		mu       sync.Mutex
		newConns = make(map[net.Conn]bool)
	)
	srv := &http.Server{Handler: mux, ConnState: func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if s == http.StateNew {
			newConns[c] = true
		} else {
			delete(newConns, c)
		}
	}}
	served := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(served)
	}()
	if w == nil {
		select {}
	}
	if d, err := time.ParseDuration(os.Getenv("PROCAPP_READY_DELAY")); err == nil {
		fmt.Fprintf(os.Stderr, "procapp: ready in %s %d\n", d, os.Getpid())
		time.Sleep(d)
	}
	if mode != "hang" {
		if err := w.Ready(proc.ReadyInfo{}); err != nil {
			fmt.Fprintln(os.Stderr, "procapp: ready:", err)
		}
	}
	<-w.Draining()
	ln.Close()
	<-served
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(newConns)
		mu.Unlock()
		if n == 0 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "procapp: shutdown:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
