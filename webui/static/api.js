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
  // Show an API error next to the field it names (data-field="..."), else in the page's [data-errors] box.
  window.applianceShowError = function (root, err) {
    var box = (err.field && root.querySelector('[data-error-for="' + err.field + '"]')) ||
              root.querySelector("[data-errors]");
    if (box) { box.textContent = err.message; box.hidden = false; box.setAttribute("role", "alert"); }
  };
}());
