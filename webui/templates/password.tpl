% rebase("layout.tpl")
<section class="card narrow">
<h1>{{_("Change your password")}}</h1>
% if forced:
<p class="warn">{{_("You logged in with a one-time password. Choose your own password before going on.")}}</p>
% end
<p class="hint">{{_("At least 12 characters, with upper-case and lower-case letters and a digit.")}}</p>
<form method="post" action="/password">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % for name, label, auto in (("current_password", _("Current password"), "current-password"), ("new_password", _("New password"), "new-password"), ("confirm_password", _("New password again"), "new-password")):
  <label for="{{name}}">{{label}}</label>
  <input id="{{name}}" name="{{name}}" type="password" autocomplete="{{auto}}" required>
  % if name in errors:
  <span class="field-error" data-field="{{name}}">{{errors[name]}}</span>
  % end
  % end
  <button type="submit">{{_("Change password")}}</button>
</form>
</section>
