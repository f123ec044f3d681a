package g_test

import (
	"sync"
	"testing"
	"time"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
)

func TestServerIsSingletonPerName(t *testing.T) {
	const n = 16
	got := make([]*baton.Server, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = g.Server("same") })
	}
	wg.Wait()
	for i, s := range got {
		if s != got[0] {
			t.Fatalf("g.Server(\"same\") call %d returned another server", i)
		}
	}
	if g.Server() != g.Server(baton.DefaultServerName) || g.Server() != baton.GetServer() {
		t.Error("no name does not mean the default server")
	}
	if g.Server("a") == g.Server("b") {
		t.Error("different names returned one server")
	}
	if g.Server("same").Name() != "same" {
		t.Errorf("Name() = %q", g.Server("same").Name())
	}
}

func TestWaitReturnsWhenAllStopped(t *testing.T) {
	a, b := g.Server("wait-a"), g.Server("wait-b")
	for _, s := range []*baton.Server{a, b} {
		s.SetAddr("127.0.0.1:0")
		s.SetAccessLogEnabled(false)
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	returned := make(chan struct{})
	go func() { g.Wait(); close(returned) }()
	a.Shutdown()
	select {
	case <-returned:
		t.Fatal("Wait returned while a server still runs")
	case <-time.After(100 * time.Millisecond):
	}
	b.Shutdown()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after every server stopped")
	}
}
