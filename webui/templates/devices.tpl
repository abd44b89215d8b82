% rebase("layout.tpl")
<section class="card" id="devices-page"
  data-t-confirm-delete="{{_("Forget this device? It will be added again by its next request only while auto-add is open.")}}"
  data-t-confirm-reboot="{{_("Reboot this phone now? A call in progress on it is cut.")}}"
  data-t-password="{{_("New provisioning password (shown only now):")}}"
  data-t-sent="{{_("Sent to the phone:")}}" data-t-link="{{_("Provisioning link:")}}"
  data-t-added="{{_("Device added. An administrator can show its provisioning password and link.")}}">
<div class="bar">
  <h1>{{_("Devices")}}</h1>
</div>
<p class="hint">{{_("Phones configure themselves from the provisioning URL below (DHCP option 66 on LAN1 points them to it). A phone that asks while auto-add is open shows up here, not assigned; assign it to a user and it gets the user's account at its next fetch.")}}</p>
<p>{{_("Provisioning URL:")}} <code id="prov-url">{{prov_url}}</code></p>
<div data-errors class="error" hidden></div>
<p id="auto-add" data-open="{{"1" if prov["auto_add_open"] else "0"}}">
% if prov["auto_add_open"]:
  <span class="dot on"></span> {{_("Auto-add of unknown devices is open until %s (UTC).") % prov["auto_add_until"][11:16]}}
% else:
  <span class="dot off"></span> {{_("Auto-add of unknown devices is closed: only devices listed here are provisioned.")}}
% end
% if can("devices.manage"):
  <button type="button" id="auto-add-toggle" data-value="{{"0" if prov["auto_add_open"] else "1"}}">{{_("Close auto-add") if prov["auto_add_open"] else _("Open auto-add for 2 hours")}}</button>
% end
</p>
% if edge_down:
<p class="warn">{{_("SIP edge unreachable: registration status is unknown.")}}</p>
% end
% if not devices:
<p id="no-devices">{{_("No device yet. Open auto-add and restart the phones, or add one by its MAC address.")}}</p>
% else:
<table class="list" id="devices">
<thead><tr><th>{{_("Status")}}</th><th>{{_("Model")}}</th><th>{{_("MAC")}}</th><th>{{_("IP")}}</th><th>{{_("User")}}</th><th>{{_("Firmware")}}</th><th>{{_("Last fetch")}}</th>
% if see_secrets:
<th>{{_("Provisioning password")}}</th>
% end
<th></th></tr></thead>
<tbody>
% for d in devices:
<tr data-mac="{{d["mac"]}}" data-revision="{{d["revision"]}}">
  <td>
  % if d["registered"] is None:
    <span class="dot unknown" title="{{_("SIP edge unreachable")}}"></span>
  % elif d["registered"]:
    <span class="dot on" data-registered="yes" title="{{_("Registered")}}"></span>
  % else:
    <span class="dot off" data-registered="no" title="{{_("Not registered")}}"></span>
  % end
  </td>
  <td>{{d["vendor_name"]}} {{d["model"]}}</td>
  <td class="mono">{{d["mac_display"]}}</td>
  <td class="mono">{{d["ip"]}}</td>
  <td>
  % if can("devices.manage"):
    <div class="filters"><select data-assign aria-label="{{_("Assigned user")}}">
      <option value="">{{_("login (not assigned)")}}</option>
    % for u in users:
      <option value="{{u.extension}}" {{"selected" if d["user"] == u.extension else ""}}>{{u.extension}} {{u.display_name}}</option>
    % end
    </select></div>
  % else:
    {{(d["user"] + " " + d["user_name"]) if d["user"] else _("login (not assigned)")}}
  % end
  </td>
  <td class="mono">{{d["firmware"]}}</td>
  <td><small>{{(d["last_seen"] or "")[:16].replace("T", " ")}} {{d["last_file"]}}</small></td>
  % if see_secrets:
  <td class="mono" data-password>••••••</td>
  % end
  <td class="actions">
  % if can("devices.manage"):
    <button type="button" class="link" data-action="resync">{{_("Re-provision")}}</button>
    <button type="button" class="link" data-action="reboot">{{_("Reboot")}}</button>
    % if see_secrets:
    <button type="button" class="link" data-reset-password>{{_("Reset password")}}</button>
    <button type="button" class="link" data-show-link>{{_("Link")}}</button>
    % end
    <button type="button" class="link" data-delete>{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<div id="device-notice" class="notice" hidden></div>
% if can("devices.manage"):
<h2>{{_("Add a device by its MAC address")}}</h2>
<form id="device-add" class="inline">
  <label>{{_("MAC address")}} <input name="mac" required placeholder="00:15:65:12:34:56"></label>
  <span class="field-error" data-error-for="mac" hidden></span>
  <label>{{_("Vendor")}} <select name="vendor"><option value="">{{_("(from the MAC)")}}</option>
  % for v in vendors:
    <option value="{{v.key}}">{{v.name}}</option>
  % end
  </select></label>
  <label>{{_("User")}} <select name="user"><option value="">{{_("login (not assigned)")}}</option>
  % for u in users:
    <option value="{{u.extension}}">{{u.extension}} {{u.display_name}}</option>
  % end
  </select></label>
  <span class="field-error" data-error-for="user" hidden></span>
  % if see_secrets:
  <label>{{_("Trusted address ranges")}} <input name="trusted_ranges" placeholder="10.135.0.0/24"></label>
  <span class="field-error" data-error-for="trusted_ranges" hidden></span>
  % end
  <button type="submit">{{_("Add")}}</button>
</form>
% end
<h2>{{_("Firmware")}}</h2>
<p class="hint">{{_("A phone whose vendor and model match is offered the file at its next fetch, unless it runs that version already.")}}</p>
<table class="list" id="firmware">
<thead><tr><th>{{_("Vendor")}}</th><th>{{_("Model")}}</th><th>{{_("Version")}}</th><th>{{_("File")}}</th><th>{{_("Size")}}</th><th></th></tr></thead>
<tbody>
% for f in firmware:
<tr data-firmware="{{f.id}}"><td>{{f.vendor}}</td><td>{{f.model}}</td><td class="mono">{{f.version}}</td><td class="mono">{{f.filename}}</td><td>{{"%.1f MB" % (f.size_bytes / 1048576)}}</td>
<td>
% if can("devices.manage"):
<button type="button" class="link" data-firmware-delete>{{_("Delete")}}</button>
% end
</td></tr>
% end
</tbody>
</table>
% if can("devices.manage"):
<form id="firmware-add" class="inline">
  <label>{{_("Vendor")}} <select name="vendor">
  % for v in vendors:
    <option value="{{v.key}}">{{v.name}}</option>
  % end
  </select></label><span class="field-error" data-error-for="vendor" hidden></span>
  <label>{{_("Model")}} <input name="model" required placeholder="T46S"></label><span class="field-error" data-error-for="model" hidden></span>
  <label>{{_("Version")}} <input name="version" placeholder="66.86.0.20"></label><span class="field-error" data-error-for="version" hidden></span>
  <label>{{_("File")}} <input type="file" name="file" required></label><span class="field-error" data-error-for="file" hidden></span>
  <button type="submit">{{_("Upload")}}</button>
</form>
% end
<h2>{{_("Company phonebook")}}</h2>
<p class="hint">{{_("Phones show every user and these outside contacts in their remote phonebook.")}}</p>
<table class="list" id="contacts">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Company")}}</th><th>{{_("Number")}}</th><th>{{_("Mobile")}}</th><th></th></tr></thead>
<tbody>
% for c in contacts:
<tr data-contact="{{c.id}}"><td>{{c.name}}</td><td>{{c.company}}</td><td class="mono">{{c.number}}</td><td class="mono">{{c.mobile}}</td>
<td>
% if can("devices.manage"):
<button type="button" class="link" data-contact-delete>{{_("Delete")}}</button>
% end
</td></tr>
% end
</tbody>
</table>
% if can("devices.manage"):
<form id="contact-add" class="inline">
  <label>{{_("Name")}} <input name="name" required></label><span class="field-error" data-error-for="name" hidden></span>
  <label>{{_("Company")}} <input name="company"></label>
  <label>{{_("Number")}} <input name="number" required></label><span class="field-error" data-error-for="number" hidden></span>
  <label>{{_("Mobile")}} <input name="mobile"></label><span class="field-error" data-error-for="mobile" hidden></span>
  <button type="submit">{{_("Add to the phonebook")}}</button>
</form>
% end
</section>
