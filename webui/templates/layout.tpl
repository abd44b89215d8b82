<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · {{status["appliance_name"] if status else "PBX"}}</title>
<link rel="stylesheet" href="/static/app.css">
% if csrf_token:
<meta name="csrf-token" content="{{csrf_token}}">
% end
% if refresh:
<meta http-equiv="refresh" content="{{refresh}}">
% end
</head>
<body>
<header class="top">
  <a class="brand" href="/">{{status["appliance_name"] if status else "PBX"}}</a>
  % if user is not None and not user.must_change_password:
  <nav class="menu" aria-label="{{_("Main menu")}}">
    % if can("users.read"):
    <a href="/users" class="{{"on" if active == "users" else ""}}">{{_("Users")}}</a>
    % if can("voicemail.read"):
    <a href="/voicemail" class="{{"on" if active == "voicemail" else ""}}">{{_("Voicemail")}}</a>
    % end
    <a href="/trunks" class="{{"on" if active == "trunks" else ""}}">{{_("Trunks")}}</a>
    <a href="/devices" class="{{"on" if active == "devices" else ""}}">{{_("Devices")}}</a>
    <a href="/dialplan" class="{{"on" if active == "dialplan" else ""}}">{{_("Dialplan")}}</a>
    <a href="/settings" class="{{"on" if active == "settings" else ""}}">{{_("Settings")}}</a>
    % else:
    <a href="/portal" class="{{"on" if active == "portal" else ""}}">{{_("My phone")}}</a>
    % end
  </nav>
  % end
  % if user is not None:
  <form method="post" action="/logout" class="logout">
    <input type="hidden" name="csrf_token" value="{{csrf_token}}">
    <span class="who">{{user.display_name}} ({{_(user.role)}})</span>
    <a href="/password">{{_("Password")}}</a>
    <button type="submit">{{_("Log out")}}</button>
  </form>
  % end
</header>
% if status:
<div class="status" id="status-strip">
  <span class="name" data-status="appliance_name">{{status["appliance_name"]}}</span>
  <span class="edge {{status["sip_edge"]}}" data-status="sip_edge" data-up="{{_("SIP edge up")}}" data-down="{{_("SIP edge unreachable")}}">{{_("SIP edge up") if status["sip_edge"] == "up" else _("SIP edge unreachable")}}</span>
  <span>{{_("Registered phones")}}: <b data-status="registered">{{status["registered"] if status["registered"] is not None else "–"}}</b></span>
  <span>{{_("Calls in progress")}}: <b data-status="calls">{{status["calls"]}}</b></span>
  <nav class="sub">
    <a href="/calls" class="{{"on" if active == "calls" else ""}}">{{_("Calls in progress")}}</a>
    <a href="/calls/history" class="{{"on" if active == "history" else ""}}">{{_("Call history")}}</a>
    % if can("recordings.read"):
    <a href="/calls/recordings" class="{{"on" if active == "recordings" else ""}}">{{_("Recordings")}}</a>
    % end
    <a href="/security/bans" class="{{"on" if active == "bans" else ""}}">{{_("Banned IPs")}}</a>
  </nav>
</div>
% end
<main>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
{{!base}}
</main>
% if status:
<script src="/static/app.js"></script>
% end
% for script in scripts:
<script src="/static/{{script}}"></script>
% end
</body>
</html>
