% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="debug")
<section class="card">
<div class="bar"><h1>{{_("Call trace")}}</h1><a href="/dialplan/debug">{{_("All calls")}}</a></div>
<p><code>{{call_id}}</code>
% if cdr is not None:
 — {{cdr.caller}} → {{cdr.callee}}, {{_("in progress") if live else _(cdr.disposition)}}
% end
</p>
<table class="list trace" id="trace">
<thead><tr><th>ms</th><th>{{_("Step")}}</th><th>{{_("Details")}}</th></tr></thead>
<tbody>
% for s in steps:
%   details = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("ms", "at", "event"))
<tr class="ev-{{s.get("event", "")}}"><td>{{s.get("ms", "")}}</td><td>{{s.get("event", "")}}</td><td>{{details}}</td></tr>
% end
</tbody>
</table>
</section>
