% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="sounds")
% manage = can("dialplan.manage")
<section class="card" id="sounds-page">
<div class="bar"><h1>{{_("Sounds")}}</h1></div>
<p class="hint">{{_("Prompts are played by the dialplan's applications (play, IVR, DISA...); music-on-hold tracks belong to a music class. Every sound is stored as 16 kHz mono WAV.")}}</p>
% if not sounds:
<p id="no-sounds">{{_("No sound yet: upload one, type a text to be spoken, or record one by phone below.")}}</p>
% else:
<table class="list" id="sounds">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Kind")}}</th><th>{{_("Music class")}}</th><th>{{_("Origin")}}</th><th>{{_("Language")}}</th><th>{{_("Duration")}}</th><th>{{_("Size")}}</th><th>{{_("Listen")}}</th><th></th></tr></thead>
<tbody>
% for s in sounds:
<tr data-name="{{s.name}}">
  <td><b>{{s.name}}</b>
    <span class="hint" data-description>{{s.description}}</span>
    % if s.tts_text:
    <span class="hint">« {{s.tts_text[:120]}}{{"…" if len(s.tts_text) > 120 else ""}} »</span>
    % end
  </td>
  <td>{{_("Prompt") if s.kind == "prompt" else _("Music on hold")}}</td>
  <td>{{s.moh_class or ""}}</td>
  <td>{{origin_labels.get(s.origin, s.origin)}}</td>
  <td>{{s.language}}</td>
  <td class="mono">{{"%d:%02d" % divmod(int(round(s.duration_s)), 60)}}</td>
  <td class="mono">{{"%.0f KB" % (s.size_bytes / 1024)}}</td>
  <td><audio controls preload="none" src="/api/v1/sounds/{{s.name}}/audio"></audio></td>
  <td class="actions">
    <a href="/api/v1/sounds/{{s.name}}/audio?download=1">{{_("Download")}}</a>
  % if manage:
    <button type="button" class="link" data-edit="{{s.name}}" data-description="{{s.description}}" data-prompt="{{_("New description of %s:") % s.name}}">{{_("Edit description")}}</button>
    <button type="button" class="link" data-delete="{{s.name}}" data-confirm="{{_("Delete the sound %s?") % s.name}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>

% if manage:
<section class="card">
<h2>{{_("Upload a sound")}}</h2>
<form id="upload-sound" class="grid" enctype="multipart/form-data" data-t-too-large="{{_("This file is too large for the appliance.")}}">
  <label for="up-file">{{_("File")}}</label>
  <div><input id="up-file" name="file" type="file" required accept=".wav,.mp3,.al,.alaw,audio/wav,audio/mpeg"><span class="hint">{{_("WAV, MP3 or raw A-law (.al, .alaw), at most %d MB.") % upload_max_mb}}</span><span class="field-error" data-error-for="file" hidden></span></div>
  <label for="up-name">{{_("Name")}}</label>
  <div><input id="up-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="up-description">{{_("Description")}}</label>
  <div><input id="up-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="up-kind">{{_("Kind")}}</label>
  <div><select id="up-kind" name="kind" data-kind>
    <option value="prompt">{{_("Prompt")}}</option>
    <option value="moh">{{_("Music on hold")}}</option>
  </select><span class="field-error" data-error-for="kind" hidden></span></div>
  <label for="up-class" data-moh-only>{{_("Music class")}}</label>
  <div data-moh-only><select id="up-class" name="moh_class">
  % for name in class_names:
    <option value="{{name}}">{{name}}</option>
  % end
  </select><span class="field-error" data-error-for="moh_class" hidden></span></div>
  <label for="up-language">{{_("Language")}}</label>
  <div><select id="up-language" name="language">
    <option value="">{{_("(not set)")}}</option>
  % for code, label in languages:
    <option value="{{code}}">{{label}}</option>
  % end
  </select><span class="field-error" data-error-for="language" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Upload")}}</button><span data-busy hidden>{{_("Converting…")}}</span></div>
  <p class="error" data-errors hidden></p>
</form>
</section>

<section class="card">
<h2>{{_("Text to speech")}}</h2>
<form id="tts-sound" class="grid">
  <label for="tts-text">{{_("Text")}}</label>
  <div><textarea id="tts-text" name="text" required rows="3" maxlength="{{tts_max}}" cols="60"></textarea><span class="field-error" data-error-for="text" hidden></span></div>
  <label for="tts-language">{{_("Language")}}</label>
  <div><select id="tts-language" name="language">
  % for code, label in languages:
    <option value="{{code}}" {{"selected" if code == default_language else ""}}>{{label}}</option>
  % end
  </select><span class="field-error" data-error-for="language" hidden></span></div>
  <label for="tts-name">{{_("Name")}}</label>
  <div><input id="tts-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="tts-description">{{_("Description")}}</label>
  <div><input id="tts-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="tts-kind">{{_("Kind")}}</label>
  <div><select id="tts-kind" name="kind" data-kind>
    <option value="prompt">{{_("Prompt")}}</option>
    <option value="moh">{{_("Music on hold")}}</option>
  </select></div>
  <label for="tts-class" data-moh-only>{{_("Music class")}}</label>
  <div data-moh-only><select id="tts-class" name="moh_class">
  % for name in class_names:
    <option value="{{name}}">{{name}}</option>
  % end
  </select><span class="field-error" data-error-for="moh_class" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Create")}}</button></div>
  <p class="error" data-errors hidden></p>
</form>
</section>

<section class="card">
<h2>{{_("Record by phone")}}</h2>
<p class="hint">{{_("The appliance calls the phone you choose. Answer, listen to the instructions, speak after the tone, then press # or hang up (at most %d seconds).") % record_max_s}}</p>
% if not users:
<p class="warn" id="record-no-user">{{_("No user has an extension yet: add a user with a phone first.")}}</p>
% else:
<form id="record-sound" class="grid" data-t-queued="{{_("Waiting for the call core…")}}" data-t-calling="{{_("Calling the phone…")}}" data-t-answered="{{_("Answered: playing the instructions…")}}" data-t-recording="{{_("Recording: speak now, then press # or hang up.")}}" data-t-saving="{{_("Saving…")}}" data-t-done="{{_("Saved as %s.")}}" data-t-failed="{{_("Not recorded: %s")}}">
  <label for="rec-extension">{{_("Phone to call")}}</label>
  <div><select id="rec-extension" name="extension" required>
  % for u in users:
    <option value="{{u["extension"]}}">{{u["extension"]}} – {{u["name"]}}</option>
  % end
  </select><span class="field-error" data-error-for="extension" hidden></span></div>
  <label for="rec-name">{{_("Name")}}</label>
  <div><input id="rec-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="rec-description">{{_("Description")}}</label>
  <div><input id="rec-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Call me")}}</button><span data-record-status role="status"></span></div>
  <p class="error" data-errors hidden></p>
</form>
% end
</section>
% end

<section class="card" id="moh-classes">
<h2>{{_("Music-on-hold classes")}}</h2>
<p class="hint">{{_("A class is a playlist: its tracks play in name order, in a loop. The default class always has a generated melody.")}}</p>
<table class="list">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("Tracks")}}</th><th></th></tr></thead>
<tbody>
% for c in classes:
<tr data-class="{{c["name"]}}">
  <td><b>{{c["name"]}}</b></td>
  <td>{{c["description"]}}</td>
  <td>{{c["tracks"]}}</td>
  <td class="actions">
  % if manage and c["name"] != "default":
    <button type="button" class="link" data-delete-class="{{c["name"]}}" data-confirm="{{_("Delete the music class %s?") % c["name"]}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
<p class="error" data-errors hidden></p>
% if manage:
<form id="new-class" class="grid">
  <label for="mc-name">{{_("New class")}}</label>
  <div><input id="mc-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="mc-description">{{_("Description")}}</label>
  <div><input id="mc-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <div class="buttons"><button type="submit">{{_("Create class")}}</button></div>
  <p class="error" data-errors hidden></p>
</form>
% end
</section>
