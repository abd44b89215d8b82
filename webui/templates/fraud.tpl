% rebase("layout.tpl")
% include("fraud_tabs.tpl", tab="fraud")
% editable = can("fraud.manage")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
% def number(name, label, hint, step="1"):
  <label for="{{name}}">{{label}}</label>
  <div><input id="{{name}}" name="{{name}}" value="{{values.get(name, "")}}" type="number" min="{{"%g" % ranges[name][0]}}" max="{{"%g" % ranges[name][1]}}" step="{{step}}" {{"" if editable else "disabled"}}>
  <small class="hint">{{hint}} {{_("0: no limit.")}}</small>
  % field_error(name)
  </div>
% end
<section class="card" id="fraud-status">
<h1>{{_("Toll fraud")}}</h1>
<p class="hint">{{_("Guards against a hacked phone or account running up the phone bill. They apply to every call through a trunk; emergency numbers always go through and are logged. A refused call hears an announcement and gets SIP 403 with the reason.")}}</p>
% if state["blocked"]:
<p class="error" role="alert" id="outbound-blocked">{{_("Outbound calls are blocked until {time} UTC: the daily budget was exceeded.").format(time=state["blocked_until"][11:16])}}</p>
% elif not values.get("enabled"):
<p class="warn" id="guards-off">{{_("The toll-fraud guards are switched off.")}}</p>
% else:
<p id="outbound-open"><span class="dot on"></span> {{_("Outbound calls are allowed.")}}</p>
% end
<p>{{_("Spent today (UTC): {spent} of a daily budget of {budget}.").format(spent="%.2f" % state["spent_today"], budget=("%.2f" % state["daily_budget"]) if state["daily_budget"] else _("no limit"))}}</p>
<p id="unlocks-left">{{_("Unlocks left in the last 24 hours: {n} of 2.").format(n=state["unlocks_remaining"])}}
% if state["next_unlock_at"]:
{{_("Next unlock possible at {time} UTC.").format(time=state["next_unlock_at"][:16].replace("T", " "))}}
% end
</p>
% if "unlock" in errors:
<p class="error" role="alert" id="unlock-error">{{errors["unlock"]}}</p>
% end
% if editable and state["blocked"]:
<form method="post" action="/security/fraud/unlock" class="inline" id="unlock-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <button type="submit" class="primary" {{"" if state["unlocks_remaining"] else "disabled"}}>{{_("Unlock outbound")}}</button>
  <small class="hint">{{_("Allows outbound calls again until midnight UTC, with a fresh budget. At most twice in 24 hours, so a real attack cannot simply be unlocked.")}}</small>
</form>
% end
</section>
<section class="card">
<h2>{{_("Settings")}}</h2>
% if not editable:
<p class="warn" id="read-only">{{_("Read-only: only an administrator can change the toll-fraud settings.")}}</p>
% end
% if "_form" in errors:
<p class="error" role="alert">{{errors["_form"]}}</p>
% end
<form method="post" action="/security/fraud" class="grid" id="fraud-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <input type="hidden" name="revision" value="{{values.get("revision", "")}}">
  <label for="enabled">{{_("Guards on")}}</label>
  <div><input type="checkbox" id="enabled" name="enabled" value="1" {{"checked" if values.get("enabled") else ""}} {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Switching them off removes every limit below (not recommended).")}}</small>
  % field_error("enabled")
  </div>
  <label for="allowed_countries">{{_("Allowed countries")}}</label>
  <div><textarea id="allowed_countries" name="allowed_countries" rows="3" class="mono" spellcheck="false" {{"" if editable else "disabled"}}>{{values.get("allowed_countries", "")}}</textarea>
  <small class="hint">{{_("Two-letter ISO codes (CH, DE, FR, US...), separated by spaces or commas. Outbound calls to any other country are refused. Default: the EEA, Switzerland and the United Kingdom.")}}
  % if home_country:
  {{_("The appliance's own country ({country}) is always allowed.").format(country=home_country)}}
  % end
  </small>
  % field_error("allowed_countries")
  </div>
  % number("daily_budget", _("Daily budget"), _("Cost of today's (UTC) outbound calls, in the price lists' currency, that blocks outbound until midnight UTC."), step="0.01")
  % number("calls_per_minute", _("Calls per minute"), _("New outbound calls per minute for the whole appliance."))
  % number("calls_per_minute_per_user", _("Calls per minute per user"), _("New outbound calls per minute for one user."))
  % number("max_calls_per_user", _("Simultaneous calls per user"), _("Outbound calls one user may have at the same time."))
  % number("max_call_minutes", _("Longest call (minutes)"), _("An outbound call is cut after this time."), step="0.1")
  <label for="premium_allowed">{{_("Premium-rate numbers")}}</label>
  <div><input type="checkbox" id="premium_allowed" name="premium_allowed" value="1" {{"checked" if values.get("premium_allowed") else ""}} {{"" if editable else "disabled"}}>
  <small class="hint">{{_("Allow calls to premium-rate numbers (surcharged services, satellite networks).")}}</small>
  % field_error("premium_allowed")
  </div>
  % if editable:
  <div class="buttons"><button type="submit" class="primary">{{_("Save")}}</button></div>
  % end
</form>
</section>
<section class="card">
% include("fraud_events.tpl", fraud_events=fraud_events)
</section>
