% rebase("layout.tpl")
<section class="card" id="voicemail-page">
<div class="bar"><h1>{{_("My voicemail")}}</h1> <a href="/portal">{{_("My phone")}}</a></div>
% if not boxes:
<p>{{_("You have no voicemail box (a box comes with an extension).")}}</p>
% end
% for box in boxes:
<h2>{{_("Box")}} {{box["number"]}}{{" — " + box["display_name"] if not box["own"] else ""}}</h2>
<p>{{_("new")}}: <b>{{box["new"]}}</b> · {{_("old")}}: {{box["old"]}} · {{"%.1f" % (box["used_bytes"] / 1048576)}} / {{box["quota_bytes"] // 1048576}} MB{{"" if box["enabled"] else " · " + _("voicemail is off")}}</p>
% if not box["messages"]:
<p>{{_("No messages.")}}</p>
% else:
<table class="list" data-vm-messages="{{box["number"]}}">
<thead><tr><th>{{_("From")}}</th><th>{{_("Received")}}</th><th>{{_("Length")}}</th><th>{{_("Folder")}}</th><th>{{_("Listen")}}</th><th></th></tr></thead>
<tbody>
% for m in box["messages"]:
<tr data-message="{{m["id"]}}" class="{{"" if m["read"] else "unread"}}">
  <td>{{"● " if not m["read"] else ""}}{{m["caller_name"] + " " if m["caller_name"] else ""}}<span class="mono">{{m["caller"] or _("unknown")}}</span>{{" ⚑" if m["urgent"] else ""}}</td>
  <td><time datetime="{{m["received_at"]}}">{{m["received_local"]}}</time></td>
  <td>{{"%.0f" % m["duration"]}} s</td>
  <td>{{_("new") if m["folder"] == "new" else _("saved")}}</td>
  <td><audio controls preload="none" src="/api/v1/voicemail/boxes/{{box["number"]}}/messages/{{m["id"]}}/audio"></audio></td>
  <td class="actions">
    <a href="/api/v1/voicemail/boxes/{{box["number"]}}/messages/{{m["id"]}}/audio?download=1">{{_("Download")}}</a>
    % if m["read"]:
    <button type="button" class="link" data-vm-msg="unread" data-number="{{box["number"]}}" data-id="{{m["id"]}}">{{_("Mark unread")}}</button>
    % else:
    <button type="button" class="link" data-vm-msg="read" data-number="{{box["number"]}}" data-id="{{m["id"]}}">{{_("Mark read")}}</button>
    % end
    % if m["folder"] == "new":
    <button type="button" class="link" data-vm-msg="save" data-number="{{box["number"]}}" data-id="{{m["id"]}}">{{_("Keep (saved folder)")}}</button>
    % end
    <button type="button" class="link" data-vm-msg="delete" data-number="{{box["number"]}}" data-id="{{m["id"]}}" data-confirm="{{_("Delete this message?")}}">{{_("Delete")}}</button>
  </td>
</tr>
% end
</tbody>
</table>
% end
% if box["own"]:
<details>
<summary>{{_("Settings of my box")}}</summary>
% include("voicemail_settings.tpl", box=box, full=False)
</details>
% end
% end
<p class="error" data-errors hidden></p>
</section>
