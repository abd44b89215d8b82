% rebase("layout.tpl")
<section class="card">
<h1>{{_("My phone")}}</h1>
% if user.extension:
<p>{{_("Your extension")}}: <b>{{user.extension}}</b></p>
% end
<p><a href="/portal/voicemail">{{_("My voicemail")}}</a></p>
<p>{{_("Call forwarding, do not disturb and your call history will be available here in a later release.")}}</p>
</section>
