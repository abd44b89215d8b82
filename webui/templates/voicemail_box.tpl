% rebase("layout.tpl")
<section class="card" id="voicemail-page">
<div class="bar"><h1>{{_("Voicemail box")}} {{box["number"]}}</h1> <a href="/voicemail">{{_("All boxes")}}</a></div>
<p>{{box["display_name"]}} · {{_("owner")}}: {{box["owner"] or _("shared")}} · {{_("new")}}: {{box["new"]}} · {{_("old")}}: {{box["old"]}} · {{"%.1f" % (box["used_bytes"] / 1048576)}} / {{box["quota_bytes"] // 1048576}} MB</p>
% if full:
% include("voicemail_settings.tpl", box=box, full=full)
<p><button type="button" data-vm-delete="{{box["number"]}}" data-then="/voicemail" data-confirm="{{_("Delete the voicemail box %s, its greetings and settings?") % box["number"]}}">{{_("Delete this box")}}</button></p>
% else:
<p class="hint">{{_("Only an administrator changes voicemail boxes.")}}</p>
% end
<p class="error" data-errors hidden></p>
</section>
