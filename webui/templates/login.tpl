% rebase("layout.tpl")
<section class="card narrow">
<h1>{{_("Log in")}}</h1>
% if error:
<p class="error" role="alert">{{error}}</p>
% end
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{{login_csrf}}">
  <input type="hidden" name="next" value="{{next_url}}">
  <label for="username">{{_("Login")}}</label>
  <input id="username" name="username" value="{{username}}" autocomplete="username" required autofocus>
  <label for="password">{{_("Password")}}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">{{_("Log in")}}</button>
</form>
</section>
