// Sounds page: upload (multipart), text to speech, record by phone (with the job followed
// until done), edit a description, delete, music-on-hold classes. Everything goes through
// the JSON API; errors are shown next to the field they name.
(function () {
  "use strict";
  var api = window.applianceApi;
  var page = document.getElementById("sounds-page");
  if (!page) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  var showError = window.applianceShowError;

  function clearErrors(root) {
    root.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
  }

  function reloadWith(key, value) {
    window.location.href = "/dialplan/sounds?" + key + "=" + encodeURIComponent(value);
  }

  // Values of a form's named fields, empty ones (and the music class of a prompt) left out.
  function values(form, names) {
    var out = {};
    var kind = form.querySelector("[data-kind]");
    names.forEach(function (name) {
      var field = form.elements[name];
      if (!field || field.value.trim() === "") { return; }
      if (field.closest("[data-moh-only]") && kind && kind.value !== "moh") { return; }
      out[name] = field.value.trim();
    });
    return out;
  }

  // The music class choice only shows for kind "moh" (style, not the hidden attribute: the
  // stylesheet gives labels display:block, which would win over it).
  document.querySelectorAll("[data-kind]").forEach(function (select) {
    var form = select.form;
    function sync() {
      form.querySelectorAll("[data-moh-only]").forEach(function (n) {
        n.style.display = select.value === "moh" ? "" : "none";
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
  // Compact players, so the row's actions stay inside the card.
  page.querySelectorAll("audio").forEach(function (player) { player.style.width = "13rem"; });

  // -- upload: multipart/form-data straight to the API ---------------------------------------
  var upload = document.getElementById("upload-sound");
  if (upload) {
    upload.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(upload);
      var data = new FormData();
      var fields = values(upload, ["name", "description", "kind", "moh_class", "language"]);
      Object.keys(fields).forEach(function (k) { data.append(k, fields[k]); });
      var file = upload.elements.file.files[0];
      if (file) { data.append("file", file, file.name); }
      var busy = upload.querySelector("[data-busy]");
      busy.hidden = false;
      fetch("/api/v1/sounds", { method: "POST", body: data, credentials: "same-origin",
                                headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (!r.ok) {
              var tooLarge = r.status === 413 ? upload.getAttribute("data-t-too-large") : "";
              var err = new Error(tooLarge || (body && body.message) || ("HTTP " + r.status));
              err.field = tooLarge ? "file" : body && body.field;
              throw err;
            }
            return body;
          });
        })
        .then(function (sound) { reloadWith("saved", sound.name); })
        .catch(function (err) { busy.hidden = true; showError(upload, err); });
    });
  }

  // -- text to speech --------------------------------------------------------------------------
  var tts = document.getElementById("tts-sound");
  if (tts) {
    tts.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(tts);
      api("POST", "/api/v1/sounds/tts", values(tts, ["name", "description", "kind", "moh_class", "language", "text"]))
        .then(function (sound) { reloadWith("saved", sound.name); })
        .catch(function (err) { showError(tts, err); });
    });
  }

  // -- record by phone: start the job, then follow it ---------------------------------------------
  var record = document.getElementById("record-sound");
  if (record) {
    var status = record.querySelector("[data-record-status]");
    var t = function (key) { return record.getAttribute("data-t-" + key) || key; };
    var follow = function (job) {
      api("GET", "/api/v1/sounds/record/" + encodeURIComponent(job)).then(function (s) {
        if (s.state === "done") {
          status.textContent = t("done").replace("%s", s.sound);
          reloadWith("saved", s.sound);
          return;
        }
        if (s.state === "failed") {
          status.textContent = "";
          showError(record, { message: t("failed").replace("%s", s.error || "") });
          record.querySelector("button[type=submit]").disabled = false;
          return;
        }
        status.textContent = t(s.state);
        window.setTimeout(function () { follow(job); }, 1000);
      }).catch(function (err) { showError(record, err); });
    };
    record.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(record);
      var button = record.querySelector("button[type=submit]");
      button.disabled = true;
      api("POST", "/api/v1/sounds/record", values(record, ["name", "extension", "description"]))
        .then(function (job) { status.textContent = t(job.state); follow(job.job); })
        .catch(function (err) { button.disabled = false; showError(record, err); });
    });
  }

  // -- edit a description, delete a sound --------------------------------------------------------------
  page.querySelectorAll("[data-edit]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-edit");
      var text = window.prompt(button.getAttribute("data-prompt"), button.getAttribute("data-description"));
      if (text === null) { return; }
      api("PUT", "/api/v1/sounds/" + encodeURIComponent(name), { description: text })
        .then(function () { reloadWith("saved", name); })
        .catch(function (err) { showError(page, err); });
    });
  });
  page.querySelectorAll("[data-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-delete");
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      api("DELETE", "/api/v1/sounds/" + encodeURIComponent(name))
        .then(function () { reloadWith("deleted", name); })
        .catch(function (err) { showError(page, err); });
    });
  });

  // -- music-on-hold classes --------------------------------------------------------------------------
  var classes = document.getElementById("moh-classes");
  var newClass = document.getElementById("new-class");
  if (newClass) {
    newClass.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(newClass);
      api("POST", "/api/v1/moh-classes", values(newClass, ["name", "description"]))
        .then(function (c) { reloadWith("class_saved", c.name); })
        .catch(function (err) { showError(newClass, err); });
    });
  }
  classes.querySelectorAll("[data-delete-class]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-delete-class");
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      api("DELETE", "/api/v1/moh-classes/" + encodeURIComponent(name))
        .then(function () { reloadWith("class_deleted", name); })
        .catch(function (err) { showError(classes, err); });
    });
  });
}());
