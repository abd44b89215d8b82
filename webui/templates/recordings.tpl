% rebase("layout.tpl")
% editable = can("recordings.manage")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
<section class="card">
<h1>{{_("Call recordings")}}</h1>
<form method="get" action="/calls/recordings" class="filters">
  <label>{{_("User")}} <input name="owner" value="{{owner}}" inputmode="numeric"></label>
  <label>{{_("Call")}} <input name="call_id" value="{{call_id}}"></label>
  <button type="submit">{{_("Filter")}}</button>
</form>
% if not rows:
<p>{{_("No recording.")}}</p>
% else:
<table class="list" id="recordings">
<thead><tr><th>{{_("Start")}}</th><th>{{_("User")}}</th><th>{{_("Why")}}</th><th>{{_("Duration (s)")}}</th><th>{{_("Size (kB)")}}</th><th>{{_("Listen")}}</th><th></th></tr></thead>
<tbody>
% for r in rows:
<tr data-recording="{{r.id}}"><td title="{{r.call_id}}">{{r.started_at.strftime("%Y-%m-%d %H:%M:%S")}}</td><td>{{r.owner}}</td>
<td>{{ {"always": _("always"), "on_demand": _("on demand"), "call_group": _("call group")}.get(r.reason, r.reason) }}</td>
% if r.size_bytes is None:
<td colspan="3">{{_("recording…")}}</td>
% else:
<td>{{"%.0f" % (r.duration_s or 0)}}</td><td>{{"%.0f" % (r.size_bytes / 1024)}}</td>
<td><audio controls preload="none" src="/api/v1/recordings/{{r.id}}/audio"></audio> <a href="/api/v1/recordings/{{r.id}}/audio?download=1">{{_("Download")}}</a></td>
% end
<td>
% if editable:
<form method="post" action="/calls/recordings/{{r.id}}/delete" class="inline">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="danger">{{_("Delete")}}</button>
</form>
% end
</td></tr>
% end
</tbody>
</table>
% end
% if usage:
<h2>{{_("Space used")}}</h2>
<table class="list" id="recording-usage">
<thead><tr><th>{{_("User")}}</th><th>{{_("Recordings")}}</th><th>{{_("Used (MB)")}}</th><th>{{_("Quota (MB)")}}</th></tr></thead>
<tbody>
% for u in usage:
<tr><td>{{u["owner"] or "–"}}</td><td>{{u["count"]}}</td><td>{{"%.1f" % (u["bytes"] / 1048576)}}</td><td>{{"%.0f" % (u["quota_bytes"] / 1048576)}}</td></tr>
% end
</tbody>
</table>
% end
</section>
<section class="card">
<h2>{{_("Recording settings")}}</h2>
<p class="hint">{{_("Who is recorded is set per user (Users: Call recording) and per call group.")}}</p>
% if "_form" in errors:
<p class="error" role="alert">{{errors["_form"]}}</p>
% end
<form method="post" action="/calls/recordings/settings" class="grid" id="recording-settings">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <input type="hidden" name="revision" value="{{values.get("revision", "")}}">
  <label for="announcement">{{_("Legal notice")}}</label>
  <div><input type="checkbox" id="announcement" name="announcement" {{"checked" if values.get("announcement") else ""}} {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Both parties hear \"This call is being recorded\" when a recording starts.")}}</small>
  % field_error("announcement")
  </div>
  <label for="feature_code">{{_("On-demand feature code")}}</label>
  <div><input id="feature_code" name="feature_code" value="{{values.get("feature_code", "")}}" {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Keyed during a call by a user recording on demand: starts, then stops, the recording.")}}</small>
  % field_error("feature_code")
  </div>
  <label for="quota_mb">{{_("Quota per user (MB)")}}</label>
  <div><input id="quota_mb" name="quota_mb" type="number" min="1" max="100000" value="{{values.get("quota_mb", "")}}" {{"" if editable else "disabled"}}>
  <small class="hint">{{_("A user over quota is not recorded (the call goes on) and the event log says so.")}}</small>
  % field_error("quota_mb")
  </div>
  <label for="retention_days">{{_("Keep recordings (days)")}}</label>
  <div><input id="retention_days" name="retention_days" type="number" min="1" max="3650" value="{{values.get("retention_days", "")}}" {{"" if editable else "disabled"}}>
  % field_error("retention_days")
  </div>
  % if editable:
  <div></div>
  <div class="buttons"><button type="submit" class="primary" id="save-recording-settings">{{_("Save")}}</button></div>
  % end
</form>
</section>
