// Price lists: create, edit, delete a list and import its rates (a CSV file sent as text/csv),
// all through the API; a refused file lists each bad line.
(function () {
  "use strict";
  var api = window.applianceApi;
  var showError = window.applianceShowError;
  var BASE = "/api/v1/price-lists";

  function path(name) { return BASE + "/" + encodeURIComponent(name); }

  function formErrorsHidden(root) {
    root.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
  }

  document.querySelectorAll("[data-delete]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
      var root = button.closest("section") || document.body;
      api("DELETE", path(button.getAttribute("data-delete")))
        .then(function () { window.location.assign("/trunks/prices"); })
        .catch(function (err) { showError(root, err); });
    });
  });

  var create = document.getElementById("price-list-form");
  if (create) {
    create.addEventListener("submit", function (event) {
      event.preventDefault();
      formErrorsHidden(create);
      var body = { name: create.elements.name.value.trim(), description: create.elements.description.value,
                   currency: create.elements.currency.value.trim().toUpperCase() };
      api("POST", BASE, body)
        .then(function (made) { window.location.assign("/trunks/prices/" + encodeURIComponent(made.name)); })
        .catch(function (err) { showError(create, err); });
    });
  }

  var page = document.getElementById("price-list-page");
  if (!page) { return; }
  var t = function (key) { return page.getAttribute("data-t-" + key) || key; };
  var name = page.getAttribute("data-name");

  var edit = document.getElementById("price-list-edit");
  if (edit) {
    edit.addEventListener("submit", function (event) {
      event.preventDefault();
      formErrorsHidden(edit);
      var saved = edit.querySelector("[data-saved]");
      saved.textContent = "";
      api("PUT", path(name), { description: edit.elements.description.value,
                               currency: edit.elements.currency.value.trim().toUpperCase(),
                               revision: parseInt(page.getAttribute("data-revision"), 10) })
        .then(function (row) {
          page.setAttribute("data-revision", String(row.revision));
          saved.textContent = t("saved");
        })
        .catch(function (err) { showError(edit, err); });
    });
  }

  var upload = document.getElementById("rates-form");
  if (!upload) { return; }
  var result = document.getElementById("rates-result");
  var errorsBox = document.getElementById("rates-errors");
  var errorsTitle = document.getElementById("rates-errors-title");
  var errorsBody = errorsBox.querySelector("tbody");
  var meta = document.querySelector('meta[name="csrf-token"]');

  function showLines(data) {
    errorsBody.textContent = "";
    (data.errors || []).forEach(function (e) {
      var tr = document.createElement("tr");
      [e.line, e.column || "", e.message].forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      });
      errorsBody.appendChild(tr);
    });
    var listed = (data.errors || []).length;
    var more = (data.error_count || listed) - listed;
    errorsTitle.textContent = t("nothing") + (more > 0 ? " (" + t("more").replace("%s", String(more)) + ")" : "");
    errorsBox.hidden = false;
  }

  upload.addEventListener("submit", function (event) {
    event.preventDefault();
    formErrorsHidden(upload);
    errorsBox.hidden = true;
    result.textContent = "";
    var file = upload.elements.file.files[0];
    if (!file) {
      showError(upload, { field: "rates", message: t("nofile") });
      return;
    }
    var button = upload.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(path(name) + "/rates", {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "Accept": "application/json", "Content-Type": "text/csv",
                 "X-CSRF-Token": meta ? meta.getAttribute("content") : "" }
    }).then(function (r) {
      return r.json().catch(function () { return { message: "HTTP " + r.status }; }).then(function (data) {
        button.disabled = false;
        if (r.ok) {
          result.textContent = t("imported").replace("%s", String(data.imported));
          window.setTimeout(function () { window.location.reload(); }, 800);
          return;
        }
        if (data.errors && data.errors.length) { showLines(data); }
        showError(upload, { field: data.field || "rates", message: data.message || ("HTTP " + r.status) });
      });
    }).catch(function (err) { button.disabled = false; showError(upload, err); });
  });
}());
