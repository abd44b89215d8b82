% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="trunks")
<section class="card" id="trunks-card">
<div class="bar">
  <h1>{{_("Trunks")}}</h1>
  % if can("trunks.manage"):
  <a class="button" href="/trunks/new" id="add-trunk">{{_("Add a trunk")}}</a>
  % end
</div>
<p class="hint">{{_("A trunk connects the appliance to a SIP provider or to another PBX. Calls arriving on a trunk go to its inbound numbers, else to its procedure; outgoing calls use it through the applications \"Dial trunk\" and \"Trunk group\".")}}</p>
% if test_result:
%   ok = bool(test_result.get("ok"))
<div class="{{"notice" if ok else "error"}}" role="status" id="test-result" data-trunk="{{test_result.get("trunk", "")}}">
  <b>{{_("Test of {name}").format(name=test_result.get("trunk", ""))}}:</b>
  {{_("connection works") if ok else (_("not available") if test_result.get("unavailable") else _("failed"))}}
  % if test_result.get("result") in reason_labels and not ok:
  ({{reason_labels[test_result["result"]]}})
  % end
  % if test_result.get("detail"):
  — {{test_result.get("detail")}}
  % end
</div>
% end
% if trunks and not edge_known:
<p class="hint" id="state-unknown">{{_("The registration state is unknown: the SIP edge does not report the trunks' state.")}}</p>
% end
% if not trunks:
<p id="no-trunks">{{_("No trunk yet: without one the appliance can neither call nor be called from the public network.")}}</p>
% else:
<table class="list" id="trunks">
<thead><tr>
  <th>{{_("Trunk")}}</th><th>{{_("Host")}}</th><th>{{_("Authentication")}}</th><th>{{_("State")}}</th><th>{{_("Calls")}}</th><th>{{_("Procedure")}}</th><th></th>
</tr></thead>
<tbody>
% for t in trunks:
%   live = states[t.name]
<tr data-trunk="{{t.name}}">
  <td><b>{{t.title or t.name}}</b>
  % if t.title and t.title != t.name:
  <small class="hint mono">{{t.name}}</small>
  % end
  % if not t.enabled:
  <small class="warn">{{_("disabled")}}</small>
  % end
  % if t.preset in presets and t.preset != "generic":
  <small class="hint">{{presets[t.preset].label}}</small>
  % end
  </td>
  <td class="mono">{{_("dynamic (the other side registers)") if t.host == dynamic else t.host}} <small class="hint">{{t.transport.upper()}}{{(" · " + _("certificate accepted as presented")) if t.transport == "tls" and not t.tls_verify and t.host != dynamic else ""}}{{(" · +" + t.country_code) if t.country_code else ""}}</small></td>
  <td>
  % if t.host == dynamic:
    {{_("Registers to us as {user}").format(user=t.auth_user)}}
  % elif t.register:
    {{_("Registration as {user}").format(user=t.auth_user)}}
  % elif t.ip_auth:
    {{_("IP: {addresses}").format(addresses=", ".join(t.ip_auth))}}
  % else:
    {{_("No registration")}}
  % end
  </td>
  <td data-state="{{live["state"]}}"><span class="dot {{"on" if live["state"] == "registered" else ("unknown" if live["state"] == "unknown" else "")}}"></span>
    <span class="state-label">{{state_labels.get(live["state"], live["state"])}}</span>
    % if live.get("reason") in reason_labels:
    <b class="state-category warn">{{reason_labels[live["reason"]]}}</b>
    % end
    <small class="hint state-reason">{{live.get("detail") or ""}}</small>
    <div class="test-output" role="status"></div></td>
  <td class="channels">{{live["channels"] if live.get("channels") is not None else "–"}}{{(" / " + str(t.max_calls)) if t.max_calls else ""}}</td>
  <td>{{t.inbound_procedure}}</td>
  <td class="actions">
    <form method="post" action="/trunks/{{t.name}}/test" class="inline test-form" data-trunk="{{t.name}}">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <button type="submit" class="test-trunk">{{_("Test connection")}}</button>
    </form>
  % if can("trunks.manage"):
    <a href="/trunks/{{t.name}}/edit">{{_("Edit")}}</a>
    <a href="/trunks/{{t.name}}/delete">{{_("Delete")}}</a>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
<template id="trunk-texts" data-testing="{{_("Testing…")}}" data-works="{{_("Connection works")}}" data-failed="{{_("Failed")}}" data-unavailable="{{_("Not available")}}"></template>
<div hidden id="trunk-reasons">
% for key, label in reason_labels.items():
<span data-reason="{{key}}">{{label}}</span>
% end
</div>
