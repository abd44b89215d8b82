% rebase("layout.tpl")
% include("trunks_nav.tpl", tab=tab)
<section class="card narrow">
<h1>{{title}}</h1>
% if "_form" in errors:
<p class="error" role="alert" id="delete-error">{{errors["_form"]}}</p>
<p><a href="{{back}}">{{_("Back")}}</a></p>
% else:
<p>{{question}}</p>
<form method="post" action="{{action}}">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="danger" id="confirm-delete">{{_("Delete")}}</button>
  <a href="{{back}}">{{_("Cancel")}}</a>
</form>
% end
</section>
