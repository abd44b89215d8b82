% rebase("layout.tpl")
<section class="card" id="voicemail-page" data-t-saved="{{_("Saved.")}}">
<div class="bar"><h1>{{_("Voicemail")}}</h1></div>
<p class="hint">{{_("Every user has a box with their extension's number (off until turned on: then an unanswered call goes to it after its ring time). Shared boxes have their own number; the users who subscribe to one see its messages and their phones' message light shows them. Listen by phone: *95 or 999 (own box), *98 (any box: number then PIN).")}}</p>
% if not boxes:
<p>{{_("No voicemail box yet.")}}</p>
% else:
<table class="list" id="voicemail-boxes">
<thead><tr><th>{{_("Box")}}</th><th>{{_("Name")}}</th><th>{{_("Owner")}}</th><th>{{_("State")}}</th><th>{{_("New")}}</th><th>{{_("Old")}}</th><th>{{_("Usage")}}</th><th>{{_("Email")}}</th><th></th></tr></thead>
<tbody>
% for b in boxes:
<tr data-number="{{b["number"]}}">
  <td class="mono"><a href="/voicemail/{{b["number"]}}">{{b["number"]}}</a></td>
  <td>{{b["display_name"]}}</td>
  <td>{{b["owner"] or _("shared") + (": " + ", ".join(b["subscribers"]) if b.get("subscribers") else "")}}</td>
  <td><span class="dot {{"on" if b["enabled"] else ""}}"></span> {{_("on") if b["enabled"] else _("off")}}{{"" if b["has_pin"] else " · " + _("no PIN")}}</td>
  <td>{{b["new"]}}</td>
  <td>{{b["old"]}}</td>
  <td>{{"%.1f" % (b["used_bytes"] / 1048576)}} / {{b["quota_bytes"] // 1048576}} MB ({{int(100 * b["used_bytes"] / b["quota_bytes"]) if b["quota_bytes"] else 0}} %)</td>
  <td>{{ {"none": _("No email"), "notify": _("Notify only"), "attach": _("Attach the recording"), "attach_delete": _("Attach, then delete from the box")}.get(b["email_mode"], b["email_mode"]) }}{{" → " + b["email_address"] if b["email_mode"] != "none" else ""}}</td>
  <td class="actions">
    <a href="/voicemail/{{b["number"]}}">{{_("Settings")}}</a>
    % if can_manage:
    <button type="button" class="link" data-vm-delete="{{b["number"]}}" data-confirm="{{_("Delete the voicemail box %s, its greetings and settings?") % b["number"]}}">{{_("Delete")}}</button>
    % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>
% if can_manage:
<section class="card" id="voicemail-create">
<h2>{{_("Add a shared box")}}</h2>
<form data-vm-create class="grid" novalidate>
  <label for="vm-number">{{_("Number")}}</label>
  <div><input id="vm-number" name="number" required pattern="[0-9]{2,8}" inputmode="numeric"><span class="hint">{{_("2 to 8 digits, not a user's extension.")}}</span><span class="field-error" data-error-for="number" hidden></span></div>
  <label for="vm-name">{{_("Name")}}</label>
  <div><input id="vm-name" name="name" maxlength="64"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="vm-pin">{{_("PIN")}}</label>
  <div><input id="vm-pin" name="pin" pattern="[0-9]{4,8}" inputmode="numeric" autocomplete="off"><span class="hint">{{_("4 to 8 digits.")}}</span><span class="field-error" data-error-for="pin" hidden></span></div>
  <label for="vm-subscribers">{{_("Subscribers")}}</label>
  <div><input id="vm-subscribers" name="subscribers" placeholder="201 202"><span class="hint">{{_("Extensions, separated by spaces.")}}</span><span class="field-error" data-error-for="subscribers" hidden></span></div>
  <div></div><div><button type="submit">{{_("Create")}}</button></div>
  <p class="error" data-errors hidden></p>
</form>
</section>
% end
