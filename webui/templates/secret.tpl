% rebase("layout.tpl")
<section class="card narrow">
<h1>{{title}}</h1>
<p>{{_("SIP password of {extension}: write it down or enter it in the phone now; it is not shown again unless an administrator asks for it.").format(extension=user_row.extension)}}</p>
<p><code class="secret" id="secret">{{secret}}</code></p>
<p><a href="/users">{{_("Back to the users")}}</a></p>
</section>
