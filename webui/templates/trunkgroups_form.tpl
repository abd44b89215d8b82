% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="groups")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
<section class="card">
<h1>{{title}}</h1>
% if "_form" in errors:
<p class="error" role="alert" id="form-error">{{errors["_form"]}}</p>
% end
<form method="post" action="{{"/trunks/groups/new" if mode == "new" else "/trunks/groups/" + group_name + "/edit"}}" class="grid" id="trunk-group-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" name="action" value="save" class="default-submit" tabindex="-1" aria-hidden="true">{{_("Save")}}</button>
  % if mode == "edit":
  <input type="hidden" name="revision" value="{{revision}}">
  <input type="hidden" name="name" value="{{group_name}}">
  <label>{{_("Name")}}</label>
  <div><b id="group-name">{{group_name}}</b> <small class="hint">{{_("The name cannot be changed: procedures use it.")}}</small></div>
  % else:
  <label for="name">{{_("Name")}}</label>
  <div><input id="name" name="name" value="{{values.get("name", "")}}" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" autocomplete="off">
  <small class="hint">{{_("Lower-case letters, digits, - and _. It cannot be changed later.")}}</small>
  % field_error("name")
  </div>
  % end
  <label for="description">{{_("Description")}}</label>
  <div><input id="description" name="description" value="{{values.get("description", "")}}" maxlength="255">
  % field_error("description")
  </div>
  <label for="failover_delay_s">{{_("Next trunk after (s)")}}</label>
  <div><input id="failover_delay_s" name="failover_delay_s" value="{{values.get("failover_delay_s", "")}}" inputmode="numeric">
  <small class="hint">{{_("Seconds a trunk may take to answer before the next one is tried; 0: wait for its own answer (busy, congestion, error). At most {max} s.").format(max=limits["failover"])}}</small>
  % field_error("failover_delay_s")
  </div>

  <h2 class="section">{{_("Trunks, in the order they are tried")}}</h2>
  <div class="section">
  % if not values["members"]:
  <p class="hint" id="no-members">{{_("No trunk yet: add at least one below.")}}</p>
  % end
  <ol class="numbers" id="members">
  % for i, m in enumerate(values["members"]):
    <li data-member="{{m["trunk"]}}" draggable="true">
      <div class="number-head">
        <span class="handle" title="{{_("Drag to reorder")}}" aria-hidden="true">&#8942;&#8942;</span>
        <input type="hidden" name="member_trunk" value="{{m["trunk"]}}">
        <b>{{m["trunk"]}}</b>
        <label class="hint">{{_("Strip")}} <input class="number" name="member_strip" value="{{m.get("strip", "")}}" inputmode="numeric" size="3" aria-label="{{_("Digits to strip for {trunk}").format(trunk=m["trunk"])}}"></label>
        <label class="hint">{{_("Prepend")}} <input class="number" name="member_prepend" value="{{m.get("prepend", "")}}" size="8" aria-label="{{_("Digits to prepend for {trunk}").format(trunk=m["trunk"])}}"></label>
        <label class="hint">{{_("Max. calls")}} <input class="number" name="member_max_calls" value="{{m.get("max_calls", "")}}" inputmode="numeric" size="4" aria-label="{{_("Maximum calls through {trunk}").format(trunk=m["trunk"])}}"></label>
        <button type="submit" name="action" value="up:{{i}}" formnovalidate data-move="up" title="{{_("Move up")}}" aria-label="{{_("Move up")}}">&#8593;</button>
        <button type="submit" name="action" value="down:{{i}}" formnovalidate data-move="down" title="{{_("Move down")}}" aria-label="{{_("Move down")}}">&#8595;</button>
        <button type="submit" name="action" value="remove:{{i}}" formnovalidate data-move="remove">{{_("Remove")}}</button>
      </div>
      % for part in ("trunk", "strip", "prepend", "max_calls"):
      % field_error("members.%d.%s" % (i, part))
      % end
      % field_error("members.%d" % i)
    </li>
  % end
  </ol>
  % field_error("members")
  <small class="hint">{{_("Strip: digits removed from the front of the dialled number; prepend: digits put in front after that; max. calls: 0 for the trunk's own limit.")}}</small>
  % choices = [t for t in trunks if t not in [m["trunk"] for m in values["members"]]]
  % if len(values["members"]) < limits["members"] and choices:
  <div class="number-head">
    <select name="add_member" id="add_member" aria-label="{{_("Trunk to add")}}">
    % for t in choices:
      <option value="{{t}}">{{t}}</option>
    % end
    </select>
    <button type="submit" name="action" value="add" formnovalidate id="add-member">{{_("Add trunk")}}</button>
  </div>
  % elif not trunks:
  <p class="hint">{{_("There is no trunk yet: add one on the Trunks page first.")}}</p>
  % end
  </div>

  <div></div>
  <div class="buttons">
    <button type="submit" name="action" value="save" class="primary" id="save-trunk-group">{{_("Save")}}</button>
    <a href="/trunks/groups">{{_("Cancel")}}</a>
  </div>
</form>
</section>
