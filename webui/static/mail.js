// Mail settings page: the port follows the security mode while it holds a usual port; the test email
// runs through the API and its answer shows in the row (the form still works without JavaScript).
(function () {
  "use strict";
  var form = document.getElementById("profile-form");
  if (form) {
    var ports = {};
    (form.getAttribute("data-default-ports") || "").split(",").forEach(function (pair) {
      var kv = pair.split(":");
      if (kv.length === 2) { ports[kv[0]] = kv[1]; }
    });
    var security = document.getElementById("security");
    var port = document.getElementById("port");
    if (security && port) {
      security.addEventListener("change", function () {
        var usual = Object.keys(ports).map(function (k) { return ports[k]; });
        if (port.value === "" || usual.indexOf(port.value) >= 0) { port.value = ports[security.value] || port.value; }
      });
    }
  }
  document.querySelectorAll("form.test-form").forEach(function (testForm) {
    testForm.addEventListener("submit", function (event) {
      if (typeof applianceApi !== "function") { return; }
      event.preventDefault();
      var name = testForm.getAttribute("data-profile");
      var row = testForm.closest("tr");
      var output = row ? row.querySelector(".test-output") : null;
      var button = testForm.querySelector("button");
      var to = testForm.querySelector("input[name=to]");
      var body = to && to.value ? { to: to.value } : {};
      if (button) { button.disabled = true; }
      if (output) { output.className = "test-output"; output.textContent = "…"; }
      applianceApi("POST", "/api/v1/mail/profiles/" + encodeURIComponent(name) + "/test", body).then(function (result) {
        if (!output) { return; }
        output.className = "test-output " + (result.ok ? "notice" : "error");
        output.setAttribute("data-ok", result.ok ? "1" : "0");
        output.setAttribute("data-reason", result.reason || "");
        output.textContent = (result.ok ? "✓ " : "✗ " + (result.reason ? result.reason + ": " : "")) + (result.message || "");
      }).catch(function (err) {
        if (output) { output.className = "test-output error"; output.textContent = err.message; }
      }).then(function () {
        if (button) { button.disabled = false; }
      });
    });
  });
})();
