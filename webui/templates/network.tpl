% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="network")
% editable = can("network.manage")
% labels = {"shared": _("Shared voice and data network (eth0 only)"), "separate": _("Separate voice and data networks (recommended)"), "shaper": _("Separate networks with traffic shaper (bridge wbr0 = eth0 + eth2)")}
% mode_labels = {"off": _("Off"), "dhcp": _("DHCP client"), "static": _("Static address")}
% roles = {"eth0": _("WAN"), "eth1": _("LAN1"), "eth2": _("LAN2"), "eth3": _("LAN3")}
<section class="card">
<h1>{{title}}</h1>
% if not editable:
<p class="warn" id="read-only">{{_("Read-only: only an administrator can change the network settings.")}}</p>
% end
% if not net_status["live"]:
<p class="hint" id="not-live">{{_("Lab mode: settings are saved but not applied to this computer's network (start with --lab-lan to apply them to LAN1).")}}</p>
% end
<p class="error" id="rollback-failed" role="alert" {{"" if net_status.get("rollback_failed") else "hidden"}}>
  {{_("Restoring the previous settings failed; the appliance keeps trying. Confirm to keep the current settings.")}}
  <span id="rollback-error">{{net_status.get("rollback_failed") or ""}}</span>
</p>
<div id="pending" class="warn" role="status" {{"" if net_status["pending"] else "hidden"}}>
  {{_("Settings applied. Confirm from the new address within")}} <strong id="seconds-left">{{net_status["seconds_left"] or ""}}</strong> s
  ({{_("addresses")}}: <span id="confirm-addresses">{{", ".join(net_status["confirm_addresses"])}}</span>),
  {{_("otherwise the previous settings come back by themselves.")}}
  % if editable:
  <button type="button" id="confirm-button">{{_("Confirm network settings")}}</button>
  % end
</div>
% if net_status["result"].get("rolled_back"):
<p class="error" id="rolled-back">{{_("The previous settings were restored:")}} {{net_status["result"]["rolled_back"]}}</p>
% end
% for reason in net_status["result"].get("degraded", []):
<p class="warn degraded">{{reason}}</p>
% end
<p class="error" id="network-error" role="alert" hidden></p>
<form id="network-form" data-revision="{{cfg["revision"]}}">
  <h2 class="section">{{_("Scenario")}}</h2>
  % for key in scenarios:
  <label><input type="radio" name="scenario" value="{{key}}" {{"checked" if cfg["scenario"] == key else ""}} {{"" if editable else "disabled"}}> {{labels[key]}}</label><br>
  % end
  <h2 class="section">{{_("Interfaces")}}</h2>
  <table class="list" id="interfaces">
    <thead><tr><th>{{_("Port")}}</th><th>{{_("Mode")}}</th><th>{{_("Address/prefix")}}</th><th>{{_("Gateway")}}</th><th>{{_("DNS servers")}}</th><th>{{_("MTU")}}</th><th>{{_("VLAN")}}</th><th>{{_("Now")}}</th></tr></thead>
    <tbody>
    % for port in ports:
    % i = cfg["interfaces"][port]
    <tr data-port="{{port}}">
      <td>{{port}} ({{roles[port]}})</td>
      <td><select name="mode" {{"" if editable else "disabled"}}>
      % for m in modes:
        <option value="{{m}}" {{"selected" if i["mode"] == m else ""}}>{{mode_labels[m]}}</option>
      % end
      </select></td>
      <td><input name="address" value="{{i["address"]}}" size="18" {{"" if editable else "disabled"}}></td>
      <td><input name="gateway" value="{{i["gateway"]}}" size="14" {{"" if editable else "disabled"}}></td>
      <td><input name="dns" value="{{" ".join(i["dns"])}}" size="20" {{"" if editable else "disabled"}}></td>
      <td><input name="mtu" value="{{i["mtu"]}}" size="5" inputmode="numeric" {{"" if editable else "disabled"}}></td>
      <td><input name="vlan" value="{{i["vlan"] or ""}}" size="4" inputmode="numeric" {{"" if editable else "disabled"}}></td>
      <td class="live">{{", ".join((live.get(port) or {}).get("addresses", [])) or "—"}}</td>
    </tr>
    % end
    </tbody>
  </table>
  <h2 class="section">{{_("Traffic shaper (WAN)")}}</h2>
  <p class="hint">{{_("Used in the traffic shaper scenario: voice (SIP, RTP, DSCP EF) goes first; 0 means no limit.")}}</p>
  <label for="upload_kbit">{{_("Upload limit (kbit/s)")}}</label>
  <input id="upload_kbit" name="upload_kbit" value="{{cfg["shaper"]["upload_kbit"]}}" inputmode="numeric" {{"" if editable else "disabled"}}>
  <label for="download_kbit">{{_("Download limit (kbit/s)")}}</label>
  <input id="download_kbit" name="download_kbit" value="{{cfg["shaper"]["download_kbit"]}}" inputmode="numeric" {{"" if editable else "disabled"}}>
  % if editable:
  <p><button type="submit" id="apply-button">{{_("Apply network settings")}}</button></p>
  % end
</form>
</section>
