<nav class="tabs" aria-label="{{_("Security")}}">
% for key, href, label, perm in (("bans", "/security/bans", _("Banned IPs"), "bans.read"), ("fraud", "/security/fraud", _("Toll fraud"), "fraud.read"), ("events", "/security/events", _("Event log"), "events.read")):
%   if can(perm):
<a href="{{href}}" class="{{"on" if tab == key else ""}}">{{label}}</a>
%   end
% end
</nav>
