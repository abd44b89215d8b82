% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="mail")
<section class="card narrow">
<h1>{{title}}</h1>
<p>{{question}}</p>
<form method="post" action="{{action}}">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="danger" id="confirm-delete">{{_("Delete")}}</button>
  <a href="{{back}}">{{_("Cancel")}}</a>
</form>
</section>
