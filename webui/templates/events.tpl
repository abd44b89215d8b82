% rebase("layout.tpl")
% include("fraud_tabs.tpl", tab="events")
<section class="card">
<h1>{{_("Event log")}}</h1>
<p class="hint">{{_("Trunk registrations and failures, DNS failures, banned addresses, emergency calls and toll-fraud blocks. Kept 90 days.")}}</p>
<form method="get" action="/security/events" class="filters" id="event-filters">
  <label>{{_("Kind")}}
  <select name="kind">
    <option value="">{{_("all")}}</option>
    % for family in sorted({k.split(".")[0] for k in kinds}):
    <option value="{{family}}.*" {{"selected" if params["kind"] == family + ".*" else ""}}>{{family}}.*</option>
    % end
    % for kind in kinds:
    <option value="{{kind}}" {{"selected" if params["kind"] == kind else ""}}>{{kind}}</option>
    % end
  </select></label>
  <label>{{_("Severity")}}
  <select name="severity">
    <option value="">{{_("all")}}</option>
    % for severity in severities:
    <option value="{{severity}}" {{"selected" if params["severity"] == severity else ""}}>{{_(severity)}}</option>
    % end
  </select></label>
  <label>{{_("From")}} <input name="since" value="{{params["since"]}}" placeholder="YYYY-MM-DD" size="12"></label>
  <label>{{_("To")}} <input name="until" value="{{params["until"]}}" placeholder="YYYY-MM-DD" size="12"></label>
  <button type="submit">{{_("Filter")}}</button>
</form>
% if error:
<p class="error" role="alert">{{error}}</p>
% end
% if not rows:
<p id="no-events">{{_("No event.")}}</p>
% else:
<table class="list" id="events">
<thead><tr><th>{{_("Time (UTC)")}}</th><th>{{_("Severity")}}</th><th>{{_("Event")}}</th><th>{{_("About")}}</th><th>{{_("Message")}}</th></tr></thead>
<tbody>
% for e in rows:
<tr data-id="{{e.id}}" data-kind="{{e.kind}}" class="{{e.severity}}">
  <td class="mono">{{e.at.strftime("%Y-%m-%d %H:%M:%S")}}</td>
  <td>{{_(e.severity)}}</td>
  <td><code>{{e.kind}}</code></td>
  <td>{{e.subject}}</td>
  <td>{{e.message}}</td>
</tr>
% end
</tbody>
</table>
% end
<p class="pager">
% if newer:
<a href="{{newer}}">{{_("Newer")}}</a>
% end
% if older:
<a href="{{older}}">{{_("Older")}}</a>
% end
</p>
</section>
