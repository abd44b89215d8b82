% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="dids")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
% def choice(name, label, options, kinds_for, hint=""):
  <label for="{{name}}" data-for-kinds="{{kinds_for}}">{{label}}</label>
  <div data-for-kinds="{{kinds_for}}"><select id="{{name}}" name="{{name}}">
    <option value="">{{_("(choose)")}}</option>
  % for value, text in options:
    <option value="{{value}}" {{"selected" if values.get(name) == value else ""}}>{{text}}</option>
  % end
  % if values.get(name) and values.get(name) not in [v for v, t in options]:
    <option value="{{values.get(name)}}" selected>{{values.get(name)}}</option>
  % end
  </select>
  % if hint:
  <small class="hint">{{hint}}</small>
  % end
  % field_error(name)
  </div>
% end
<section class="card">
<h1>{{title}}</h1>
% if "_form" in errors:
<p class="error" role="alert" id="form-error">{{errors["_form"]}}</p>
% end
<form method="post" action="{{"/trunks/dids/new" if mode == "new" else did_url(did_number) + "/edit"}}" class="grid" id="did-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % if mode == "edit":
  <input type="hidden" name="revision" value="{{revision}}">
  <label>{{_("Number")}}</label>
  <div><b id="did-number" class="mono">{{did_number}}</b> <small class="hint">{{_("To change the number, add the new one and delete this one.")}}</small></div>
  % else:
  <label for="number">{{_("Number")}}</label>
  <div><input id="number" name="number" value="{{values.get("number", "")}}" required class="mono" inputmode="tel" maxlength="40">
  <small class="hint">{{_("+41445550100: exactly this number. 5550100: any called number ending with these digits. 0445550*: every number starting so (a range).")}}</small>
  % field_error("number")
  </div>
  % end
  <label for="trunk">{{_("Trunk")}}</label>
  <div><select id="trunk" name="trunk">
    <option value="">{{_("(any trunk)")}}</option>
  % for name in choices["trunks"]:
    <option value="{{name}}" {{"selected" if values.get("trunk") == name else ""}}>{{name}}</option>
  % end
  </select>
  <small class="hint">{{_("A number of one trunk is matched before the numbers of any trunk.")}}</small>
  % field_error("trunk")
  </div>
  <label for="description">{{_("Description")}}</label>
  <div><input id="description" name="description" value="{{values.get("description", "")}}" maxlength="255">
  % field_error("description")
  </div>
  <label for="destination_kind">{{_("Destination")}}</label>
  <div><select id="destination_kind" name="destination_kind">
  % for key, label in kinds.items():
    <option value="{{key}}" {{"selected" if values.get("destination_kind") == key else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("destination_kind")
  </div>
  % choice("dest_user", _("User"), [(e, e + " " + n) for e, n in choices["users"]], "user voicemail", _("For \"User\" the phone rings; for \"Voicemail\" the caller leaves a message in this user's mailbox."))
  % choice("dest_call_group", _("Call group"), [(n, n) for n in choices["call_groups"]], "call_group")
  % choice("dest_ivr", _("IVR"), [(n, n) for n in choices["ivrs"]], "ivr")
  % choice("dest_time_range", _("Time range"), [(n, n) for n in choices["time_ranges"]], "time_range", _("Inside the time range the call goes to the procedure below; outside, to the trunk's procedure."))
  <label for="dest_external" data-for-kinds="external">{{_("External number")}}</label>
  <div data-for-kinds="external"><input id="dest_external" name="dest_external" value="{{values.get("dest_external", "")}}" inputmode="tel" class="mono">
  <small class="hint">{{_("The call is forwarded to this number (it uses an outgoing line).")}}</small>
  % field_error("dest_external")
  </div>
  % choice("procedure", _("Procedure"), [(n, n) for n in choices["procedures"]], "time_range procedure")
  <label for="dest_number" data-for-kinds="procedure">{{_("Number in that procedure")}}</label>
  <div data-for-kinds="procedure"><input id="dest_number" name="dest_number" value="{{values.get("dest_number", "")}}" class="mono">
  <small class="hint">{{_("Empty: the number that was called.")}}</small>
  % field_error("dest_number")
  </div>
  <div></div>
  <div class="buttons">
    <button type="submit" class="primary" id="save-did">{{_("Save")}}</button>
    <a href="/trunks/dids">{{_("Cancel")}}</a>
  </div>
</form>
</section>
