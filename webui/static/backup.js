// Settings > Backup: upload an archive (streamed as the request body), check it (everything is verified,
// nothing restored), then restore it after an explicit confirmation.
(function () {
  "use strict";
  var texts = document.getElementById("backup-texts");
  function t(key, values) {
    var s = texts ? (texts.getAttribute("data-" + key) || "") : "";
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }
  var token = (document.querySelector('meta[name="csrf-token"]') || { getAttribute: function () { return ""; } })
    .getAttribute("content");
  var panel = document.getElementById("restore-panel");
  var info = document.getElementById("archive-info");
  var result = document.getElementById("restore-result");
  var pass = document.getElementById("restore-passphrase");
  var passRow = document.getElementById("passphrase-row");
  var confirmRow = document.getElementById("restore-confirm-row");
  var confirmBox = document.getElementById("restore-confirm");
  var restoreNow = document.getElementById("restore-now");
  var check = document.getElementById("check-archive");
  var current = null;
  var wantRestore = false;

  function showInfo(data) {
    var s = data.summary || {};
    var lines = [
      t("created") + ": " + (data.created_at || ""),
      t("software") + ": " + data.app_version + " (schema " + data.schema_version + ")" +
        (data.migrates ? " — " + t("migrates") : ""),
      t("parts") + ": " + (data.parts || []).join(", "),
      t("contents") + ": " + ["users", "trunks", "sounds", "voicemail_messages", "recordings", "calls"].map(function (k) {
        return (s[k] || 0) + " " + k.replace("_", " ");
      }).join(", "),
      t("verified")
    ];
    info.textContent = lines.join("\n");
    info.style.whiteSpace = "pre-line";
  }

  function open(row, restore) {
    current = row.getAttribute("data-name");
    wantRestore = restore;
    panel.hidden = false;
    document.getElementById("restore-title").textContent = t(restore ? "restore" : "inspect", { name: current });
    passRow.hidden = row.getAttribute("data-encrypted") !== "1";
    pass.value = "";
    info.textContent = "";
    result.textContent = "";
    confirmRow.hidden = true;
    confirmBox.checked = false;
    restoreNow.disabled = true;
    check.hidden = false;
    panel.querySelectorAll("[data-errors]").forEach(function (n) { n.hidden = true; });
    if (passRow.hidden) { runCheck(); } else { pass.focus(); }
  }

  function runCheck() {
    info.textContent = t("checking");
    var body = pass.value ? { passphrase: pass.value } : {};
    panel.querySelectorAll("[data-errors]").forEach(function (n) { n.hidden = true; });
    applianceApi("POST", "/api/v1/backup/files/" + encodeURIComponent(current) + "/inspect", body).then(function (data) {
      showInfo(data);
      if (wantRestore) { confirmRow.hidden = false; check.hidden = true; }
    }).catch(function (err) {
      info.textContent = "";
      applianceShowError(panel, err);
    });
  }

  document.querySelectorAll("#backup-list tr[data-name]").forEach(function (row) {
    row.querySelector(".inspect-backup").addEventListener("click", function () { open(row, false); });
    row.querySelector(".restore-backup").addEventListener("click", function () { open(row, true); });
  });
  if (check) { check.addEventListener("click", runCheck); }
  if (confirmBox) {
    confirmBox.addEventListener("change", function () { restoreNow.disabled = !confirmBox.checked; });
  }
  if (restoreNow) {
    restoreNow.addEventListener("click", function () {
      restoreNow.disabled = true;
      result.textContent = t("restoring");
      var body = { confirm: true };
      if (pass.value) { body.passphrase = pass.value; }
      applianceApi("POST", "/api/v1/backup/files/" + encodeURIComponent(current) + "/restore", body).then(function (data) {
        var msg = t("restored", { previous: data.previous || "-" }) + " " +
          (data.restarting ? t("restarting") : t("restart-manually", { services: (data.restart || []).join(", ") }));
        (data.warnings || []).forEach(function (w) { msg += "\n" + w; });
        result.className = "notice";
        result.style.whiteSpace = "pre-line";
        result.textContent = msg;
      }).catch(function (err) {
        result.textContent = "";
        restoreNow.disabled = false;
        applianceShowError(panel, err);
      });
    });
  }

  // The schedule: show the chosen destination's fields, test the destination, run now.
  var destination = document.getElementById("destination");
  function showDestination() {
    document.querySelectorAll("#schedule-form [data-kind]").forEach(function (n) {
      n.hidden = n.getAttribute("data-kind") !== destination.value;
    });
  }
  if (destination) {
    destination.addEventListener("change", showDestination);
    showDestination();
  }
  var actions = document.getElementById("schedule-actions");
  var scheduleResult = document.getElementById("schedule-result");
  var trustButton = document.getElementById("trust-host-key");
  var testButton = document.getElementById("test-destination");
  var runButton = document.getElementById("run-schedule-now");

  function say(text, ok) {
    scheduleResult.className = ok ? "notice" : "error";
    scheduleResult.style.whiteSpace = "pre-line";
    scheduleResult.textContent = text;
  }

  function testDestination(trust) {
    trustButton.hidden = true;
    actions.querySelectorAll("[data-errors]").forEach(function (n) { n.hidden = true; });
    scheduleResult.className = "";
    scheduleResult.textContent = t("testing");
    testButton.disabled = true;
    var body = trust ? { trust_fingerprint: trust } : {};
    applianceApi("POST", "/api/v1/backup/schedule/test", body).then(function (data) {
      testButton.disabled = false;
      var lines = [];
      if (data.ok) {
        lines.push(t("test-ok", { message: data.message }));
        if (data.fingerprint) {
          lines.push(t(data.pinned_now ? "pinned-now" : "fingerprint", { fingerprint: data.fingerprint }));
        }
      } else {
        lines.push(t("test-failed", { reason: data.reason, message: data.message }));
        if (data.reason === "host_key_changed" && data.presented) {
          trustButton.textContent = t("trust", { fingerprint: data.presented });
          trustButton.setAttribute("data-fingerprint", data.presented);
          trustButton.hidden = false;
        }
      }
      say(lines.join("\n"), data.ok);
      if (data.ok && data.pinned_now) {
        var shown = document.getElementById("sftp-host-key");
        if (shown) { shown.textContent = data.fingerprint; }
      }
    }).catch(function (err) {
      testButton.disabled = false;
      scheduleResult.textContent = "";
      applianceShowError(actions, err);
    });
  }

  function lastRun(data) {
    var last = document.getElementById("schedule-last");
    if (last && data.last_status) {
      last.textContent = "";
      var span = document.createElement("span");
      span.className = data.last_status === "ok" ? "notice" : "error";
      span.textContent = data.last_run_at + " — " + data.last_message;
      last.appendChild(span);
    }
  }

  function waitForRun(before) {
    applianceApi("GET", "/api/v1/backup/schedule").then(function (data) {
      if (data.running || data.last_run_at === before) {
        window.setTimeout(function () { waitForRun(before); }, 2000);
        return;
      }
      runButton.disabled = false;
      lastRun(data);
      say(t(data.last_status === "ok" ? "run-ok" : "run-failed", { message: data.last_message }),
        data.last_status === "ok");
    }).catch(function (err) {
      runButton.disabled = false;
      applianceShowError(actions, err);
    });
  }

  if (testButton) { testButton.addEventListener("click", function () { testDestination(""); }); }
  if (trustButton) {
    trustButton.addEventListener("click", function () { testDestination(trustButton.getAttribute("data-fingerprint")); });
  }
  if (runButton) {
    runButton.addEventListener("click", function () {
      runButton.disabled = true;
      actions.querySelectorAll("[data-errors]").forEach(function (n) { n.hidden = true; });
      applianceApi("GET", "/api/v1/backup/schedule").then(function (before) {
        return applianceApi("POST", "/api/v1/backup/schedule/run", {}).then(function () {
          scheduleResult.className = "";
          scheduleResult.textContent = t("running");
          waitForRun(before.last_run_at);
        });
      }).catch(function (err) {
        runButton.disabled = false;
        applianceShowError(actions, err);
      });
    });
  }

  var upload = document.getElementById("upload-backup");
  if (upload) {
    upload.addEventListener("click", function () {
      var input = document.getElementById("backup-file");
      var status = document.getElementById("upload-status");
      if (!input.files || !input.files.length) { return; }
      upload.disabled = true;
      status.className = "";
      status.textContent = t("uploading");
      fetch("/api/v1/backup/uploads", {
        method: "POST", credentials: "same-origin", body: input.files[0],
        headers: { "Accept": "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": token }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { throw new Error(data.message || ("HTTP " + r.status)); }
          window.location.reload();
        });
      }).catch(function (err) {
        status.className = "error";
        status.textContent = err.message;
        upload.disabled = false;
      });
    });
  }
}());
