// Settings > Info: restart a service through the supervisor, then reload the figures.
(function () {
  "use strict";
  var root = document.getElementById("health-services");
  var status = document.getElementById("restart-status");
  document.querySelectorAll(".restart-service").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.closest("tr").getAttribute("data-service");
      button.disabled = true;
      status.textContent = name + "…";
      applianceApi("POST", "/api/v1/system/services/" + name + "/restart")
        .then(function (r) {
          status.textContent = r.message;
          window.setTimeout(function () { window.location.reload(); }, r.restarting ? 4000 : 500);
        })
        .catch(function (err) { button.disabled = false; status.textContent = ""; applianceShowError(root, err); });
    });
  });
})();
