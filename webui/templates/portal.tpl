% rebase("layout.tpl")
<section class="card">
<h1>{{_("My phone")}}</h1>
% if user.extension:
<p>{{_("Your extension")}}: <b>{{user.extension}}</b></p>
% end
<p>{{_("Voicemail, call forwarding, do not disturb and your call history will be available here in a later release.")}}</p>
</section>
