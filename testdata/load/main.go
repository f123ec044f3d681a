// Command load sends a fixed number of GET requests to one URL over a few
// keep-alive connections, for bench/instructions.sh, which needs the same
// request count for every server it measures. It first waits, up to 60 s,
// for the URL to answer.
//
//	load -url http://127.0.0.1:8199/ -n 10000 -c 4
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "the URL to GET")
	n := flag.Int("n", 1000, "requests to send, after the first that answers")
	conns := flag.Int("c", 4, "connections, each sending one request at a time")
	flag.Parse()
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns},
		Timeout:   30 * time.Second,
	}
	get := func() error {
		resp, err := client.Get(*url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		err := get()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			log.Fatalf("load: %s does not answer: %v", *url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var left, failed atomic.Int64
	left.Store(int64(*n))
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := get(); err != nil {
					if failed.Add(1) == 1 {
						log.Printf("load: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		log.Fatalf("load: %d of %d requests failed", f, *n)
	}
}
