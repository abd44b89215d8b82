% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="ivr")
<section class="card" id="ivr-list-page">
<div class="bar"><h1>{{_("IVR trees")}}</h1></div>
<p class="hint">{{_("An IVR plays a menu and routes the call by the key the caller presses: sub-menus, actions that continue in a procedure, dial by name, and extensions dialled directly. Use it in a procedure with the IVR application.")}}</p>
% if not ivrs:
<p id="no-ivr">{{_("No IVR yet.")}}</p>
% else:
<table class="list" id="ivrs">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("Nodes")}}</th><th>{{_("Used by")}}</th><th></th></tr></thead>
<tbody>
% for row in ivrs:
<tr data-name="{{row["name"]}}">
  <td><a href="/dialplan/ivr/{{row["name"]}}"><b>{{row["name"]}}</b></a></td>
  <td>{{row["description"]}}</td>
  <td>{{row["nodes"]}}</td>
  <td>{{"; ".join(row["used_by"]) if row["used_by"] else _("not used")}}</td>
  <td class="actions">
    <a href="/dialplan/ivr/{{row["name"]}}">{{_("Edit") if can("dialplan.manage") else _("View")}}</a>
  % if can("dialplan.manage"):
    <button type="button" class="link" data-ivr-delete="{{row["name"]}}" data-confirm="{{_("Delete the IVR %s?") % row["name"]}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>
% if can("dialplan.manage"):
<section class="card">
<h2>{{_("Add an IVR")}}</h2>
<form id="new-ivr" class="grid">
  <label for="ni-name">{{_("Name")}}</label>
  <div><input id="ni-name" name="name" required maxlength="64"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="ni-description">{{_("Description")}}</label>
  <div><input id="ni-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Create")}}</button></div>
</form>
<p class="error" data-errors hidden></p>
</section>
% end
