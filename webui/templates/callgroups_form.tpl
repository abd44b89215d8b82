% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="groups")
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
<form method="post" action="{{"/dialplan/groups/new" if mode == "new" else "/dialplan/groups/" + group_name + "/edit"}}" class="grid" id="group-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <!-- Enter in a field saves: the first submit button of the form is "save". -->
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
  <label for="strategy">{{_("Strategy")}}</label>
  <div><select id="strategy" name="strategy">
  % for key, label in strategies.items():
    <option value="{{key}}" {{"selected" if values.get("strategy") == key else ""}}>{{label}}</option>
  % end
  </select>
  <small class="hint">{{_("Busy members and phones that are not registered are skipped at once.")}}</small>
  % field_error("strategy")
  </div>
  <label for="ring_seconds">{{_("Ring time of the group (s)")}}</label>
  <div><input id="ring_seconds" name="ring_seconds" value="{{values.get("ring_seconds", "")}}" inputmode="numeric" required>
  <small class="hint">{{_("How long the caller waits in all, from {low} to {high} s.").format(low=limits["group"][0], high=limits["group"][1])}}</small>
  % field_error("ring_seconds")
  </div>
  <label for="member_ring_seconds">{{_("Ring time per member (s)")}}</label>
  <div><input id="member_ring_seconds" name="member_ring_seconds" value="{{values.get("member_ring_seconds", "")}}" inputmode="numeric" required>
  <small class="hint">{{_("When members ring one at a time: how long each rings unless it has its own time below.")}}</small>
  % field_error("member_ring_seconds")
  </div>

  <h2 class="section">{{_("Members, in ringing order")}}</h2>
  <div class="section">
  % if not values["members"]:
  <p class="hint" id="no-members">{{_("No member yet: add at least one below.")}}</p>
  % end
  <ol class="numbers" id="members">
  % for i, m in enumerate(values["members"]):
    <li data-member="{{m["extension"]}}" draggable="true">
      <div class="number-head">
        <span class="handle" title="{{_("Drag to reorder")}}" aria-hidden="true">&#8942;&#8942;</span>
        <input type="hidden" name="member" value="{{m["extension"]}}">
        <b>{{m["extension"]}}</b> <span>{{people.get(m["extension"], _("(no such user)"))}}</span>
        <span class="hint">{{_("Ring time (s)")}}</span>
        <input class="number" name="member_ring" value="{{m.get("ring_seconds", "")}}" inputmode="numeric" placeholder="{{values.get("member_ring_seconds", "")}}" aria-label="{{_("Ring time of {extension} (s)").format(extension=m["extension"])}}">
        <button type="submit" name="action" value="up:{{i}}" formnovalidate data-move="up" title="{{_("Move up")}}" aria-label="{{_("Move up")}}">&#8593;</button>
        <button type="submit" name="action" value="down:{{i}}" formnovalidate data-move="down" title="{{_("Move down")}}" aria-label="{{_("Move down")}}">&#8595;</button>
        <button type="submit" name="action" value="remove:{{i}}" formnovalidate data-move="remove">{{_("Remove")}}</button>
      </div>
      % field_error("members.%d.extension" % i)
      % field_error("members.%d.ring_seconds" % i)
    </li>
  % end
  </ol>
  % field_error("members")
  % choices = [(ext, label) for ext, label in people.items() if ext not in [m["extension"] for m in values["members"]]]
  % if len(values["members"]) < limits["members"] and choices:
  <div class="number-head">
    <select name="add_member" id="add_member" aria-label="{{_("User to add")}}">
    % for ext, label in choices:
      <option value="{{ext}}">{{ext}} {{label}}</option>
    % end
    </select>
    <button type="submit" name="action" value="add" formnovalidate id="add-member">{{_("Add member")}}</button>
  </div>
  % end
  </div>

  <h2 class="section">{{_("If nobody answers")}}</h2>
  <label for="no_answer_procedure">{{_("Go to procedure")}}</label>
  <div><select id="no_answer_procedure" name="no_answer_procedure">
    <option value="">{{_("(none: go on with the next application)")}}</option>
  % for proc in procedures:
    <option value="{{proc}}" {{"selected" if values.get("no_answer_procedure") == proc else ""}}>{{proc}}</option>
  % end
  </select>
  % field_error("no_answer_procedure")
  </div>
  <label for="no_answer_number">{{_("Called number there")}}</label>
  <div><input id="no_answer_number" name="no_answer_number" value="{{values.get("no_answer_number", "")}}" inputmode="tel">
  <small class="hint">{{_("Empty: keep the number the caller dialled.")}}</small>
  % field_error("no_answer_number")
  </div>
  <label for="record">{{_("Record calls")}}</label>
  <div><input type="checkbox" id="record" name="record" {{"checked" if values.get("record") else ""}}>
  <small class="hint">{{_("Record the conversations of the calls this group's members answer.")}}</small>
  % field_error("record")
  </div>

  <div></div>
  <div class="buttons">
    <button type="submit" name="action" value="save" class="primary" id="save-group">{{_("Save")}}</button>
    <a href="/dialplan/groups">{{_("Cancel")}}</a>
  </div>
</form>
</section>
