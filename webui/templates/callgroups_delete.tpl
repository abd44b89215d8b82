% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="groups")
<section class="card narrow">
<h1>{{title}}</h1>
% if "_form" in errors:
<p class="error" role="alert" id="delete-error">{{errors["_form"]}}</p>
<p><a href="/dialplan/groups">{{_("Back to the call groups")}}</a></p>
% else:
<p>{{_("Delete the call group {name}? Calls can no longer reach it. This cannot be undone.").format(name=group.name)}}</p>
<form method="post" action="/dialplan/groups/{{group.name}}/delete">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="danger" id="confirm-delete">{{_("Delete")}}</button>
  <a href="/dialplan/groups">{{_("Cancel")}}</a>
</form>
% end
</section>
