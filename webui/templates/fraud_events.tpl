% # The last fraud events (blocked calls, budget exceeded, unlocks, emergency calls): time, user, destination, reason.
% rows = get("fraud_events", None)
% if rows is None:
%   from appliance.fraud.service import recent_events
%   rows = recent_events()
% end
<h2 id="fraud-events-title">{{_("Last 50 fraud events")}}</h2>
% if not rows:
<p id="no-fraud-events">{{_("No fraud event yet.")}}</p>
% else:
<table class="list" id="fraud-events">
<thead><tr><th>{{_("Time (UTC)")}}</th><th>{{_("Event")}}</th><th>{{_("User")}}</th><th>{{_("Destination")}}</th><th>{{_("Reason")}}</th></tr></thead>
<tbody>
% for e in rows:
%   d = e.details or {}
<tr data-kind="{{e.kind}}" class="{{e.severity}}">
  <td class="mono">{{e.at.strftime("%Y-%m-%d %H:%M:%S")}}</td>
  <td><code>{{e.kind}}</code></td>
  <td>{{d.get("user", e.subject)}}</td>
  <td class="mono">{{d.get("destination", "")}}{{(" (%s)" % d["country"]) if d.get("country") else ""}}</td>
  <td>{{e.message}}</td>
</tr>
% end
</tbody>
</table>
% end
% if can("events.read"):
<p><a href="/security/events?kind=fraud.*">{{_("All fraud events")}}</a></p>
% end
