// Voicemail pages: the admin's list (add a shared box, delete), a box's settings and greetings,
// and the user portal's messages (mark, save, delete). Everything goes through the JSON API.
(function () {
  "use strict";
  var api = window.applianceApi;
  var showError = window.applianceShowError;
  var BASE = "/api/v1/voicemail/boxes";
  var page = document.getElementById("voicemail-page") || document.body;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  function box(number) { return BASE + "/" + encodeURIComponent(number); }
  function reload() { window.location.reload(); }

  // Delete a box: a box holding messages answers 409 "confirm"; ask, then delete with its messages.
  document.querySelectorAll("[data-vm-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      var number = button.getAttribute("data-vm-delete");
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      var done = function () {
        var then = button.getAttribute("data-then");
        if (then) { window.location.href = then; } else { reload(); }
      };
      api("DELETE", box(number)).then(done).catch(function (err) {
        if (err.status === 409 && err.field === "confirm") {
          if (!window.confirm(err.message)) { return; }
          api("DELETE", box(number) + "?confirm=true").then(done).catch(function (e) { showError(page, e); });
          return;
        }
        showError(page, err);
      });
    });
  });

  var create = document.querySelector("[data-vm-create]");
  if (create) {
    create.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { number: create.elements.number.value.trim() };
      if (create.elements.name.value.trim()) { body.name = create.elements.name.value.trim(); }
      if (create.elements.pin.value) { body.pin = create.elements.pin.value; }
      var subs = create.elements.subscribers.value.trim();
      if (subs) { body.subscribers = subs.split(/[\s,]+/); }
      api("POST", BASE, body).then(reload).catch(function (err) { showError(create, err); });
    });
  }

  document.querySelectorAll("[data-vm-settings]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var el = form.elements;
      var body = { revision: parseInt(form.getAttribute("data-revision"), 10) };
      ["enabled", "announce"].forEach(function (n) { if (el[n]) { body[n] = el[n].checked; } });
      ["email_mode", "email_address", "language", "name"].forEach(function (n) { if (el[n]) { body[n] = el[n].value.trim(); } });
      ["ring_seconds", "max_message_s", "quota_mb", "retention_days"].forEach(function (n) {
        if (el[n]) { body[n] = el[n].value.trim(); }
      });
      if (el.pin && el.pin.value) { body.pin = el.pin.value; }
      if (el.subscribers) { body.subscribers = el.subscribers.value.trim() ? el.subscribers.value.trim().split(/[\s,]+/) : []; }
      api("PUT", box(form.getAttribute("data-vm-settings")), body).then(function (data) {
        form.setAttribute("data-revision", data.revision);
        if (el.pin) { el.pin.value = ""; }
        form.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
        var saved = form.querySelector("[data-saved]");
        if (saved) { saved.hidden = false; }
      }).catch(function (err) { showError(form, err); });
    });
  });

  document.querySelectorAll("[data-vm-greeting]").forEach(function (form) {
    var clicked = null;
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.addEventListener("click", function () { clicked = b.name; });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var path = box(form.getAttribute("data-number")) + "/greetings/" + form.getAttribute("data-vm-greeting");
      if (clicked === "tts") {
        api("PUT", path, { text: form.elements.text.value }).then(reload).catch(function (err) { showError(form, err); });
        return;
      }
      var file = form.elements.file.files[0];
      if (!file) { showError(form, { field: "file", message: form.elements.file.getAttribute("aria-label") }); return; }
      var data = new FormData();
      data.append("file", file);
      fetch(path, { method: "PUT", credentials: "same-origin", body: data,
                    headers: { "Accept": "application/json", "X-CSRF-Token": token } })
        .then(function (r) {
          if (r.ok) { reload(); return; }
          return r.json().catch(function () { return {}; }).then(function (d) {
            showError(form, { field: d.field, message: d.message || ("HTTP " + r.status) });
          });
        }).catch(function (err) { showError(form, err); });
    });
  });

  document.querySelectorAll("[data-vm-greeting-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      api("DELETE", box(button.getAttribute("data-number")) + "/greetings/" + button.getAttribute("data-vm-greeting-delete"))
        .then(reload).catch(function (err) { showError(page, err); });
    });
  });

  var CHANGES = { read: { read: true }, unread: { read: false }, save: { folder: "saved", read: true } };
  document.querySelectorAll("[data-vm-msg]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.getAttribute("data-vm-msg");
      var path = box(button.getAttribute("data-number")) + "/messages/" + button.getAttribute("data-id");
      if (action === "delete") {
        if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
        api("DELETE", path).then(reload).catch(function (err) { showError(page, err); });
        return;
      }
      api("PUT", path, CHANGES[action]).then(reload).catch(function (err) { showError(page, err); });
    });
  });

  // Playing a new message in the browser marks it read (as listening by phone does).
  document.querySelectorAll("tr.unread audio").forEach(function (audio) {
    audio.addEventListener("play", function () {
      var row = audio.closest("tr");
      var table = audio.closest("[data-vm-messages]");
      if (!row || !table || !row.classList.contains("unread")) { return; }
      row.classList.remove("unread");
      api("PUT", box(table.getAttribute("data-vm-messages")) + "/messages/" + row.getAttribute("data-message"),
          { read: true }).catch(function (err) { showError(page, err); });
    }, { once: true });
  });
}());
