// The JSON API from the browser: session cookie + CSRF header. Pages of the
// dialplan area build on it; every error comes back as {error, field, message}.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";
  window.applianceApi = function (method, path, body) {
    var init = { method: method, credentials: "same-origin",
                 headers: { "Accept": "application/json", "X-CSRF-Token": token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 204) { return null; }
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data && data.message) || ("HTTP " + r.status));
          err.field = data && data.field; err.status = r.status; err.code = data && data.error;
          throw err;
        }
        return data;
      });
    });
  };
  // Show an API error at the most precise element naming its field: for "numbers.2.apps.0.procedure"
  // the first of [data-error-for="numbers.2.apps.0.procedure"], "numbers.2.apps.0", ... that exists,
  // else the root's [data-errors] box. Earlier messages in `root` are hidden first.
  window.applianceShowError = function (root, err) {
    root.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
    var field = err.field || "";
    var box = null;
    while (field && !box) {
      box = root.querySelector('[data-error-for="' + field + '"]');
      field = field.indexOf(".") >= 0 ? field.slice(0, field.lastIndexOf(".")) : "";
    }
    box = box || root.querySelector("[data-errors]");
    if (!box) { window.alert(err.message); return; }
    box.textContent = err.message;
    box.hidden = false;
    box.setAttribute("role", "alert");
    if (box.scrollIntoView) { box.scrollIntoView({ block: "center" }); }
  };
}());
