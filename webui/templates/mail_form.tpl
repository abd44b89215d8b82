% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="mail")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
% def text_input(name, label, hint="", extra=""):
  <label for="{{name}}">{{label}}</label>
  <div><input id="{{name}}" name="{{name}}" value="{{values.get(name, "")}}" {{!extra}}>
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
<form method="post" action="{{"/settings/mail/profiles/new" if mode == "new" else "/settings/mail/profiles/" + profile_name + "/edit"}}" class="grid" id="profile-form" autocomplete="off" data-default-ports="{{",".join(f"{k}:{v}" for k, v in default_ports.items())}}">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % if mode == "edit":
  <input type="hidden" name="revision" value="{{values.get("revision", "")}}">
  <label>{{_("Name")}}</label>
  <div><b id="profile-name" class="mono">{{profile_name}}</b></div>
  % else:
  % text_input("name", _("Name"), _("Lower-case letters, digits, - and _. It cannot be changed later."), 'required maxlength="64" pattern="[a-z0-9][a-z0-9_\\-]{0,63}" class="mono"')
  % end
  % text_input("description", _("Description"), "", 'maxlength="255"')

  <h2 class="section">{{_("Sender")}}</h2>
  % text_input("sender", _("Sender address"), _("The From address of every mail sent with this profile."), 'type="email" required maxlength="254" class="mono"')
  % text_input("sender_name", _("Sender name"), _("Shown as the From name, e.g. the company's name."), 'maxlength="128"')

  <h2 class="section">{{_("Server")}}</h2>
  % text_input("server", _("SMTP server"), _("Host name or IP address."), 'required maxlength="253" class="mono" spellcheck="false"')
  <label for="security">{{_("Security")}}</label>
  <div><select id="security" name="security">
  % for mode_key, label in (("starttls", _("STARTTLS (usually port 587)")), ("tls", _("TLS, implicit (usually port 465)")), ("none", _("None (port 25, only on a trusted network)"))):
    <option value="{{mode_key}}" {{"selected" if values.get("security") == mode_key else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("security")
  </div>
  % text_input("port", _("Port"), _("Empty: the usual port of the security chosen."), 'inputmode="numeric" maxlength="5" class="mono"')
  <label for="verify_tls">{{_("Verify the certificate")}}</label>
  <div><input type="checkbox" id="verify_tls" name="verify_tls" value="1" {{"checked" if values.get("verify_tls") else ""}}>
  <small class="hint">{{_("Untick only for a server with a self-signed certificate on a network you trust.")}}</small>
  % field_error("verify_tls")
  </div>
  % text_input("helo", _("HELO domain"), _("The name the appliance gives in EHLO; some servers want the domain of the sender. Empty: this host's name."), 'maxlength="253" class="mono" spellcheck="false"')

  <h2 class="section">{{_("Authentication")}}</h2>
  % text_input("username", _("User"), _("Empty: the server accepts mail from this appliance without a login."), 'maxlength="254" class="mono" autocomplete="off"')
  <label for="password">{{_("Password")}}</label>
  <div><input type="password" id="password" name="password" value="" maxlength="256" autocomplete="new-password">
  % if mode == "edit" and has_password:
  <small class="hint" id="password-kept">{{_("A password is stored; it is never shown again. Leave empty to keep it.")}}</small>
  <label class="inline-check"><input type="checkbox" name="remove_password" value="1"> {{_("Remove the stored password")}}</label>
  % else:
  <small class="hint">{{_("Stored encrypted; never shown again.")}}</small>
  % end
  % field_error("password")
  </div>
  <label for="is_default">{{_("Default profile")}}</label>
  <div><input type="checkbox" id="is_default" name="is_default" value="1" {{"checked" if values.get("is_default") else ""}} {{"disabled" if mode == "edit" and values.get("is_default") is True else ""}}>
  <small class="hint">{{_("Mail without a chosen profile (alerts, voicemail) is sent with the default profile.")}}</small>
  % field_error("is_default")
  </div>
  <div></div><div><button type="submit" id="save-profile">{{_("Save")}}</button> <a href="/settings/mail">{{_("Cancel")}}</a></div>
</form>
</section>
