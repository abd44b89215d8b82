% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="switches")
<section class="card" id="switches-page" data-t-saved="{{_("Saved.")}}" data-t-add="{{_("Add a switch")}}" data-t-edit="{{_("Edit the switch %s")}}"
  data-t-create="{{_("Create")}}" data-t-save="{{_("Save")}}">
<div class="bar"><h1>{{_("Switches")}}</h1></div>
<p class="hint">{{_("A procedure checks a switch (application \"Check switch\") to route calls by its state: night mode, send everything to voicemail... Change a state here, or by phone: dial 93, then the switch's code and #, then 1 (on), 0 (off) or 2 (extra), from an extension allowed for that switch.")}}</p>
% if not rows:
<p>{{_("No switch yet.")}}</p>
% else:
<table class="list" id="switches">
<thead><tr><th>{{_("Code")}}</th><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("State")}}</th><th>{{_("Changed by")}}</th><th>{{_("Allowed by phone")}}</th><th></th></tr></thead>
<tbody>
% for s in rows:
%   label = ("off", "on", "extra")[s.state] if 0 <= s.state <= 2 else "off"
<tr data-name="{{s.name}}" data-state="{{s.state}}">
  <td class="mono">{{s.code}}</td>
  <td><b>{{s.name}}</b></td>
  <td>{{s.description}}</td>
  <td>
    <span class="dot {{"on" if s.state == 1 else ("unknown" if s.state == 2 else "")}}"></span>
    <b data-state-label>{{labels[label]}}</b>
    % if s.states == 3:
    <small class="hint">{{_("3 states")}}</small>
    % end
    % if can("switches.toggle"):
    <div class="state-buttons">
    %   for value, key in ((1, "on"), (0, "off"), (2, "extra")):
    %     if value != s.state and value < s.states:
      <button type="button" data-set-state="{{value}}" data-switch="{{s.name}}">{{_("Set %s") % labels[key]}}</button>
    %     end
    %   end
    </div>
    % end
  </td>
  <td>{{s.changed_by}}<br><small class="hint">{{s.updated_at.strftime("%Y-%m-%d %H:%M") + " UTC" if s.updated_at else ""}}</small></td>
  <td>{{", ".join(("%s (%s)" % (e, names[e])) if e in names else e for e in s.allowed) or _("nobody")}}</td>
  <td class="actions">
  % if can("dialplan.manage"):
    <button type="button" class="link" data-edit="{{s.name}}">{{_("Edit")}}</button>
    <button type="button" class="link" data-delete="{{s.name}}" data-confirm="{{_("Delete the switch %s?") % s.name}}">{{_("Delete")}}</button>
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
<h2 id="switch-form-title">{{_("Add a switch")}}</h2>
<form id="switch-form" class="grid" novalidate>
  <label for="sw-name">{{_("Name")}}</label>
  <div><input id="sw-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="sw-description">{{_("Description")}}</label>
  <div><input id="sw-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="sw-code">{{_("Code")}}</label>
  <div><input id="sw-code" name="code" type="number" min="1" max="99" required><span class="hint">{{_("1 to 99, dialled after 93 to change the switch by phone.")}}</span><span class="field-error" data-error-for="code" hidden></span></div>
  <label for="sw-states">{{_("States")}}</label>
  <div><select id="sw-states" name="states">
    <option value="2">{{_("2: off / on")}}</option>
    <option value="3">{{_("3: off / on / extra")}}</option>
  </select><span class="field-error" data-error-for="states" hidden></span></div>
  <label for="sw-state">{{_("State")}}</label>
  <div><select id="sw-state" name="state">
    <option value="0">{{labels["off"]}}</option>
    <option value="1">{{labels["on"]}}</option>
    <option value="2">{{labels["extra"]}}</option>
  </select><span class="field-error" data-error-for="state" hidden></span></div>
  <label for="sw-allowed">{{_("Allowed by phone")}}</label>
  <div><select id="sw-allowed" name="allowed" multiple size="6">
  % for extension in sorted(names):
    <option value="{{extension}}">{{extension}} – {{names[extension]}}</option>
  % end
  </select><span class="hint">{{_("The extensions that may change this switch with code 93 (Ctrl-click for several). The web and the API always can.")}}</span><span class="field-error" data-error-for="allowed" hidden></span></div>
  <p class="error" data-errors hidden></p>
  <div class="buttons"><button type="submit" class="primary" id="switch-submit">{{_("Create")}}</button> <button type="button" id="switch-cancel" hidden>{{_("Cancel")}}</button></div>
</form>
</section>
% end
