package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Page is one browser tab, attached over the browser's DevTools connection.
// Its methods are safe for concurrent use, though a page, like a user, does
// one navigation at a time. The test's cleanup closes the tab.
type Page struct {
	b       *Browser
	target  string
	session string

	mu      sync.Mutex
	changed chan struct{}   // closed and replaced whenever the fields below change
	loaded  map[string]bool // loader ids whose document fired its load event
	console []string
	gone    bool // the tab was closed or crashed
}

// NewPage opens a new blank tab and attaches to it. It fails the test if
// that is not possible. If the test fails, the cleanup logs the console
// messages the page saw and, with $BATON_ARTIFACTS set, saves a screenshot
// there before it closes the tab.
func (b *Browser) NewPage(t testing.TB) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
	defer cancel()

	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatalf("browser: new page: %v", err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	err := b.conn.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	if err != nil {
		t.Fatalf("browser: new page: %v", err)
	}
	p := &Page{
		b:       b,
		target:  target.TargetID,
		session: attached.SessionID,
		changed: make(chan struct{}),
		loaded:  make(map[string]bool),
	}
	b.conn.handle(p.session, p.event)
	t.Cleanup(func() { p.close(t) })

	for _, method := range []string{"Page.enable", "Runtime.enable"} {
		if err := p.call(ctx, method, nil, nil); err != nil {
			t.Fatalf("browser: new page: %v", err)
		}
	}
	// Lifecycle events carry the loader id, which tells the load event of
	// the navigation Navigate started from that of an earlier document.
	if err := p.call(ctx, "Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}, nil); err != nil {
		t.Fatalf("browser: new page: %v", err)
	}
	return p
}

// close is NewPage's cleanup.
func (p *Page) close(t testing.TB) {
	if t.Failed() {
		for _, line := range p.Console() {
			t.Logf("browser: console: %s", line)
		}
		if os.Getenv("BATON_ARTIFACTS") != "" {
			if dir, err := artifactDir(t); err == nil {
				path := filepath.Join(dir, "failure-"+p.target[:min(8, len(p.target))]+".png")
				if err := p.Screenshot(path); err == nil {
					t.Logf("browser: screenshot of the failed page: %s", path)
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Best effort: the browser may be gone already.
	_ = p.b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil)
	p.b.conn.handle(p.session, nil)
}

func (p *Page) call(ctx context.Context, method string, params, result any) error {
	return p.b.conn.call(ctx, p.session, method, params, result)
}

// event runs on the connection's reader goroutine for each event of the
// page's session.
func (p *Page) event(method string, params json.RawMessage) {
	switch method {
	case "Page.lifecycleEvent":
		var e struct {
			LoaderID string `json:"loaderId"`
			Name     string `json:"name"`
		}
		if json.Unmarshal(params, &e) == nil && e.Name == "load" {
			p.update(func() { p.loaded[e.LoaderID] = true })
		}
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string         `json:"type"`
			Args []remoteObject `json:"args"`
		}
		if json.Unmarshal(params, &e) == nil {
			args := make([]string, len(e.Args))
			for i, a := range e.Args {
				args[i] = a.String()
			}
			line := e.Type + ": " + strings.Join(args, " ")
			p.update(func() { p.console = append(p.console, line) })
		}
	case "Runtime.exceptionThrown":
		var e struct {
			Details exceptionDetails `json:"exceptionDetails"`
		}
		if json.Unmarshal(params, &e) == nil {
			line := "exception: " + e.Details.String()
			p.update(func() { p.console = append(p.console, line) })
		}
	case "Inspector.targetCrashed", "Target.detachedFromTarget":
		p.update(func() { p.gone = true })
	}
}

func (p *Page) update(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
}

// Navigate loads url in the page and waits, up to DefaultNavigateTimeout,
// for the new document's load event. It fails if Chromium could not load
// the URL at all (such as a refused connection); an HTTP error status is
// still a loaded page. A navigation within the document (a #fragment) has
// no load event and returns at once.
func (p *Page) Navigate(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultNavigateTimeout)
	defer cancel()
	var res struct {
		LoaderID  string `json:"loaderId"`
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("browser: navigate to %s: %s", url, res.ErrorText)
	}
	if res.LoaderID == "" {
		return nil
	}
	for {
		p.mu.Lock()
		loaded, gone, changed := p.loaded[res.LoaderID], p.gone, p.changed
		p.mu.Unlock()
		switch {
		case loaded:
			return nil
		case gone:
			return fmt.Errorf("browser: navigate to %s: %w", url, ErrPageClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("browser: navigate to %s: no load event within %v: %w", url, DefaultNavigateTimeout, ctx.Err())
		case <-p.b.conn.done:
			return fmt.Errorf("browser: navigate to %s: %w", url, p.b.conn.err)
		}
	}
}

// Eval evaluates the JavaScript expression js in the page, awaits it if it
// is a promise, and stores its JSON value in out, as json.Unmarshal does.
// out may be nil to ignore the value, and is left alone when the value is
// undefined. An exception thrown, or a promise rejected, becomes an error
// wrapping ErrException with the exception's message and stack. Eval is
// bounded by DefaultCallTimeout.
func (p *Page) Eval(js string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
	defer cancel()
	v, err := p.evaluate(ctx, js)
	if err != nil {
		return err
	}
	return v.decode(out)
}

func (p *Page) evaluate(ctx context.Context, js string) (remoteObject, error) {
	var res struct {
		Result    remoteObject      `json:"result"`
		Exception *exceptionDetails `json:"exceptionDetails"`
	}
	err := p.call(ctx, "Runtime.evaluate", map[string]any{
		"expression":    js,
		"returnByValue": true,
		"awaitPromise":  true,
		"userGesture":   true,
	}, &res)
	if err != nil {
		return remoteObject{}, err
	}
	if res.Exception != nil {
		return remoteObject{}, fmt.Errorf("%w: %s", ErrException, res.Exception)
	}
	return res.Result, nil
}

// Click scrolls the first element matching the CSS selector into view and
// clicks the middle of it with real mouse events, which the page sees as
// trusted input: the element must be visible and not covered by another.
func (p *Page) Click(selector string) error {
	var at *struct {
		X, Y    float64
		Problem string
	}
	err := p.Eval(`(() => {
	const el = document.querySelector(`+jsString(selector)+`);
	if (!el) return null;
	el.scrollIntoView({block: "center", inline: "center", behavior: "instant"});
	const r = el.getBoundingClientRect();
	if (r.width === 0 || r.height === 0) return {problem: "it has no size (is it hidden?)"};
	const x = r.left + r.width / 2, y = r.top + r.height / 2;
	const hit = document.elementFromPoint(x, y);
	if (hit !== el && !el.contains(hit)) {
		return {problem: "its middle is covered by " + (hit ? hit.outerHTML.slice(0, 120) : "nothing (outside the window?)")};
	}
	return {x, y};
})()`, &at)
	if err != nil {
		return fmt.Errorf("browser: click %q: %w", selector, err)
	}
	if at == nil {
		return fmt.Errorf("%w %q", ErrNotFound, selector)
	}
	if at.Problem != "" {
		return fmt.Errorf("browser: click %q: %s", selector, at.Problem)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
	defer cancel()
	for _, ev := range []map[string]any{
		{"type": "mouseMoved", "x": at.X, "y": at.Y},
		{"type": "mousePressed", "x": at.X, "y": at.Y, "button": "left", "buttons": 1, "clickCount": 1},
		{"type": "mouseReleased", "x": at.X, "y": at.Y, "button": "left", "buttons": 0, "clickCount": 1},
	} {
		if err := p.call(ctx, "Input.dispatchMouseEvent", ev, nil); err != nil {
			return fmt.Errorf("browser: click %q: %w", selector, err)
		}
	}
	return nil
}

// WaitFor evaluates the JavaScript expression js every DefaultPollInterval
// until its value is truthy, as an if statement would judge it, or timeout
// passes. Exceptions count as not yet, so "document.querySelector('#x')
// .textContent === 'done'" may be polled before #x exists. The timeout
// error gives the last value (or error) and the start of the page's text.
func (p *Page) WaitFor(js string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(DefaultPollInterval)
	defer tick.Stop()
	last := "nothing (no evaluation finished)"
	for {
		v, err := p.evaluate(ctx, js)
		switch {
		case err == nil && v.truthy():
			return nil
		case err == nil:
			last = v.String()
		case ctx.Err() == nil:
			last = "error: " + err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("browser: wait for %s: still not true after %v; last value %s; page text %q: %w",
				js, timeout, last, p.bodyText(200), ctx.Err())
		case <-p.b.conn.done:
			return fmt.Errorf("browser: wait for %s: %w", js, p.b.conn.err)
		case <-tick.C:
		}
	}
}

// bodyText returns the start of the page's visible text for error messages.
func (p *Page) bodyText(n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := p.evaluate(ctx, `document.body ? document.body.innerText : ""`)
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	var s string
	_ = v.decode(&s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector.
func (p *Page) Text(selector string) (string, error) {
	var s *string
	err := p.Eval(`(() => {
	const el = document.querySelector(`+jsString(selector)+`);
	return el ? (el.innerText ?? el.textContent) : null;
})()`, &s)
	if err != nil {
		return "", fmt.Errorf("browser: text of %q: %w", selector, err)
	}
	if s == nil {
		return "", fmt.Errorf("%w %q", ErrNotFound, selector)
	}
	return *s, nil
}

// Screenshot saves a PNG of the page's viewport to path, creating its
// directory if needed.
func (p *Page) Screenshot(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
	defer cancel()
	var res struct {
		Data []byte `json:"data"` // base64 in the JSON, which encoding/json decodes
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return nil
}

// Console returns the console messages ("log: hello 42") and uncaught
// exceptions ("exception: Uncaught Error: boom …") the page has produced
// since NewPage, oldest first. Messages arrive asynchronously, so one logged
// just before may not be there yet: poll, or WaitFor a page-side sign.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.console)
}

// remoteObject is the protocol's view of a JavaScript value. With
// returnByValue, Value holds JSON for everything JSON can express.
type remoteObject struct {
	Type                string          `json:"type"`
	Subtype             string          `json:"subtype"`
	Value               json.RawMessage `json:"value"`
	UnserializableValue string          `json:"unserializableValue"` // NaN, -0, Infinity, 1n
	Description         string          `json:"description"`
}

// String renders the value the way a console line would.
func (o remoteObject) String() string {
	switch {
	case o.Type == "string":
		var s string
		_ = json.Unmarshal(o.Value, &s)
		return s
	case o.UnserializableValue != "":
		return o.UnserializableValue
	case len(o.Value) > 0 && o.Type != "object":
		return string(o.Value)
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return o.Type // undefined
}

// truthy reports whether JavaScript would treat the value as true.
func (o remoteObject) truthy() bool {
	switch o.Type {
	case "undefined":
		return false
	case "boolean":
		return string(o.Value) == "true"
	case "number":
		if o.UnserializableValue != "" {
			return strings.HasSuffix(o.UnserializableValue, "Infinity") // not NaN or -0
		}
		f, err := strconv.ParseFloat(string(o.Value), 64)
		return err == nil && f != 0
	case "string":
		return string(o.Value) != `""`
	case "bigint":
		return o.UnserializableValue != "0n"
	case "object":
		return o.Subtype != "null"
	}
	return true // function, symbol
}

// decode stores the value in out.
func (o remoteObject) decode(out any) error {
	if out == nil || o.Type == "undefined" {
		return nil
	}
	if len(o.Value) == 0 {
		return fmt.Errorf("browser: eval: cannot decode %s %s into %T", o.Type, o.String(), out)
	}
	if err := json.Unmarshal(o.Value, out); err != nil {
		return fmt.Errorf("browser: eval: decode %s: %w", o.Type, err)
	}
	return nil
}

// exceptionDetails describes an exception thrown in the page.
type exceptionDetails struct {
	Text      string        `json:"text"` // "Uncaught", "Uncaught (in promise)"
	Exception *remoteObject `json:"exception"`
}

func (d *exceptionDetails) String() string {
	if d.Exception == nil {
		return d.Text
	}
	return d.Text + " " + d.Exception.String()
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // also escapes U+2028 and U+2029
	return string(b)
}
