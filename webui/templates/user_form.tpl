% rebase("layout.tpl")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
<section class="card">
<h1>{{title}}</h1>
% if "_form" in errors:
<p class="error" role="alert">{{errors["_form"]}}</p>
% end
<form method="post" action="{{"/users/new" if mode == "new" else "/users/" + extension + "/edit"}}" class="grid" id="user-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <!-- Enter in a field submits with the first button: make that one "save", not "generate". -->
  <button type="submit" name="action" value="save" class="default-submit" tabindex="-1" aria-hidden="true">{{_("Save")}}</button>
  % if mode == "edit":
  <input type="hidden" name="revision" value="{{revision}}">
  % end
  <label for="extension">{{_("Extension")}}</label>
  <div><input id="extension" name="extension" value="{{values.get("extension", "")}}" inputmode="numeric" required>
  % field_error("extension")
  </div>
  <label for="first_name">{{_("First name")}}</label>
  <div><input id="first_name" name="first_name" value="{{values.get("first_name", "")}}" required>
  % field_error("first_name")
  </div>
  <label for="last_name">{{_("Last name")}}</label>
  <div><input id="last_name" name="last_name" value="{{values.get("last_name", "")}}" required>
  % field_error("last_name")
  </div>
  <label for="email">{{_("Email")}}</label>
  <div><input id="email" name="email" type="email" value="{{values.get("email", "")}}">
  % field_error("email")
  </div>
  <label for="role">{{_("Role")}}</label>
  <div><select id="role" name="role">
  % for r in roles:
    <option value="{{r}}" {{"selected" if values.get("role") == r else ""}}>{{_(r)}}</option>
  % end
  </select>
  % field_error("role")
  </div>
  <label for="language">{{_("Language")}}</label>
  <div><select id="language" name="language">
  % for code in languages:
    <option value="{{code}}" {{"selected" if values.get("language") == code else ""}}>{{code}}</option>
  % end
  </select>
  % field_error("language")
  </div>
  <label for="dialplan">{{_("Dialplan")}}</label>
  <div><select id="dialplan" name="dialplan">
  % for name in procedures:
    <option value="{{name}}" {{"selected" if values.get("dialplan") == name else ""}}>{{name}}</option>
  % end
  </select>
  <small class="hint">{{_("The procedure that routes the calls this user places.")}}</small>
  % field_error("dialplan")
  </div>
  <label for="mobile">{{_("Mobile number")}}</label>
  <div><input id="mobile" name="mobile" value="{{values.get("mobile", "")}}" inputmode="tel" placeholder="+41791234567">
  <small class="hint">{{_("Recognised by the dialplan's mobility lookup when this user calls from the mobile.")}}</small>
  % field_error("mobile")
  </div>
  <label for="caller_id_mode">{{_("Caller ID on outside calls")}}</label>
  <div><select id="caller_id_mode" name="caller_id_mode">
  % for mode, label in (("appliance", _("The appliance's number (the trunk's)")), ("custom", _("A custom number")), ("anonymous", _("Anonymous")), ("transparent", _("Transparent (the original caller, e.g. when forwarding)"))):
    <option value="{{mode}}" {{"selected" if values.get("caller_id_mode") == mode else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("caller_id_mode")
  </div>
  <label for="caller_id_number">{{_("Custom caller number")}}</label>
  <div><input id="caller_id_number" name="caller_id_number" value="{{values.get("caller_id_number", "")}}" inputmode="tel" placeholder="+41441234567">
  % field_error("caller_id_number")
  </div>
  <label for="recording_mode">{{_("Call recording")}}</label>
  <div><select id="recording_mode" name="recording_mode">
  % for mode, label in (("never", _("Never")), ("always", _("Always")), ("on_demand", _("On demand (feature code during a call)"))):
    <option value="{{mode}}" {{"selected" if values.get("recording_mode", "never") == mode else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("recording_mode")
  </div>
  <label for="sip_password">{{_("SIP password")}}</label>
  <div><input id="sip_password" name="sip_password" value="{{values.get("sip_password", "")}}" autocomplete="off" spellcheck="false" class="mono">
  <button type="submit" name="action" value="generate" formnovalidate id="generate-sip-password">{{_("Generate a strong SIP password")}}</button>
  % if mode == "edit":
  <small class="hint">{{_("Leave empty to keep the current SIP password.")}}</small>
  % end
  % field_error("sip_password")
  </div>
  <label for="web_password">{{_("Web password")}}</label>
  <div><input id="web_password" name="web_password" type="password" autocomplete="new-password">
  <small class="hint">{{_("Only needed for users who log in to this interface.")}}{{(" " + _("Leave empty to keep it unchanged.")) if mode == "edit" else ""}}</small>
  % field_error("web_password")
  </div>
  <div></div>
  <div class="buttons">
    <button type="submit" name="action" value="save" class="primary" id="save-user">{{_("Save")}}</button>
    <a href="/users">{{_("Cancel")}}</a>
  </div>
</form>
</section>
