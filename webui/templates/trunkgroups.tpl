% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="groups")
<section class="card">
<div class="bar">
  <h1>{{_("Trunk groups")}}</h1>
  % if can("trunks.manage"):
  <a class="button" href="/trunks/groups/new" id="add-trunk-group">{{_("Add a trunk group")}}</a>
  % end
</div>
<p class="hint">{{_("A trunk group tries its trunks one after the other: when one is busy, congested or fails, the call goes out through the next. Use it in a procedure with the application \"Trunk group\".")}}</p>
% if not groups:
<p id="no-trunk-groups">{{_("No trunk group yet.")}}</p>
% else:
<table class="list" id="trunk-groups">
<thead><tr>
  <th>{{_("Name")}}</th><th>{{_("Trunks, in order")}}</th><th>{{_("Next trunk after")}}</th><th></th>
</tr></thead>
<tbody>
% for g in groups:
<tr data-group="{{g.name}}">
  <td><b>{{g.name}}</b>
  % if g.description:
  <br><small class="hint">{{g.description}}</small>
  % end
  </td>
  <td><ol class="members-list">
  % for m in g.members:
    <li data-member="{{m["trunk"]}}"><b>{{m["trunk"]}}</b>
    % details = []
    % if m.get("strip"):
    %   details.append(_("strip {n}").format(n=m["strip"]))
    % end
    % if m.get("prepend"):
    %   details.append(_("prepend {digits}").format(digits=m["prepend"]))
    % end
    % if m.get("max_calls"):
    %   details.append(_("at most {n} calls").format(n=m["max_calls"]))
    % end
    <small class="hint">{{" · ".join(details)}}</small></li>
  % end
  </ol></td>
  <td>{{_("{seconds} s without answer").format(seconds=g.failover_delay_s) if g.failover_delay_s else _("its final answer")}}</td>
  <td class="actions">
  % if can("trunks.manage"):
    <a href="/trunks/groups/{{g.name}}/edit">{{_("Edit")}}</a>
    <a href="/trunks/groups/{{g.name}}/delete">{{_("Delete")}}</a>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
