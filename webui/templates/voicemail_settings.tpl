%# A box's settings and greetings; `full`: every field (administrator), else what the owner may change.
<form data-vm-settings="{{box["number"]}}" data-revision="{{box["revision"]}}" class="grid" novalidate>
  <label for="vm-enabled-{{box["number"]}}">{{_("Voicemail on")}}</label>
  <div><input type="checkbox" id="vm-enabled-{{box["number"]}}" name="enabled" {{"checked" if box["enabled"] else ""}}><span class="hint">{{_("On: calls nobody answers (or while busy) go to this box.")}}</span><span class="field-error" data-error-for="enabled" hidden></span></div>
  <label for="vm-pin-{{box["number"]}}">{{_("New PIN")}}</label>
  <div><input id="vm-pin-{{box["number"]}}" name="pin" inputmode="numeric" autocomplete="off" placeholder="{{_("unchanged") if box["has_pin"] else _("none yet")}}"><span class="hint">{{_("4 to 8 digits, asked when listening by phone.")}}</span><span class="field-error" data-error-for="pin" hidden></span></div>
  <label for="vm-announce-{{box["number"]}}">{{_("Announce caller and time")}}</label>
  <div><input type="checkbox" id="vm-announce-{{box["number"]}}" name="announce" {{"checked" if box["announce"] else ""}}><span class="hint">{{_("Say the caller's number and the date and time before each message.")}}</span></div>
  <label for="vm-email-mode-{{box["number"]}}">{{_("Email")}}</label>
  <div><select id="vm-email-mode-{{box["number"]}}" name="email_mode">
    % labels = {"none": _("No email"), "notify": _("Notify only"), "attach": _("Attach the recording"), "attach_delete": _("Attach, then delete from the box")}
    % for mode in email_modes:
    <option value="{{mode}}" {{"selected" if mode == box["email_mode"] else ""}}>{{labels.get(mode, mode)}}</option>
    % end
  </select><span class="field-error" data-error-for="email_mode" hidden></span></div>
  <label for="vm-email-{{box["number"]}}">{{_("Email address")}}</label>
  <div><input id="vm-email-{{box["number"]}}" name="email_address" type="email" maxlength="254" value="{{box["email_address"]}}"><span class="field-error" data-error-for="email_address" hidden></span></div>
  <label for="vm-language-{{box["number"]}}">{{_("Prompt language")}}</label>
  <div><select id="vm-language-{{box["number"]}}" name="language">
    <option value="" {{"selected" if not box["language"] else ""}}>{{_("The owner's language")}}</option>
    % for code, label in (("fr", "Français"), ("en", "English"), ("de", "Deutsch"), ("it", "Italiano")):
    <option value="{{code}}" {{"selected" if box["language"] == code else ""}}>{{label}}</option>
    % end
  </select><span class="field-error" data-error-for="language" hidden></span></div>
  % if full:
  <label for="vm-name-{{box["number"]}}">{{_("Name")}}</label>
  <div><input id="vm-name-{{box["number"]}}" name="name" maxlength="64" value="{{box["name"]}}"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="vm-ring-{{box["number"]}}">{{_("Start after (s of ringing)")}}</label>
  <div><input id="vm-ring-{{box["number"]}}" name="ring_seconds" type="number" min="1" max="300" value="{{box["ring_seconds"]}}"><span class="field-error" data-error-for="ring_seconds" hidden></span></div>
  <label for="vm-max-{{box["number"]}}">{{_("Maximum message length (s)")}}</label>
  <div><input id="vm-max-{{box["number"]}}" name="max_message_s" type="number" min="5" max="3600" value="{{box["max_message_s"]}}"><span class="field-error" data-error-for="max_message_s" hidden></span></div>
  <label for="vm-quota-{{box["number"]}}">{{_("Quota (MB)")}}</label>
  <div><input id="vm-quota-{{box["number"]}}" name="quota_mb" type="number" min="1" max="10240" value="{{box["quota_mb"]}}"><span class="field-error" data-error-for="quota_mb" hidden></span></div>
  <label for="vm-retention-{{box["number"]}}">{{_("Keep messages (days)")}}</label>
  <div><input id="vm-retention-{{box["number"]}}" name="retention_days" type="number" min="0" max="3650" value="{{box["retention_days"]}}"><span class="hint">{{_("0: until deleted.")}}</span><span class="field-error" data-error-for="retention_days" hidden></span></div>
  <label for="vm-subs-{{box["number"]}}">{{_("Subscribers")}}</label>
  <div><input id="vm-subs-{{box["number"]}}" name="subscribers" value="{{" ".join(box.get("subscribers", []))}}"><span class="hint">{{_("Extensions of the users who also read this box (their phones' message light shows it), separated by spaces.")}}</span><span class="field-error" data-error-for="subscribers" hidden></span></div>
  % end
  <div></div><div><button type="submit">{{_("Save")}}</button> <span class="notice" data-saved hidden>{{_("Saved.")}}</span></div>
  <p class="error" data-errors hidden></p>
</form>
<h3>{{_("Greetings")}}</h3>
<p class="hint">{{_("Without a greeting of its own the box says who is not available. Upload a file (WAV, MP3; at most %d MB), type a text to be spoken, or record one by phone (menu 0 after logging in).") % upload_max_mb}}</p>
<table class="list">
<tbody>
% glabels = {"unavailable": _("Unavailable"), "busy": _("Busy"), "name": _("Name")}
% for kind in kinds:
%   g = box["greetings"].get(kind)
<tr>
  <td><b>{{glabels.get(kind, kind)}}</b><br><small class="hint">{{(_(g["source"]) + (": " + g["text"] if g.get("text") else "")) if g else _("system default")}}</small></td>
  <td>
  % if g:
    <audio controls preload="none" src="/api/v1/voicemail/boxes/{{box["number"]}}/greetings/{{kind}}/audio"></audio>
    <button type="button" class="link" data-vm-greeting-delete="{{kind}}" data-number="{{box["number"]}}">{{_("Remove")}}</button>
  % end
  </td>
  <td>
    <form data-vm-greeting="{{kind}}" data-number="{{box["number"]}}" novalidate>
      <input type="file" name="file" accept=".wav,.mp3,.al,.alaw,audio/*" aria-label="{{_("Upload a file")}}">
      <button type="submit" name="upload" value="1">{{_("Upload")}}</button>
      <input name="text" maxlength="500" placeholder="{{_("or a text to speak")}}" aria-label="{{_("Text to speak")}}">
      <button type="submit" name="tts" value="1">{{_("Speak")}}</button>
      <span class="field-error" data-error-for="file" hidden></span><span class="field-error" data-error-for="text" hidden></span>
      <p class="error" data-errors hidden></p>
    </form>
  </td>
</tr>
% end
</tbody>
</table>
