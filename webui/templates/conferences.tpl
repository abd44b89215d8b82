% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="conferences")
<section class="card" id="conferences-page" data-t-add="{{_("Add a conference room")}}" data-t-edit="{{_("Edit the room %s")}}"
  data-t-create="{{_("Create")}}" data-t-save="{{_("Save")}}">
<div class="bar"><h1>{{_("Conference rooms")}}</h1></div>
<p class="hint">{{_("Callers dial a room's number (or reach it through a procedure's \"Conference room\" application), type its PIN if it has one, and talk with everyone in the room. A room can hold callers on many call-core workers at once.")}}</p>
<p class="hint">{{_("Moderator keys (after entering with the moderator PIN):")}}
% labels = {"mute_all": _("mute everyone but the moderators"), "unmute_all": _("unmute everyone"), "lock": _("lock the room (nobody else can enter)"), "unlock": _("unlock the room")}
% for key, action in keys.items():
<b class="mono">{{key}}</b> {{labels[action]}}{{";" if key != list(keys)[-1] else "."}}
% end
{{_("In a room with only a moderator PIN, participants press # when asked for the PIN.")}}
</p>
% if not rows:
<p>{{_("No conference room yet.")}}</p>
% else:
<table class="list" id="conferences">
<thead><tr><th>{{_("Number")}}</th><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("PIN")}}</th><th>{{_("Limit")}}</th><th>{{_("Now")}}</th><th></th></tr></thead>
<tbody>
% for room in rows:
%   state = live[room.name]
<tr data-name="{{room.name}}">
  <td class="mono">{{room.number}}</td>
  <td><b>{{room.name}}</b></td>
  <td>{{room.description}}</td>
  <td>{{_("yes") if room.pin else _("no")}}{{(" + " + _("moderator")) if room.moderator_pin else ""}}</td>
  <td>{{room.max_participants}}</td>
  <td>
    {{_("%d in the room") % state["count"]}}{{(", " + _("locked")) if state["locked"] else ""}}
    % if state["participants"]:
    <ul class="plain">
    % for p in state["participants"]:
      <li>{{p["caller_name"] or p["caller"]}} <small class="hint">{{p["caller"]}} · {{p["worker"]}}{{(" · " + _("moderator")) if p["moderator"] else ""}}{{(" · " + _("muted")) if p["muted"] else ""}}</small>
      % if can("dialplan.manage"):
        <button type="button" class="link" data-mute="{{p["id"]}}" data-room="{{room.name}}" data-muted="{{"1" if p["muted"] else "0"}}">{{_("Unmute") if p["muted"] else _("Mute")}}</button>
        <button type="button" class="link" data-remove="{{p["id"]}}" data-room="{{room.name}}" data-confirm="{{_("Remove this participant from the room?")}}">{{_("Remove")}}</button>
      % end
      </li>
    % end
    </ul>
    % end
    % if can("dialplan.manage") and state["count"]:
    <div class="state-buttons">
      <button type="button" data-live="{{room.name}}" data-field="muted" data-value="1">{{_("Mute all")}}</button>
      <button type="button" data-live="{{room.name}}" data-field="muted" data-value="0">{{_("Unmute all")}}</button>
      <button type="button" data-live="{{room.name}}" data-field="locked" data-value="{{"0" if state["locked"] else "1"}}">{{_("Unlock") if state["locked"] else _("Lock")}}</button>
    </div>
    % end
  </td>
  <td class="actions">
  % if can("dialplan.manage"):
    <button type="button" class="link" data-edit="{{room.name}}">{{_("Edit")}}</button>
    <button type="button" class="link" data-delete="{{room.name}}" data-confirm="{{_("Delete the conference room %s?") % room.name}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>
% if can("dialplan.manage"):
<section class="card">
<h2 id="conference-form-title">{{_("Add a conference room")}}</h2>
<form id="conference-form" class="grid" novalidate>
  <label for="cf-name">{{_("Name")}}</label>
  <div><input id="cf-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="cf-number">{{_("Number")}}</label>
  <div><input id="cf-number" name="number" required maxlength="8" inputmode="numeric"><span class="hint">{{_("2 to 8 digits, dialled to enter the room; not a user's extension.")}}</span><span class="field-error" data-error-for="number" hidden></span></div>
  <label for="cf-description">{{_("Description")}}</label>
  <div><input id="cf-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="cf-pin">{{_("PIN")}}</label>
  <div><input id="cf-pin" name="pin" maxlength="16" inputmode="numeric" autocomplete="off"><span class="hint">{{_("Digits asked on entry; empty for an open room.")}}</span><span class="field-error" data-error-for="pin" hidden></span></div>
  <label for="cf-moderator-pin">{{_("Moderator PIN")}}</label>
  <div><input id="cf-moderator-pin" name="moderator_pin" maxlength="16" inputmode="numeric" autocomplete="off"><span class="hint">{{_("Gives the moderator keys; a moderator may enter a locked room.")}}</span><span class="field-error" data-error-for="moderator_pin" hidden></span></div>
  <label for="cf-max">{{_("Maximum participants")}}</label>
  <div><input id="cf-max" name="max_participants" type="number" min="1" max="200" value="30"><span class="hint">{{_("The next caller hears \"the conference is full\".")}}</span><span class="field-error" data-error-for="max_participants" hidden></span></div>
  <label for="cf-language">{{_("Language")}}</label>
  <div><select id="cf-language" name="language">
    <option value="">{{_("Each caller's own")}}</option>
  % for lang in languages:
    <option value="{{lang}}">{{lang}}</option>
  % end
  </select><span class="field-error" data-error-for="language" hidden></span></div>
  <span></span>
  <div>
    <label><input type="checkbox" name="entry_tones" checked> {{_("Tone when someone enters")}}</label><br>
    <label><input type="checkbox" name="exit_tones" checked> {{_("Tone when someone leaves")}}</label><br>
    <label><input type="checkbox" name="announce_count" checked> {{_("Announce how many are in the room on entry")}}</label>
  </div>
  <p class="error" data-errors hidden></p>
  <div class="buttons"><button type="submit" class="primary" id="conference-submit">{{_("Create")}}</button> <button type="button" id="conference-cancel" hidden>{{_("Cancel")}}</button></div>
</form>
</section>
% end
