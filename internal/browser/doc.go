// Package browser drives headless Chromium for end-to-end tests: a test
// starts a real program, opens its pages, clicks, waits for text and keeps
// screenshots. It speaks the Chrome DevTools Protocol itself over one
// websocket, so it needs no driver besides the Chromium binary.
//
//	func TestCounter(t *testing.T) {
//		srv := httptest.NewServer(app) // the program under test
//		defer srv.Close()
//		b := browser.Start(t) // skips without Chromium; see Require
//		p := b.NewPage(t)
//		if err := p.Navigate(srv.URL); err != nil {
//			t.Fatal(err)
//		}
//		if err := p.Click("#add"); err != nil {
//			t.Fatal(err)
//		}
//		if err := p.WaitFor(`document.querySelector("#count").innerText === "1"`, 5*time.Second); err != nil {
//			t.Fatal(err)
//		}
//		if err := p.Screenshot(filepath.Join(browser.ArtifactDir(t), "counter.png")); err != nil {
//			t.Fatal(err)
//		}
//	}
//
// # Running the browser tests
//
// Tests that call [Start] or [Require] skip when no Chromium is found. Install
// it (apt-get install -y chromium, or .ci/install-browser) and set
// BATON_BROWSER_TESTS=1 to make them mandatory, as CI does:
//
//	BATON_BROWSER_TESTS=1 go test -race ./...
//
// BATON_CHROMIUM picks another binary, and BATON_ARTIFACTS keeps screenshots
// (see [ArtifactDir]); when a test fails, each of its pages logs its console
// and, with BATON_ARTIFACTS set, leaves a screenshot there.
//
// # Lifecycle
//
// Everything is bound to the test that created it. [Start]'s cleanup kills
// Chromium's whole process group by pid and removes its temporary profile,
// even when the test failed; [Browser.NewPage]'s cleanup closes the tab.
// Every step has a deadline (the DefaultXxx constants), so a wedged browser
// fails the test instead of hanging it.
//
// # NOTES
//
// Chromium runs with --no-sandbox, which root requires: only point it at
// pages the test controls. It runs with the networking flags of a machine
// without internet, so pages should load everything from the test's server.
//
// If Start fails with "exited before listening for DevTools", the log shows
// Chromium's last lines; a missing shared library means the distribution
// package (not a bare binary) should be installed.
//
// Console messages arrive asynchronously: [Page.Console] may not yet hold a
// message logged an instant before. Wait on a page-side sign with
// [Page.WaitFor], or poll.
package browser
