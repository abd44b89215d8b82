// Settings > Storage: initialize a device (typed confirmation naming it and its size, progress),
// move a kind of data (progress), eject a volume, add/test/delete SMB and NFS shares.
(function () {
  "use strict";
  var texts = document.getElementById("storage-texts");
  function t(key, values) {
    var s = texts ? (texts.getAttribute("data-" + key) || "") : "";
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }
  var jobPanel = document.getElementById("job-panel");
  var jobBar = document.getElementById("job-progress");
  var jobStep = document.getElementById("job-step");

  function follow(job, root) {
    jobPanel.hidden = false;
    function poll() {
      applianceApi("GET", "/api/v1/storage/jobs/" + job.id).then(function (j) {
        jobBar.value = j.progress;
        jobStep.textContent = j.subject + ": " + j.step;
        if (j.state === "running") { window.setTimeout(poll, 500); return; }
        if (j.state === "done") { jobStep.textContent = t("done"); window.location.reload(); return; }
        jobStep.textContent = t("failed") + " " + j.error;
        applianceShowError(root, { field: j.field, message: j.error });
      }).catch(function (err) { applianceShowError(root, err); });
    }
    poll();
  }

  var panel = document.getElementById("initialize-panel");
  var current = null;
  document.querySelectorAll(".initialize-device").forEach(function (button) {
    button.addEventListener("click", function () {
      current = button.closest("tr");
      var values = { device: current.getAttribute("data-device"), size: current.getAttribute("data-size-text") };
      document.getElementById("initialize-title").textContent = t("initialize", values);
      document.getElementById("initialize-warning").textContent = t("warning", values);
      document.getElementById("init-confirm").value = "";
      panel.hidden = false;
      document.getElementById("init-confirm").focus();
    });
  });
  var cancel = document.getElementById("initialize-cancel");
  if (cancel) { cancel.addEventListener("click", function () { panel.hidden = true; }); }
  var now = document.getElementById("initialize-now");
  if (now) {
    now.addEventListener("click", function () {
      var name = current.getAttribute("data-device");
      applianceApi("POST", "/api/v1/storage/devices/" + name + "/initialize", {
        label: document.getElementById("init-label").value,
        confirm: document.getElementById("init-confirm").value,
        size_bytes: parseInt(current.getAttribute("data-size"), 10)
      }).then(function (job) { follow(job, panel); }).catch(function (err) { applianceShowError(panel, err); });
    });
  }

  var placements = document.getElementById("storage-placements");
  document.querySelectorAll(".move-kind").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = button.closest("tr");
      applianceApi("PUT", "/api/v1/storage/placements/" + row.getAttribute("data-kind"), {
        volume_uuid: row.querySelector(".move-target").value,
        revision: parseInt(row.getAttribute("data-revision"), 10)
      }).then(function (job) { follow(job, placements); }).catch(function (err) { applianceShowError(placements, err); });
    });
  });

  var devicesRoot = document.getElementById("storage-devices");
  document.querySelectorAll(".eject-volume").forEach(function (button) {
    button.addEventListener("click", function () {
      var label = button.closest("tr").getAttribute("data-label");
      applianceApi("POST", "/api/v1/storage/volumes/" + label + "/eject")
        .then(function () { window.location.reload(); })
        .catch(function (err) { applianceShowError(devicesRoot, err); });
    });
  });

  var shares = document.getElementById("storage-shares");
  document.querySelectorAll(".test-share").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = button.closest("tr");
      var cell = row.querySelector(".share-test-result");
      cell.textContent = t("testing");
      applianceApi("POST", "/api/v1/storage/shares/" + row.getAttribute("data-share") + "/test")
        .then(function (r) { cell.textContent = (r.ok ? "✔ " : "✘ ") + r.message; })
        .catch(function (err) { applianceShowError(shares, err); });
    });
  });
  document.querySelectorAll(".delete-share").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!window.confirm(t("delete"))) { return; }
      applianceApi("DELETE", "/api/v1/storage/shares/" + button.closest("tr").getAttribute("data-share"))
        .then(function () { window.location.reload(); })
        .catch(function (err) { applianceShowError(shares, err); });
    });
  });
  var form = document.getElementById("share-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      ["name", "protocol", "server", "share", "folder", "username", "password", "domain"].forEach(function (k) {
        var value = form.elements[k].value;
        if (value !== "" || k === "name" || k === "server" || k === "share") { body[k] = value; }
      });
      applianceApi("POST", "/api/v1/storage/shares", body)
        .then(function () { window.location.reload(); })
        .catch(function (err) { applianceShowError(form, err); });
    });
  }
})();
