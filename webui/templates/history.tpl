% rebase("layout.tpl")
<section class="card">
<h1>{{_("Call history")}}</h1>
<form method="get" action="/calls/history" class="filters">
  % for name, label, kind in (("from", _("From"), "date"), ("to", _("To"), "date"), ("caller", _("Caller"), "text"), ("callee", _("Callee"), "text")):
  <label>{{label}} <input name="{{name}}" type="{{kind}}" value="{{values.get(name, "")}}"></label>
  % if name in errors:
  <span class="field-error" data-field="{{name}}">{{errors[name]}}</span>
  % end
  % end
  <label>{{_("Result")}} <select name="disposition">
    <option value="">{{_("any")}}</option>
    % for d in ("answered", "busy", "no_answer", "failed", "cancelled"):
    <option value="{{d}}" {{"selected" if values.get("disposition") == d else ""}}>{{_(d)}}</option>
    % end
  </select></label>
  % if "disposition" in errors:
  <span class="field-error" data-field="disposition">{{errors["disposition"]}}</span>
  % end
  <button type="submit">{{_("Filter")}}</button>
  <a class="button" href="/calls/history.csv{{"?" + csv_query if csv_query else ""}}" id="csv-export">{{_("Export CSV")}}</a>
</form>
% for name in errors:
%   if name not in ("from", "to", "caller", "callee", "disposition"):
<p class="error">{{name}}: {{errors[name]}}</p>
%   end
% end
% if not rows:
<p>{{_("No call matches.")}}</p>
% else:
<table class="list" id="history">
<thead><tr><th>{{_("Start")}}</th><th>{{_("Caller")}}</th><th>{{_("Callee")}}</th><th>{{_("Duration (s)")}}</th><th>{{_("Result")}}</th><th>{{_("Cause")}}</th><th>{{_("Trunk")}}</th><th>{{_("Cost")}}</th><th>{{_("Recording")}}</th></tr></thead>
<tbody>
% for c in rows:
<tr><td>{{c.start.strftime("%Y-%m-%d %H:%M:%S")}}</td><td>{{c.caller}} {{c.caller_name}}</td><td>{{c.callee}}</td><td>{{c.billsec}}</td><td>{{_(c.disposition)}}</td><td>{{c.hangup_cause}}</td><td>{{c.trunk}}</td><td class="cost">{{"%.4f" % c.cost if c.cost is not None else ""}}</td>
<td>
% for r in recordings.get(c.call_id, ()):
%   if r.size_bytes is not None:
<a class="recording" href="/api/v1/recordings/{{r.id}}/audio">{{_("Listen")}}</a> <a href="/api/v1/recordings/{{r.id}}/audio?download=1">{{_("Download")}}</a>
%   end
% end
</td></tr>
% end
</tbody>
</table>
% end
% if newer or older:
<p class="pager">
  % if newer:
  <a href="{{newer}}">{{_("Newer calls")}}</a>
  % end
  % if older:
  <a href="{{older}}">{{_("Older calls")}}</a>
  % end
</p>
% end
% if totals and totals["total"]:
<h2>{{_("Call costs in this period")}}</h2>
<table class="list" id="cost-totals-users">
<thead><tr><th>{{_("User")}}</th><th>{{_("Calls")}}</th><th>{{_("Duration (s)")}}</th><th>{{_("Cost")}}</th></tr></thead>
<tbody>
% for t in totals["users"]:
<tr><td>{{t["user"]}} {{t["name"]}}</td><td>{{t["calls"]}}</td><td>{{t["billsec"]}}</td><td class="cost">{{"%.4f" % t["cost"]}} {{t["currency"]}}</td></tr>
% end
</tbody>
</table>
<table class="list" id="cost-totals-trunks">
<thead><tr><th>{{_("Trunk")}}</th><th>{{_("Calls")}}</th><th>{{_("Duration (s)")}}</th><th>{{_("Cost")}}</th></tr></thead>
<tbody>
% for t in totals["trunks"]:
<tr><td>{{t["trunk"]}}</td><td>{{t["calls"]}}</td><td>{{t["billsec"]}}</td><td class="cost">{{"%.4f" % t["cost"]}} {{t["currency"]}}</td></tr>
% end
% for t in totals["total"]:
<tr class="total"><td><b>{{_("Total")}}</b></td><td>{{t["calls"]}}</td><td>{{t["billsec"]}}</td><td class="cost"><b>{{"%.4f" % t["cost"]}} {{t["currency"]}}</b></td></tr>
% end
</tbody>
</table>
% end
<p class="hint">{{_("Times are UTC.")}}</p>
</section>
