<nav class="tabs" aria-label="{{_("Dialplan")}}">
% for key, href, label in (("procedures", "/dialplan", _("Procedures")), ("timeranges", "/dialplan/timeranges", _("Time ranges")), ("switches", "/dialplan/switches", _("Switches")), ("groups", "/dialplan/groups", _("Call groups")), ("ivr", "/dialplan/ivr", _("IVR")), ("sounds", "/dialplan/sounds", _("Sounds")), ("conferences", "/dialplan/conferences", _("Conferences")), ("debug", "/dialplan/debug", _("Debug"))):
<a href="{{href}}" class="{{"on" if tab == key else ""}}">{{label}}</a>
% end
</nav>
