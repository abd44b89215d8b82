// Dialplan switches: flip a state, add, edit and delete a switch, all through the API.
(function () {
  "use strict";
  var api = window.applianceApi;
  var BASE = "/api/v1/dialplan/switches";
  var page = document.getElementById("switches-page");
  if (!page) { return; }
  var t = function (key) { return page.getAttribute("data-t-" + key) || key; };

  var showError = window.applianceShowError;

  function path(name) { return BASE + "/" + encodeURIComponent(name); }

  page.querySelectorAll("[data-set-state]").forEach(function (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      api("PUT", path(button.getAttribute("data-switch")) + "/state",
          { state: parseInt(button.getAttribute("data-set-state"), 10) })
        .then(function () { window.location.reload(); })
        .catch(function (err) { button.disabled = false; showError(page, err); });
    });
  });

  page.querySelectorAll("[data-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      api("DELETE", path(button.getAttribute("data-delete")))
        .then(function () { window.location.reload(); })
        .catch(function (err) { showError(page, err); });
    });
  });

  var form = document.getElementById("switch-form");
  if (!form) { return; }
  var editing = null;  // the switch being edited (as the API returned it), or null when adding
  var title = document.getElementById("switch-form-title");
  var submit = document.getElementById("switch-submit");
  var cancel = document.getElementById("switch-cancel");
  var stateRow = form.elements.state;

  function reset() {
    editing = null;
    form.reset();
    form.elements.name.readOnly = false;
    stateRow.disabled = false;
    title.textContent = t("add");
    submit.textContent = t("create");
    cancel.hidden = true;
    form.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
  }

  function fill(s) {
    editing = s;
    form.elements.name.value = s.name;
    form.elements.name.readOnly = true;
    form.elements.description.value = s.description;
    form.elements.code.value = s.code;
    form.elements.states.value = String(s.states);
    stateRow.value = String(s.state);
    stateRow.disabled = true;  // flipped with the buttons in the list, not here
    Array.prototype.forEach.call(form.elements.allowed.options, function (o) {
      o.selected = s.allowed.indexOf(o.value) >= 0;
    });
    title.textContent = t("edit").replace("%s", s.name);
    submit.textContent = t("save");
    cancel.hidden = false;
    form.scrollIntoView({ block: "start" });
    form.elements.description.focus();
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
    var code = form.elements.code.value.trim();
    var body = {
      description: form.elements.description.value,
      code: /^\d+$/.test(code) ? parseInt(code, 10) : code,
      states: parseInt(form.elements.states.value, 10),
      allowed: Array.prototype.filter.call(form.elements.allowed.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; })
    };
    var request;
    if (editing) {
      body.revision = editing.revision;
      request = api("PUT", path(editing.name), body);
    } else {
      body.name = form.elements.name.value.trim();
      body.state = parseInt(stateRow.value, 10);
      request = api("POST", BASE, body);
    }
    request.then(function () { window.location.reload(); })
      .catch(function (err) { showError(form, err); });
  });
}());
