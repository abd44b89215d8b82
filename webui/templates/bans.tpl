% rebase("layout.tpl")
% include("fraud_tabs.tpl", tab="bans")
<section class="card">
<h1>{{_("Banned IP addresses")}}</h1>
% if error:
<p class="error" role="alert">{{error}}</p>
% end
% if bans is None:
<p class="warn" id="edge-unreachable">{{_("SIP edge unreachable: the list of banned addresses cannot be read.")}}</p>
% elif not bans:
<p>{{_("No address is banned.")}}</p>
% else:
<table class="list" id="bans">
<thead><tr><th>{{_("IP address")}}</th><th>{{_("Failures")}}</th><th>{{_("Expires in (s)")}}</th><th></th></tr></thead>
<tbody>
% for b in bans:
<tr data-ip="{{b.get("ip", "")}}"><td><code>{{b.get("ip", "")}}</code></td><td>{{b.get("failures", "")}}</td><td>{{b.get("expires", "")}}</td>
<td>
% if can("bans.manage"):
<form method="post" action="/security/bans/{{b.get("ip", "")}}/unban" class="inline">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit">{{_("Unban")}}</button>
</form>
% end
</td></tr>
% end
</tbody>
</table>
% end
</section>
% if can("fraud.read"):
<section class="card" id="security-fraud-events">
% include("fraud_events.tpl")
</section>
% end
