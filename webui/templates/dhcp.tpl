% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="dhcp")
% editable = can("network.manage")
% dis = "" if editable else "disabled"
<section class="card">
<h1>{{title}}</h1>
% if not editable:
<p class="warn" id="read-only">{{_("Read-only: only an administrator can change the DHCP server.")}}</p>
% end
<p class="hint">{{_("Phones get the provisioning URL in DHCP options 66 and 160:")}} <code id="provisioning-url">{{info["provisioning_url"] or "—"}}</code>
  ({{_("running") if info["running"] else _("not running")}})</p>
<p class="error" id="dhcp-error" role="alert" hidden></p>
<p class="notice" id="dhcp-saved" role="status" hidden>{{_("DHCP server settings saved.")}}</p>
<form id="dhcp-form" class="grid" data-revision="{{cfg["revision"]}}">
  <label for="enabled">{{_("Enable the DHCP server")}}</label>
  <div><input type="checkbox" id="enabled" name="enabled" {{"checked" if cfg["enabled"] else ""}} {{dis}}></div>
  <label for="interface">{{_("Interface")}}</label>
  <div><select id="interface" name="interface" {{dis}}>
  % for p in ports:
    <option value="{{p}}" {{"selected" if cfg["interface"] == p else ""}}>{{p}}</option>
  % end
  </select></div>
% for name, label in (("range_start", _("Range start")), ("range_end", _("Range end")), ("lease_minutes", _("Default lease time (minutes)")), ("max_leases", _("Maximum leases")), ("domain", _("Domain name suffix")), ("gateway", _("Default gateway (empty: the appliance)")), ("dns1", _("Primary DNS server (empty: the appliance)")), ("dns2", _("Secondary DNS server")), ("ntp1", _("Primary NTP server (empty: the appliance)")), ("ntp2", _("Secondary NTP server")), ("wins1", _("Primary WINS server")), ("wins2", _("Secondary WINS server")), ("provisioning_name", _("Provisioning DNS name"))):
  <label for="{{name}}">{{label}}</label>
  <div><input id="{{name}}" name="{{name}}" value="{{cfg[name]}}" {{dis}}></div>
% end
  <label for="refuse_unknown">{{_("Refuse unknown clients (only the static leases below)")}}</label>
  <div><input type="checkbox" id="refuse_unknown" name="refuse_unknown" {{"checked" if cfg["refuse_unknown"] else ""}} {{dis}}></div>
  <label for="static_leases">{{_("Static leases: one per line, MAC address host-name")}}</label>
  <div><textarea id="static_leases" name="static_leases" rows="4" cols="50" {{dis}}>{{"\n".join(" ".join(x for x in (l["mac"], l["address"], l["hostname"]) if x) for l in cfg["static_leases"])}}</textarea></div>
  % if editable:
  <div></div><div><button type="submit">{{_("Save and restart the DHCP server")}}</button></div>
  % end
</form>
<h2>{{_("Leases")}}</h2>
<table class="list" id="leases">
  <thead><tr><th>{{_("MAC")}}</th><th>{{_("Vendor")}}</th><th>{{_("IP address")}}</th><th>{{_("Host name")}}</th><th>{{_("Expires (UTC)")}}</th></tr></thead>
  <tbody>
  % for l in leases:
  <tr><td>{{l["mac"]}}</td><td>{{l["vendor"]}}</td><td>{{l["ip"]}}</td><td>{{l["hostname"]}}</td><td>{{(l["expires"] or "")[:19].replace("T", " ")}}</td></tr>
  % end
  % if not leases:
  <tr><td colspan="5">{{_("No lease.")}}</td></tr>
  % end
  </tbody>
</table>
</section>
