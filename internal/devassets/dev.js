// baton development mode: reload this page when a new build serves, when
// the build fails (the server then shows its errors over the page) or when
// a static file or template changes. Served at /__baton/dev.js; baton adds
// it to every HTML page in development mode.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__batonDev) return;
  // "connecting", "open" or "closed": for tests and the curious.
  window.__batonDev = "connecting";
  var build = me.getAttribute("data-build"), err = me.getAttribute("data-err");
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/__baton/dev";
  var delay = 50;
  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () { delay = 50; window.__batonDev = "open"; };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m.type === "refresh") {
        location.reload();
      } else if (m.type === "state" && (String(m.build) !== build || String(m.err) !== err)) {
        // Another build serves now, or the error shown changed.
        location.reload();
      }
    };
    ws.onclose = function (e) {
      window.__batonDev = "closed";
      // 1012 (service restart): this worker drains because a new build
      // is ready; the next connection reaches it. Anything else: retry
      // with a backoff while the server is away.
      var wait = e.code === 1012 ? 20 : delay;
      delay = Math.min(delay * 2, 2000);
      setTimeout(connect, wait);
    };
  }
  connect();
})();
