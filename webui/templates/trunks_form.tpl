% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="trunks")
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
% def checkbox(name, label, hint=""):
  <label for="{{name}}">{{label}}</label>
  <div><input type="checkbox" id="{{name}}" name="{{name}}" value="1" {{"checked" if values.get(name) else ""}}>
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
<form method="post" action="{{"/trunks/new" if mode == "new" else "/trunks/" + trunk_name + "/edit"}}" class="grid" id="trunk-form" data-presets="{{presets_json}}" autocomplete="off">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <!-- Enter in a field saves: the first submit button of the form is "save". -->
  <button type="submit" name="action" value="save" class="default-submit" tabindex="-1" aria-hidden="true">{{_("Save")}}</button>
  <label for="preset">{{_("Provider")}}</label>
  <div class="number-head"><select id="preset" name="preset">
  % for p in presets:
    <option value="{{p.key}}" {{"selected" if values.get("preset") == p.key else ""}} data-notes="{{_(p.notes)}}">{{_(p.label)}}</option>
  % end
  </select>
  <button type="submit" name="action" value="preset" formnovalidate id="apply-preset">{{_("Fill in from the provider")}}</button>
  % field_error("preset")
  </div>
  % notes = [p.notes for p in presets if p.key == values.get("preset")]
  <div></div><div><small class="hint" id="preset-notes">{{_(notes[0]) if notes else ""}}</small></div>

  % if mode == "edit":
  <input type="hidden" name="revision" value="{{revision}}">
  <input type="hidden" name="name" value="{{trunk_name}}">
  <label>{{_("Name")}}</label>
  <div><b id="trunk-name" class="mono">{{trunk_name}}</b> <small class="hint">{{_("The name cannot be changed: procedures and trunk groups use it.")}}</small></div>
  % else:
  % text_input("name", _("Name"), _("Lower-case letters, digits, - and _. It cannot be changed later."), 'required pattern="[a-z0-9][a-z0-9_\\-]{0,63}" class="mono"')
  % end
  % text_input("title", _("Title"), _("What the trunk is called in lists (default: the name)."), 'maxlength="128"')

  <h2 class="section">{{_("Connection")}}</h2>
  % text_input("host", _("Host"), _("The provider's proxy as host or host:port (5060 if no port). \"dynamic\": the other side registers to this appliance (PBX to PBX)."), 'class="mono" spellcheck="false"')
  <label for="transport">{{_("Transport")}}</label>
  <div><select id="transport" name="transport">
  % for t in transports:
    <option value="{{t}}" {{"selected" if values.get("transport") == t else ""}}>{{t.upper()}}</option>
  % end
  </select>
  % field_error("transport")
  </div>
  % checkbox("tls_verify", _("Verify the provider's certificate"), _("With TLS: the provider's certificate must be signed by an authority the system trusts. Untick only for a PBX or provider with a self-signed certificate."))
  % text_input("provider_domain", _("Provider domain"), _("Domain used in From and the request URI when it differs from the host (optional)."), 'class="mono" spellcheck="false"')
  % checkbox("register", _("Register"), _("Register to the provider (outbound registration). Off for \"dynamic\" and for IP authentication."))
  % checkbox("keepalive", _("Keep-alive"), _("Send OPTIONS regularly to check the provider answers and keep NAT open."))

  <h2 class="section">{{_("Authentication")}}</h2>
  % text_input("auth_user", _("Authentication login"), _("Given by the provider; required when registering and for dynamic trunks."), 'class="mono" spellcheck="false" maxlength="64"')
  <label for="password">{{_("Password")}}</label>
  <div><input type="password" id="password" name="password" value="" autocomplete="new-password" maxlength="128">
  % if mode == "edit" and has_password:
  <small class="hint" id="password-stored">{{_("A password is stored (it is never shown). Leave empty to keep it.")}}</small>
  % else:
  <small class="hint">{{_("Stored encrypted and never shown again.")}}</small>
  % end
  % field_error("password")
  </div>
  % text_input("from_user", _("From user"), _("User part of From on calls and registration, usually the login (optional)."), 'class="mono" spellcheck="false" maxlength="64"')
  <label for="ip_auth">{{_("IP authentication")}}</label>
  <div><textarea id="ip_auth" name="ip_auth" rows="3" class="mono" spellcheck="false">{{values.get("ip_auth", "")}}</textarea>
  <small class="hint">{{_("Provider addresses or networks (one per line, such as 192.0.2.10 or 192.0.2.0/24) whose calls are accepted without registration.")}}</small>
  % field_error("ip_auth")
  </div>

  <h2 class="section">{{_("Calls")}}</h2>
  <label for="codec_1">{{_("Codecs, in order")}}</label>
  <div class="number-head">
  % chosen = list(values.get("codecs") or [])
  % for i in range(1, slots + 1):
    <select id="codec_{{i}}" name="codec_{{i}}" aria-label="{{_("Codec {n}").format(n=i)}}">
      <option value="">{{_("(none)")}}</option>
    % for c in codecs:
      <option value="{{c}}" {{"selected" if len(chosen) >= i and chosen[i - 1] == c else ""}}>{{c}}</option>
    % end
    </select>
  % end
  % field_error("codecs")
  </div>
  % text_input("max_calls", _("Maximum simultaneous calls"), _("0: no limit. Set it to the number of channels your provider gives you."), 'inputmode="numeric"')
  % text_input("country_code", _("Country code"), _("Calling code of the country the trunk is in, such as 41 or 33: numbers are normalised with it."), 'inputmode="numeric" maxlength="4"')
  % text_input("outbound_caller_id", _("Outbound caller ID"), _("The number called parties see (E.164, such as +41445550100), when a user has none of their own."), 'inputmode="tel"')
  <label for="inbound_procedure">{{_("Procedure for incoming calls")}}</label>
  <div><select id="inbound_procedure" name="inbound_procedure">
  % for proc in procedures:
    <option value="{{proc}}" {{"selected" if values.get("inbound_procedure") == proc else ""}}>{{proc}}</option>
  % end
  % if values.get("inbound_procedure") and values.get("inbound_procedure") not in procedures:
    <option value="{{values.get("inbound_procedure")}}" selected>{{values.get("inbound_procedure")}}</option>
  % end
  </select>
  <small class="hint">{{_("Calls to a number that has no inbound number entry go to this procedure.")}}</small>
  % field_error("inbound_procedure")
  </div>
  <label for="called_header">{{_("Called number from")}}</label>
  <div><select id="called_header" name="called_header">
  % for key, label in headers.items():
    <option value="{{key}}" {{"selected" if values.get("called_header") == key else ""}}>{{label}}</option>
  % end
  </select>
  <small class="hint">{{_("The SIP header in which the provider puts the number that was called.")}}</small>
  % field_error("called_header")
  </div>
  <label for="price_list">{{_("Price list")}}</label>
  <div><select id="price_list" name="price_list">
    <option value="">{{_("(none)")}}</option>
  % for name in price_lists:
    <option value="{{name}}" {{"selected" if values.get("price_list") == name else ""}}>{{name}}</option>
  % end
  </select>
  % field_error("price_list")
  </div>
  % checkbox("enabled", _("Enabled"), _("A disabled trunk neither registers nor carries calls."))

  <div></div>
  <div class="buttons">
    <button type="submit" name="action" value="save" class="primary" id="save-trunk">{{_("Save")}}</button>
    <a href="/trunks">{{_("Cancel")}}</a>
  </div>
</form>
</section>
