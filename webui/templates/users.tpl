% rebase("layout.tpl")
<section class="card">
<div class="bar">
  <h1>{{_("Users")}}</h1>
  <form method="get" action="/users" class="search" role="search">
    <input name="q" value="{{search}}" placeholder="{{_("Search by extension, name or email")}}" aria-label="{{_("Search")}}">
    <button type="submit">{{_("Search")}}</button>
  </form>
  % if can("users.manage"):
  <a class="button" href="/users/new" id="add-user">{{_("Add a user")}}</a>
  % end
</div>
% if registrations is None:
<p class="warn" id="edge-unreachable">{{_("SIP edge unreachable: registration status is unknown.")}}</p>
% end
% if not users:
<p>{{_("No user matches.") if search else _("No user yet.")}}</p>
% else:
<table class="list" id="users">
<thead><tr>
  <th>{{_("Status")}}</th><th>{{_("Extension")}}</th><th>{{_("Name")}}</th><th>{{_("Email")}}</th><th>{{_("Role")}}</th><th>{{_("Phone")}}</th><th></th>
</tr></thead>
<tbody>
% for u in users:
%   regs = (registrations or {}).get(u.extension, [])
<tr data-extension="{{u.extension}}">
  <td>
  % if registrations is None:
    <span class="dot unknown" data-registered="unknown" title="{{_("SIP edge unreachable")}}"></span>
  % elif regs:
    <span class="dot on" data-registered="yes" title="{{_("Registered")}}"></span>
  % else:
    <span class="dot off" data-registered="no" title="{{_("Not registered")}}"></span>
  % end
  </td>
  <td class="ext">{{u.extension}}</td>
  <td>{{u.first_name}} {{u.last_name}}</td>
  <td>{{u.email or ""}}</td>
  <td>{{_(u.role)}}</td>
  <td class="reg">
  % for r in regs:
    <div class="contact"><code>{{r.get("contact", "")}}</code><br><small>{{r.get("user_agent", "")}} · {{r.get("source_ip", "")}}</small></div>
  % end
  </td>
  <td class="actions">
  % if can("users.manage"):
    <a href="/users/{{u.extension}}/edit">{{_("Edit")}}</a>
    <a href="/users/{{u.extension}}/delete">{{_("Delete")}}</a>
  % end
  % if can("users.reveal_sip"):
    <form method="post" action="/users/{{u.extension}}/sip-password" class="inline">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <button type="submit" class="link">{{_("Show SIP password")}}</button>
    </form>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
