% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="procedures")
<section class="card" id="procedures-page">
<div class="bar"><h1>{{_("Dialplan procedures")}}</h1></div>
<p class="hint">{{_("A user's calls run the user's procedure (default: users); calls from a trunk run the trunk's (default: main). In a procedure the exact number wins, then the most specific pattern, then the first listed; included procedures are searched next, and default last.")}}</p>
<table class="list" id="procedures">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("Numbers")}}</th><th>{{_("Includes")}}</th><th></th></tr></thead>
<tbody>
% for p in procedures:
<tr data-name="{{p.name}}">
  <td><a href="/dialplan/procedures/{{p.name}}"><b>{{p.name}}</b></a></td>
  <td>{{p.description}}</td>
  <td>{{_("generated") if p.name == "internal" else len(p.numbers)}}</td>
  <td>{{", ".join(p.includes)}}</td>
  <td class="actions">
  % if can("dialplan.manage") and p.name not in ("internal", "users", "main"):
    <button type="button" class="link" data-delete="{{p.name}}" data-confirm="{{_("Delete the procedure %s?") % p.name}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
<p class="error" data-errors hidden></p>
</section>
% if can("dialplan.manage"):
<section class="card">
<h2>{{_("Add a procedure")}}</h2>
<form id="new-procedure" class="grid">
  <label for="np-name">{{_("Name")}}</label>
  <div><input id="np-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="np-description">{{_("Description")}}</label>
  <div><input id="np-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Create")}}</button></div>
</form>
</section>
% end
