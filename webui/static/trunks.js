// Trunks area: the preset chooser fills the trunk form, "Test connection" answers in place, the live
// state refreshes, the inbound number form shows only the fields of the chosen destination, and trunk
// group members move in place. Without JavaScript every one of these works by submitting the form.
(function () {
  "use strict";

  // -- trunk form: provider presets ----------------------------------------------------------------
  var trunkForm = document.getElementById("trunk-form");
  if (trunkForm) {
    var presets = {};
    try { presets = JSON.parse(trunkForm.getAttribute("data-presets") || "{}"); } catch (e) { presets = {}; }
    var chooser = document.getElementById("preset");
    var apply = document.getElementById("apply-preset");
    if (apply) { apply.hidden = true; }
    var setValue = function (id, value) {
      var input = document.getElementById(id);
      if (input) { input.value = value === undefined || value === null ? "" : String(value); }
    };
    var setChecked = function (id, value) {
      var input = document.getElementById(id);
      if (input) { input.checked = !!value; }
    };
    chooser.addEventListener("change", function () {
      var preset = presets[chooser.value];
      if (!preset) { return; }
      setValue("host", preset.host || "");
      setValue("transport", preset.transport);
      setValue("called_header", preset.called_header);
      setValue("country_code", preset.country_code);
      setChecked("register", preset.register);
      setChecked("keepalive", preset.keepalive);
      for (var i = 1; i <= 3; i += 1) { setValue("codec_" + i, (preset.codecs || [])[i - 1] || ""); }
      var notes = document.getElementById("preset-notes");
      if (notes) {
        var option = chooser.options[chooser.selectedIndex];
        notes.textContent = (option && option.getAttribute("data-notes")) || preset.notes || "";
      }
      (preset.asks || []).some(function (field) {
        var input = document.getElementById(field);
        if (input && !input.value) { input.focus(); return true; }
        return false;
      });
    });
  }

  // -- trunk list: test connection in place, live state ----------------------------------------------
  var texts = document.getElementById("trunk-texts");
  var say = function (key) { return texts ? texts.getAttribute("data-" + key) || key : key; };
  document.querySelectorAll("form.test-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.getAttribute("data-trunk");
      var output = form.closest("tr").querySelector(".test-output");
      var button = form.querySelector("button");
      button.disabled = true;
      output.className = "test-output hint";
      output.textContent = say("testing");
      window.applianceApi("POST", "/api/v1/trunks/" + encodeURIComponent(name) + "/test").then(function (result) {
        var ok = !!(result && result.ok);
        output.className = "test-output " + (ok ? "ok" : "error");
        var label = !ok && result && result.result
          ? document.querySelector('#trunk-reasons [data-reason="' + result.result + '"]') : null;
        var reason = label ? label.textContent : (!ok && result && result.result) || "";
        var detail = result && result.detail ? " — " + result.detail : "";
        output.textContent = (ok ? say("works") : say("failed")) + (reason ? " (" + reason + ")" : "") + detail;
      }).catch(function (err) {
        output.className = "test-output error";
        output.textContent = (err.status === 503 ? say("unavailable") : say("failed")) + " — " + err.message;
      }).then(function () { button.disabled = false; });
    });
  });
  var table = document.getElementById("trunks");
  if (table) {
    var refresh = function () {
      window.applianceApi("GET", "/api/v1/trunks").then(function (trunks) {
        (trunks || []).forEach(function (trunk) {
          var row = table.querySelector('tr[data-trunk="' + trunk.name + '"]');
          var live = trunk.live || {};
          if (!row) { return; }
          var cell = row.querySelector("td[data-state]");
          if (cell && cell.getAttribute("data-state") !== live.state) {
            window.location.reload();  // labels come translated from the page
            return;
          }
          var reason = row.querySelector(".state-reason");
          if (reason) { reason.textContent = live.detail || ""; }
          var channels = row.querySelector("td.channels");
          if (channels) {
            channels.textContent = (live.channels === null || live.channels === undefined ? "–" : live.channels)
              + (trunk.max_calls ? " / " + trunk.max_calls : "");
          }
        });
      }).catch(function () { /* the next round tries again */ });
    };
    window.setInterval(refresh, 15000);
  }

  // -- inbound number form: the fields of the chosen destination -----------------------------------
  var kind = document.getElementById("destination_kind");
  if (kind) {
    var show = function () {
      document.querySelectorAll("[data-for-kinds]").forEach(function (node) {
        var kinds = node.getAttribute("data-for-kinds").split(" ");
        node.hidden = kinds.indexOf(kind.value) < 0;
      });
    };
    kind.addEventListener("change", show);
    show();
  }

  // -- trunk group form: members move in place ------------------------------------------------------
  var groupForm = document.getElementById("trunk-group-form");
  var list = groupForm ? document.getElementById("members") : null;
  if (list) { window.applianceOrderedList(list); }
}());
