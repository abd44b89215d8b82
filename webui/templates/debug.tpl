% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="debug")
<section class="card">
<h1>{{_("Dialplan debug")}}</h1>
<p class="hint">{{_("Calls in progress first, then the latest calls. Open one to see which procedure, number and applications ran, with times and results.")}}</p>
% if not calls:
<p>{{_("No call yet.")}}</p>
% else:
<table class="list" id="debug-calls">
<thead><tr><th>{{_("Start")}}</th><th>{{_("Caller")}}</th><th>{{_("Called")}}</th><th>{{_("Result")}}</th><th></th></tr></thead>
<tbody>
% for c in calls:
<tr data-call-id="{{c["call_id"]}}" class="{{"live" if c["live"] else ""}}">
  <td>{{c["start"]}}</td><td>{{c["caller"]}} {{c["caller_name"]}}</td><td>{{c["callee"]}}</td>
  <td>{{_("in progress") if c["live"] else _(c["disposition"])}}</td>
  <td><a href="/dialplan/debug/{{c["call_id"]}}">{{_("Trace")}}</a></td>
</tr>
% end
</tbody>
</table>
% end
</section>
