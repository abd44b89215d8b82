<nav class="tabs" aria-label="{{_("Settings")}}">
% for key, href, label, perm in (("system", "/settings", _("System"), "settings.read"), ("mail", "/settings/mail", _("Mail"), "mail.read"), ("network", "/settings/network", _("Network"), "network.read"), ("dhcp", "/settings/dhcp", _("DHCP server"), "network.read"), ("backup", "/settings/backup", _("Backup"), "backup.manage"), ("storage", "/settings/storage", _("Storage"), "storage.read"), ("info", "/settings/info", _("Info"), "health.read")):
%   if can(perm):
<a href="{{href}}" class="{{"on" if tab == key else ""}}">{{label}}</a>
%   end
% end
</nav>
