% rebase("layout.tpl")
<section class="card">
<h1>{{_("Calls in progress")}}</h1>
% if not calls:
<p>{{_("No call in progress.")}}</p>
% else:
<table class="list" id="calls">
<thead><tr><th>{{_("Caller")}}</th><th>{{_("Callee")}}</th><th>{{_("Start")}}</th><th>{{_("Answered")}}</th><th>{{_("State")}}</th></tr></thead>
<tbody>
% for c in calls:
<tr><td>{{c.caller}} {{c.caller_name}}</td><td>{{c.callee}}</td><td>{{c.start.strftime("%Y-%m-%d %H:%M:%S")}}</td>
<td>{{c.answer.strftime("%H:%M:%S") if c.answer else ""}}</td><td>{{_("talking") if c.answer else _("ringing")}}</td></tr>
% end
</tbody>
</table>
% end
<p class="hint">{{_("Times are UTC.")}}</p>
</section>
