// Conference rooms: add, edit, delete a room; lock, mute all, mute or remove a participant (through the API).
(function () {
  "use strict";
  var api = window.applianceApi;
  var BASE = "/api/v1/conferences";
  var page = document.getElementById("conferences-page");
  if (!page) { return; }
  var t = function (key) { return page.getAttribute("data-t-" + key) || key; };
  var showError = window.applianceShowError;

  function path(name) { return BASE + "/" + encodeURIComponent(name); }
  function reload() { window.location.reload(); }

  page.querySelectorAll("[data-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      api("DELETE", path(button.getAttribute("data-delete"))).then(reload)
        .catch(function (err) { showError(page, err); });
    });
  });

  page.querySelectorAll("[data-live]").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = {};
      body[button.getAttribute("data-field")] = button.getAttribute("data-value") === "1";
      button.disabled = true;
      api("PUT", path(button.getAttribute("data-live")) + "/live", body).then(reload)
        .catch(function (err) { button.disabled = false; showError(page, err); });
    });
  });

  page.querySelectorAll("[data-mute]").forEach(function (button) {
    button.addEventListener("click", function () {
      api("PUT", path(button.getAttribute("data-room")) + "/participants/" + button.getAttribute("data-mute"),
          { muted: button.getAttribute("data-muted") !== "1" }).then(reload)
        .catch(function (err) { showError(page, err); });
    });
  });

  page.querySelectorAll("[data-remove]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      api("DELETE", path(button.getAttribute("data-room")) + "/participants/" + button.getAttribute("data-remove"))
        .then(reload).catch(function (err) { showError(page, err); });
    });
  });

  var form = document.getElementById("conference-form");
  if (!form) { return; }
  var editing = null;
  var title = document.getElementById("conference-form-title");
  var submit = document.getElementById("conference-submit");
  var cancel = document.getElementById("conference-cancel");
  var flags = ["entry_tones", "exit_tones", "announce_count"];

  function reset() {
    editing = null;
    form.reset();
    form.elements.name.readOnly = false;
    title.textContent = t("add");
    submit.textContent = t("create");
    cancel.hidden = true;
    form.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
  }

  function fill(room) {
    editing = room;
    ["name", "number", "description", "pin", "moderator_pin", "language"].forEach(function (field) {
      form.elements[field].value = room[field];
    });
    form.elements.max_participants.value = String(room.max_participants);
    flags.forEach(function (field) { form.elements[field].checked = !!room[field]; });
    form.elements.name.readOnly = true;
    title.textContent = t("edit").replace("%s", room.name);
    submit.textContent = t("save");
    cancel.hidden = false;
    form.scrollIntoView({ block: "start" });
    form.elements.number.focus();
  }

  page.querySelectorAll("[data-edit]").forEach(function (button) {
    button.addEventListener("click", function () {
      api("GET", path(button.getAttribute("data-edit"))).then(fill)
        .catch(function (err) { showError(page, err); });
    });
  });
  cancel.addEventListener("click", reset);

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var max = form.elements.max_participants.value.trim();
    var body = {
      number: form.elements.number.value.trim(),
      description: form.elements.description.value,
      pin: form.elements.pin.value.trim(),
      moderator_pin: form.elements.moderator_pin.value.trim(),
      max_participants: /^\d+$/.test(max) ? parseInt(max, 10) : max,
      language: form.elements.language.value
    };
    flags.forEach(function (field) { body[field] = form.elements[field].checked; });
    var request;
    if (editing) {
      body.revision = editing.revision;
      request = api("PUT", path(editing.name), body);
    } else {
      body.name = form.elements.name.value.trim();
      request = api("POST", BASE, body);
    }
    request.then(reload).catch(function (err) { showError(form, err); });
  });
}());
