<nav class="tabs" aria-label="{{_("Trunks")}}">
% for key, href, label in (("trunks", "/trunks", _("Trunks")), ("dids", "/trunks/dids", _("Inbound numbers")), ("groups", "/trunks/groups", _("Trunk groups")), ("prices", "/trunks/prices", _("Price lists"))):
<a href="{{href}}" class="{{"on" if tab == key else ""}}">{{label}}</a>
% end
</nav>
