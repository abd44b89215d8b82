% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="system")
% editable = can("settings.manage")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
% def number(name, label, hint):
  <label for="{{name}}">{{label}}</label>
  <div><input id="{{name}}" name="{{name}}" value="{{values.get(name, "")}}" inputmode="numeric" {{"" if editable else "disabled"}}>
  <small class="hint">{{hint}} ({{_("from {low} to {high}").format(low=ranges[name][0], high=ranges[name][1])}})</small>
  % field_error(name)
  </div>
% end
<section class="card">
<h1>{{title}}</h1>
% if not editable:
<p class="warn" id="read-only">{{_("Read-only: only an administrator can change the settings.")}}</p>
% end
% if "_form" in errors:
<p class="error" role="alert">{{errors["_form"]}}</p>
% end
<form method="post" action="/settings" class="grid" id="settings-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <input type="hidden" name="revision" value="{{revision}}">
  <h2 class="section">{{_("System")}}</h2>
  <label for="appliance_name">{{_("Appliance name")}}</label>
  <div><input id="appliance_name" name="appliance_name" value="{{values.get("appliance_name", "")}}" maxlength="64" {{"" if editable else "disabled"}}>
  % field_error("appliance_name")
  </div>
  <label for="sip_domain">{{_("SIP domain")}}</label>
  <div><input id="sip_domain" name="sip_domain" value="{{values.get("sip_domain", "")}}" spellcheck="false" class="mono" {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Also the realm phones authenticate with. Phones registered now stay registered and answer the next challenge with the new realm.")}}</small>
  % field_error("sip_domain")
  </div>
  <label for="country">{{_("Country")}}</label>
  <div><select id="country" name="country" {{"" if editable else "disabled"}}>
  % for code in countries:
    <option value="{{code}}" {{"selected" if values.get("country") == code else ""}}>{{code}}</option>
  % end
  % if values.get("country") not in countries:
    <option value="{{values.get("country", "")}}" selected>{{values.get("country", "")}}</option>
  % end
  </select>
  % field_error("country")
  </div>
  <label for="timezone">{{_("Time zone")}}</label>
  <div><select id="timezone" name="timezone" {{"" if editable else "disabled"}}>
  % for name in timezones:
    <option value="{{name}}" {{"selected" if values.get("timezone") == name else ""}}>{{name}}</option>
  % end
  % if values.get("timezone") not in timezones:
    <option value="{{values.get("timezone", "")}}" selected>{{values.get("timezone", "")}}</option>
  % end
  </select>
  % field_error("timezone")
  </div>
  <label for="language">{{_("Language")}}</label>
  <div><select id="language" name="language" {{"" if editable else "disabled"}}>
  % for code, name in languages:
    <option value="{{code}}" {{"selected" if values.get("language") == code else ""}}>{{name}}</option>
  % end
  </select>
  <small class="hint">{{_("Language of voice prompts, and of this interface for users who did not choose one.")}}</small>
  % field_error("language")
  </div>
  % number("ring_timeout_s", _("Ring time (seconds)"), _("How long a called extension rings before the call ends as not answered"))
  <h2 class="section" id="dialling">{{_("Dialling")}}</h2>
  <p class="hint section">{{_("With the country and each trunk's country code, these prefixes turn what users dial and what providers send into international (E.164) numbers, and decide a call's class (national, mobile, international...).")}}</p>
  <label for="national_prefix">{{_("National prefix")}}</label>
  <div><input id="national_prefix" name="national_prefix" value="{{values.get("national_prefix", "")}}" inputmode="numeric" maxlength="4" class="mono" {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Dialled before an area code within the country, such as 0 (empty if the country has none).")}}</small>
  % field_error("national_prefix")
  </div>
  <label for="international_prefix">{{_("International prefix")}}</label>
  <div><input id="international_prefix" name="international_prefix" value="{{values.get("international_prefix", "")}}" inputmode="numeric" maxlength="4" class="mono" {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Dialled before a country code, such as 00 (011 in North America).")}}</small>
  % field_error("international_prefix")
  </div>
  <h2 class="section" id="security">{{_("Security")}}</h2>
  <p class="hint section">{{_("A source address that fails SIP authentication too often is banned: it gets no answer at all until the ban ends. Changes apply at once, without a restart; bans already in place keep their end time.")}}</p>
  % number("ban_failures", _("Failures before a ban"), _("Failed authentications from one address"))
  % number("ban_window_s", _("Counting window (seconds)"), _("The failures must happen within this time"))
  % number("ban_minutes", _("Ban duration (minutes)"), _("How long a banned address is refused"))
  % number("flood_limit", _("Flood threshold (requests per 2 s)"), _("More requests than this from one address within 2 seconds are dropped; changing it restarts the SIP edge"))
  % if editable:
  <div></div>
  <div class="buttons">
    <button type="submit" class="primary" id="save-settings">{{_("Save")}}</button>
    <a href="/settings">{{_("Cancel")}}</a>
  </div>
  % end
</form>
</section>
