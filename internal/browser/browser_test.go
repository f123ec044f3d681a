package browser_test

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-go/baton/internal/browser"
)

const testPage = `<!doctype html>
<html>
<head><title>browser test</title></head>
<body>
<h1>Greeting</h1>
<div style="height: 1500px">spacer, so the button starts below the fold</div>
<button id="go">Fetch</button>
<p id="out">waiting</p>
<script>
console.log("page ready", 42);
document.querySelector("#go").addEventListener("click", async (ev) => {
	const r = await fetch("/api/greet", {method: "POST"});
	const text = await r.text();
	document.querySelector("#out").textContent = text + (ev.isTrusted ? " (trusted click)" : " (synthetic click)");
});
</script>
</body>
</html>`

// newServer serves testPage at / and counts the POSTs to /api/greet.
func newServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var greets atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
	})
	mux.HandleFunc("POST /api/greet", func(w http.ResponseWriter, r *http.Request) {
		greets.Add(1)
		io.WriteString(w, "hello from the server")
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv, &greets
}

func TestClickFetchAndScreenshot(t *testing.T) {
	browser.Require(t)
	srv, greets := newServer(t)
	p := browser.Start(t).NewPage(t)

	if err := p.Navigate(srv.URL); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Text("#out"); err != nil || got != "waiting" {
		t.Fatalf(`Text("#out") = %q, %v; want "waiting"`, got, err)
	}
	if err := p.Click("#go"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.querySelector("#out").textContent !== "waiting"`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	want := "hello from the server (trusted click)"
	if got, err := p.Text("#out"); err != nil || got != want {
		t.Fatalf(`Text("#out") = %q, %v; want %q`, got, err, want)
	}
	if n := greets.Load(); n != 1 {
		t.Errorf("server saw %d POSTs, want 1", n)
	}

	path := filepath.Join(browser.ArtifactDir(t), "click.png")
	if err := p.Screenshot(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot starts with %q, want the PNG signature", data[:min(8, len(data))])
	}
	if len(data) < 2000 {
		t.Errorf("screenshot is %d bytes, want a real page (at least 2000)", len(data))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot does not decode: %v", err)
	}
	if cfg.Width < 800 || cfg.Height < 600 {
		t.Errorf("screenshot is %dx%d, want about the 1280x900 window", cfg.Width, cfg.Height)
	}
}

func TestEval(t *testing.T) {
	browser.Require(t)
	srv, _ := newServer(t)
	p := browser.Start(t).NewPage(t)
	if err := p.Navigate(srv.URL); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		js      string
		want    any
		wantErr string // substring of an ErrException error
	}{
		{name: "number", js: "1 + 2", want: float64(3)},
		{name: "string", js: `"ba" + "ton"`, want: "baton"},
		{name: "object", js: `({a: [1, "x"]})`, want: map[string]any{"a": []any{float64(1), "x"}}},
		{name: "promise", js: `new Promise(r => setTimeout(() => r("later"), 10))`, want: "later"},
		{name: "dom", js: `document.title`, want: "browser test"},
		{name: "throw", js: `(() => { throw new Error("boom") })()`, wantErr: "Error: boom"},
		{name: "rejected promise", js: `Promise.reject(new TypeError("nope"))`, wantErr: "TypeError: nope"},
		{name: "throw string", js: `(() => { throw "plain" })()`, wantErr: "plain"},
		{name: "syntax error", js: `1 +`, wantErr: "SyntaxError"},
		{name: "reference error", js: `noSuchVariable`, wantErr: "noSuchVariable is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			err := p.Eval(tt.js, &got)
			if tt.wantErr != "" {
				if !errors.Is(err, browser.ErrException) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Eval(%q) error = %v, want ErrException mentioning %q", tt.js, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval(%q) error = %v", tt.js, err)
			}
			if !equalJSON(got, tt.want) {
				t.Errorf("Eval(%q) = %#v, want %#v", tt.js, got, tt.want)
			}
		})
	}

	t.Run("undefined leaves out alone", func(t *testing.T) {
		got := "untouched"
		if err := p.Eval(`undefined`, &got); err != nil || got != "untouched" {
			t.Errorf("Eval(undefined) = %q, %v; want untouched, nil", got, err)
		}
	})
}

func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k := range a {
			if !equalJSON(a[k], b[k]) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, equalJSON)
	}
	return a == b
}

func TestConsole(t *testing.T) {
	browser.Require(t)
	srv, _ := newServer(t)
	p := browser.Start(t).NewPage(t)
	if err := p.Navigate(srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := p.Eval(`console.warn("careful", {n: 1}); setTimeout(() => { throw new Error("late boom") }, 0)`, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"log: page ready 42", "warning: careful Object", "exception: Uncaught Error: late boom"}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = p.Console(); len(got) >= len(want) {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("Console() = %q, want %d lines like %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("Console()[%d] = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	browser.Require(t)
	srv, _ := newServer(t)
	p := browser.Start(t).NewPage(t)
	if err := p.Navigate(srv.URL); err != nil {
		t.Fatal(err)
	}

	t.Run("click missing element", func(t *testing.T) {
		if err := p.Click("#nope"); !errors.Is(err, browser.ErrNotFound) {
			t.Errorf(`Click("#nope") = %v, want ErrNotFound`, err)
		}
	})
	t.Run("text of missing element", func(t *testing.T) {
		if _, err := p.Text("#nope"); !errors.Is(err, browser.ErrNotFound) {
			t.Errorf(`Text("#nope") error = %v, want ErrNotFound`, err)
		}
	})
	t.Run("click covered element", func(t *testing.T) {
		err := p.Eval(`(() => {
			const d = document.createElement("div");
			d.id = "cover";
			d.style = "position: fixed; inset: 0; background: white";
			document.body.append(d);
		})()`, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Eval(`document.querySelector("#cover").remove()`, nil)
		if err := p.Click("#go"); err == nil || !strings.Contains(err.Error(), "covered") {
			t.Errorf(`Click("#go") under a cover = %v, want a "covered" error`, err)
		}
	})
	t.Run("wait timeout", func(t *testing.T) {
		err := p.WaitFor(`document.title === "never"`, 300*time.Millisecond)
		if err == nil {
			t.Fatal("WaitFor of a false expression succeeded")
		}
		for _, want := range []string{"last value false", "Greeting"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("WaitFor error %q does not mention %q", err, want)
			}
		}
		// The deadline may strike mid-call; the connection must survive it.
		for i := range 100 {
			_ = p.WaitFor(`document.title === "never"`, time.Duration(i)*20*time.Microsecond)
		}
		var n int
		if err := p.Eval(`6 * 7`, &n); err != nil || n != 42 {
			t.Errorf("Eval after timed-out waits = %d, %v; want 42, nil", n, err)
		}
	})
	t.Run("wait through exceptions", func(t *testing.T) {
		if err := p.Eval(`setTimeout(() => { const s = document.createElement("span"); s.id = "late"; s.textContent = "here"; document.body.append(s) }, 200)`, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(`document.querySelector("#late").textContent === "here"`, 5*time.Second); err != nil {
			t.Error(err)
		}
	})
	t.Run("navigate refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if err := p.Navigate("http://" + addr + "/"); err == nil || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
			t.Errorf("Navigate to a closed port = %v, want ERR_CONNECTION_REFUSED", err)
		}
	})
}

func TestTwoPages(t *testing.T) {
	browser.Require(t)
	srv, greets := newServer(t)
	b := browser.Start(t)
	p1, p2 := b.NewPage(t), b.NewPage(t)
	for _, p := range []*browser.Page{p1, p2} {
		if err := p.Navigate(srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	if err := p2.Click("#go"); err != nil {
		t.Fatal(err)
	}
	if err := p2.WaitFor(`document.querySelector("#out").textContent.startsWith("hello")`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, err := p1.Text("#out"); err != nil || got != "waiting" {
		t.Errorf(`first page Text("#out") = %q, %v; want "waiting" (the click went to the second page)`, got, err)
	}
	if n := greets.Load(); n != 1 {
		t.Errorf("server saw %d POSTs, want 1", n)
	}
}
