// Settings > Network and Settings > DHCP server: the forms go through the JSON API. After "Apply network
// settings" a countdown runs; "Confirm" must be pressed (from the new address) before it ends, otherwise the
// appliance puts the previous settings back by itself.
(function () {
  "use strict";
  function showError(box, err) {
    box.textContent = (err.field ? err.field + ": " : "") + err.message;
    box.hidden = false;
  }
  function num(value) { return value === "" ? 0 : (/^\d+$/.test(value) ? parseInt(value, 10) : value); }

  var netForm = document.getElementById("network-form");
  var pending = document.getElementById("pending");
  var seconds = document.getElementById("seconds-left");
  var timer = null;
  function poll() {
    applianceApi("GET", "/api/v1/network/status").then(function (st) {
      if (!st.pending) { window.location.reload(); return; }
      seconds.textContent = st.seconds_left;
      var failed = document.getElementById("rollback-failed");
      if (failed) {
        failed.hidden = !st.rollback_failed;
        document.getElementById("rollback-error").textContent = st.rollback_failed || "";
      }
    }).catch(function () { /* the old address may be gone: keep counting locally */
      var left = parseInt(seconds.textContent || "0", 10) - 1;
      seconds.textContent = left > 0 ? left : 0;
    });
  }
  function startCountdown(st) {
    if (!st.pending) { window.location.reload(); return; }  // lab mode: stored, nothing to confirm
    pending.hidden = false;
    seconds.textContent = st.seconds_left;
    document.getElementById("confirm-addresses").textContent = (st.confirm_addresses || []).join(", ");
    if (!timer) { timer = window.setInterval(poll, 1000); }
  }
  if (pending && !pending.hidden) { timer = window.setInterval(poll, 1000); }
  if (netForm) {
    netForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("network-error");
      box.hidden = true;
      var checked = netForm.querySelector("input[name=scenario]:checked");
      var body = { revision: parseInt(netForm.getAttribute("data-revision"), 10), interfaces: {},
                   shaper: { upload_kbit: num(netForm.upload_kbit.value), download_kbit: num(netForm.download_kbit.value) } };
      if (checked) { body.scenario = checked.value; }
      netForm.querySelectorAll("tr[data-port]").forEach(function (row) {
        var get = function (n) { return row.querySelector("[name=" + n + "]").value.trim(); };
        var mode = get("mode");
        var iface = { mode: mode, mtu: num(get("mtu")), vlan: get("vlan") === "" ? null : num(get("vlan")),
                      dns: get("dns") === "" ? [] : get("dns").split(/[\s,]+/) };
        if (mode === "static") { iface.address = get("address"); iface.gateway = get("gateway"); }
        body.interfaces[row.getAttribute("data-port")] = iface;
      });
      applianceApi("PUT", "/api/v1/network", body).then(startCountdown).catch(function (err) { showError(box, err); });
    });
  }
  var confirmButton = document.getElementById("confirm-button");
  if (confirmButton) {
    confirmButton.addEventListener("click", function () {
      applianceApi("POST", "/api/v1/network/confirm").then(function () { window.location.reload(); })
        .catch(function (err) { showError(document.getElementById("network-error"), err); });
    });
  }

  var dhcpForm = document.getElementById("dhcp-form");
  if (dhcpForm) {
    dhcpForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("dhcp-error");
      box.hidden = true;
      var body = { revision: parseInt(dhcpForm.getAttribute("data-revision"), 10),
                   enabled: dhcpForm.enabled.checked, refuse_unknown: dhcpForm.refuse_unknown.checked,
                   interface: dhcpForm.interface.value, static_leases: [] };
      ["range_start", "range_end", "domain", "gateway", "dns1", "dns2", "ntp1", "ntp2", "wins1", "wins2",
       "provisioning_name"].forEach(function (n) { body[n] = dhcpForm[n].value.trim(); });
      ["lease_minutes", "max_leases"].forEach(function (n) { body[n] = num(dhcpForm[n].value.trim()); });
      dhcpForm.static_leases.value.split("\n").forEach(function (line) {
        var parts = line.trim().split(/\s+/);
        if (parts[0]) { body.static_leases.push({ mac: parts[0], address: parts[1] || "", hostname: parts[2] || "" }); }
      });
      applianceApi("PUT", "/api/v1/dhcp", body).then(function (saved) {
        dhcpForm.setAttribute("data-revision", saved.revision);
        document.getElementById("dhcp-saved").hidden = false;
      }).catch(function (err) { showError(box, err); });
    });
  }
}());
