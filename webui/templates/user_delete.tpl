% rebase("layout.tpl")
<section class="card narrow">
<h1>{{title}}</h1>
<p>{{_("Delete {name} ({extension})? Its phone will no longer be able to register or call. This cannot be undone.").format(name=user_row.display_name, extension=user_row.extension)}}</p>
<form method="post" action="/users/{{user_row.extension}}/delete">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="danger" id="confirm-delete">{{_("Delete")}}</button>
  <a href="/users">{{_("Cancel")}}</a>
</form>
</section>
