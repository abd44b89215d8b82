// Devices page: assign, re-provision, reboot, reset the provisioning password, link, delete,
// auto-add window, add by MAC, phonebook contacts. Everything through the JSON API.
(function () {
  "use strict";
  var root = document.getElementById("devices-page");
  if (!root) { return; }
  var notice = document.getElementById("device-notice");
  function t(name) { return root.getAttribute("data-t-" + name) || ""; }
  function fail(err) { window.applianceShowError(root, err); }
  function say(text) { notice.textContent = text; notice.hidden = false; }
  function reload() { window.location.reload(); }
  function mac(el) { return el.closest("tr").getAttribute("data-mac"); }
  function path(m, rest) { return "/api/v1/devices/" + encodeURIComponent(m) + (rest || ""); }

  var toggle = document.getElementById("auto-add-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      window.applianceApi("PUT", "/api/v1/provisioning", { auto_add: toggle.getAttribute("data-value") === "1" })
        .then(reload, fail);
    });
  }
  root.querySelectorAll("select[data-assign]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      window.applianceApi("PUT", path(mac(sel)), { user: sel.value || null }).then(reload, fail);
    });
  });
  root.querySelectorAll("button[data-action]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var action = btn.getAttribute("data-action");
      if (action === "reboot" && !window.confirm(t("confirm-reboot"))) { return; }
      window.applianceApi("POST", path(mac(btn), "/actions"), { action: action }).then(function (r) {
        say(t("sent") + " " + r.event);
      }, fail);
    });
  });
  root.querySelectorAll("button[data-reset-password]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      window.applianceApi("POST", path(mac(btn), "/password")).then(function (r) {
        btn.closest("tr").querySelector("[data-password]").textContent = r.provisioning_password;
        say(t("password") + " " + r.provisioning_username + " / " + r.provisioning_password);
      }, fail);
    });
  });
  root.querySelectorAll("button[data-show-link]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      window.applianceApi("GET", path(mac(btn))).then(function (r) { say(t("link") + " " + r.provisioning_link); },
                                                       fail);
    });
  });
  root.querySelectorAll("button[data-delete]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      if (!window.confirm(t("confirm-delete"))) { return; }
      window.applianceApi("DELETE", path(mac(btn))).then(reload, fail);
    });
  });
  var add = document.getElementById("device-add");
  if (add) {
    add.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { mac: add.mac.value };
      if (add.vendor.value) { body.vendor = add.vendor.value; }
      if (add.user.value) { body.user = add.user.value; }
      if (add.trusted_ranges && add.trusted_ranges.value.trim()) {
        body.trusted_ranges = add.trusted_ranges.value.trim().split(/[\s,]+/);
      }
      window.applianceApi("POST", "/api/v1/devices", body).then(function (r) {
        // Only administrators receive the password and the link (they open the user's SIP secret).
        if (!r.provisioning_password) { say(t("added")); return; }
        say(t("password") + " " + r.provisioning_username + " / " + r.provisioning_password + " — " +
            t("link") + " " + r.provisioning_link);
      }, function (err) { window.applianceShowError(add, err); });
    });
  }
  var contact = document.getElementById("contact-add");
  if (contact) {
    contact.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { name: contact.name.value, number: contact.number.value };
      if (contact.company.value) { body.company = contact.company.value; }
      if (contact.mobile.value) { body.mobile = contact.mobile.value; }
      window.applianceApi("POST", "/api/v1/phonebook/contacts", body).then(reload, function (err) {
        window.applianceShowError(contact, err);
      });
    });
  }
  var fw = document.getElementById("firmware-add");
  if (fw) {
    fw.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var meta = document.querySelector('meta[name="csrf-token"]');
      fetch("/api/v1/firmware", { method: "POST", credentials: "same-origin", body: new FormData(fw),
                                  headers: { "Accept": "application/json",
                                             "X-CSRF-Token": meta ? meta.getAttribute("content") : "" } })
        .then(function (r) {
          if (r.ok) { reload(); return; }
          return r.json().catch(function () { return {}; }).then(function (data) {
            var err = new Error((data && data.message) || ("HTTP " + r.status));
            err.field = data && data.field;
            window.applianceShowError(fw, err);
          });
        });
    });
  }
  root.querySelectorAll("button[data-firmware-delete]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var id = btn.closest("tr").getAttribute("data-firmware");
      window.applianceApi("DELETE", "/api/v1/firmware/" + id).then(reload, fail);
    });
  });
  root.querySelectorAll("button[data-contact-delete]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var id = btn.closest("tr").getAttribute("data-contact");
      window.applianceApi("DELETE", "/api/v1/phonebook/contacts/" + id).then(reload, fail);
    });
  });
}());
