// Refreshes the status strip every 10 s. The page works without it.
(function () {
  "use strict";
  var strip = document.getElementById("status-strip");
  if (!strip || !window.fetch) { return; }
  function field(name) { return strip.querySelector('[data-status="' + name + '"]'); }
  function refresh() {
    fetch("/api/v1/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        var edge = field("sip_edge");
        edge.className = "edge " + s.sip_edge;
        edge.textContent = s.sip_edge === "up" ? edge.dataset.up : edge.dataset.down;
        field("registered").textContent = s.registered === null ? "\u2013" : String(s.registered);
        field("calls").textContent = String(s.calls);
      })
      .catch(function () {});
  }
  setInterval(refresh, 10000);
}());
