% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="groups")
<section class="card">
<div class="bar">
  <h1>{{_("Call groups")}}</h1>
  % if can("dialplan.manage"):
  <a class="button" href="/dialplan/groups/new" id="add-group">{{_("Add a call group")}}</a>
  % end
</div>
<p class="hint">{{_("A call group rings its members together or one after the other. Use it in a procedure with the application \"Call group\".")}}</p>
% if not groups:
<p id="no-groups">{{_("No call group yet.")}}</p>
% else:
<table class="list" id="groups">
<thead><tr>
  <th>{{_("Name")}}</th><th>{{_("Strategy")}}</th><th>{{_("Members, in order")}}</th><th>{{_("Ring time")}}</th><th>{{_("If nobody answers")}}</th><th></th>
</tr></thead>
<tbody>
% for g in groups:
<tr data-group="{{g.name}}">
  <td><b>{{g.name}}</b>
  % if g.description:
  <br><small class="hint">{{g.description}}</small>
  % end
  </td>
  <td>{{strategies.get(g.strategy, g.strategy)}}</td>
  <td><ol class="members-list">
  % for m in g.members:
    <li data-member="{{m["extension"]}}">{{m["extension"]}} {{people.get(m["extension"], "")}}{{(" · " + _("{seconds} s").format(seconds=m["ring_seconds"])) if m.get("ring_seconds") else ""}}</li>
  % end
  </ol></td>
  <td>{{_("group {group} s").format(group=g.ring_seconds)}}
  % if g.strategy != "ring_all":
  <br><small class="hint">{{_("each member {member} s").format(member=g.member_ring_seconds)}}</small>
  % end
  </td>
  <td>
  % if g.no_answer_procedure:
    {{_("go to {procedure}").format(procedure=g.no_answer_procedure)}}{{(" · " + _("number {number}").format(number=g.no_answer_number)) if g.no_answer_number else ""}}
  % else:
    <span class="hint">{{_("next application")}}</span>
  % end
  </td>
  <td class="actions">
  % if can("dialplan.manage"):
    <a href="/dialplan/groups/{{g.name}}/edit">{{_("Edit")}}</a>
    <a href="/dialplan/groups/{{g.name}}/delete">{{_("Delete")}}</a>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
