% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="mail")
% manage = can("mail.manage")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
<section class="card" id="mail-profiles-card">
<div class="bar">
  <h1>{{_("SMTP profiles")}}</h1>
  % if manage:
  <a class="button" href="/settings/mail/profiles/new" id="add-profile">{{_("Add a profile")}}</a>
  % end
</div>
<p class="hint">{{_("The appliance sends e-mail (voicemail, alerts) through an SMTP server of yours. Mail without a chosen profile goes out with the default one.")}}</p>
% if not manage:
<p class="warn" id="read-only">{{_("Read-only: only an administrator can change the mail settings.")}}</p>
% end
% if test_result:
%   ok = bool(test_result.get("ok"))
<div class="{{"notice" if ok else "error"}}" role="status" id="test-result" data-profile="{{test_result.get("profile", "")}}" data-ok="{{"1" if ok else "0"}}" data-reason="{{test_result.get("reason", "")}}">
  <b>{{_("Test email with {name} to {to}").format(name=test_result.get("profile", ""), to=test_result.get("to", ""))}}:</b>
  {{_("sent") if ok else _("failed")}}
  % if not ok and test_result.get("reason") in reason_labels:
  (<b class="reason">{{reason_labels[test_result["reason"]]}}</b>)
  % end
  — <span class="server-answer">{{test_result.get("message", "")}}</span>
</div>
% end
% if not profiles:
<p id="no-profiles">{{_("No SMTP profile yet: voicemail cannot be e-mailed and no alert reaches the administrator.")}}</p>
% else:
<table class="list" id="profiles">
<thead><tr>
  <th>{{_("Profile")}}</th><th>{{_("Sender")}}</th><th>{{_("Server")}}</th><th>{{_("Security")}}</th><th>{{_("User")}}</th><th></th>
</tr></thead>
<tbody>
% for p in profiles:
<tr data-profile="{{p["name"]}}">
  <td><b class="mono">{{p["name"]}}</b>
  % if p["is_default"]:
  <small class="hint default-mark">{{_("default")}}</small>
  % end
  % if p["description"]:
  <small class="hint">{{p["description"]}}</small>
  % end
  </td>
  <td>{{p["sender_name"]}} <span class="mono">&lt;{{p["sender"]}}&gt;</span></td>
  <td class="mono">{{p["server"]}}:{{p["port"]}}</td>
  <td>{{ {"none": _("none"), "starttls": "STARTTLS", "tls": _("TLS (implicit)")}.get(p["security"], p["security"]) }}
  % if p["security"] != "none" and not p["verify_tls"]:
  <small class="warn">{{_("certificate not verified")}}</small>
  % end
  </td>
  <td class="mono">{{p["username"] or "–"}}</td>
  <td class="actions">
  % if manage:
    <form method="post" action="/settings/mail/profiles/{{p["name"]}}/test" class="search test-form" data-profile="{{p["name"]}}">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="email" name="to" placeholder="{{settings_values.get("admin_address") or p["sender"]}}" aria-label="{{_("Send the test to")}}" maxlength="254" size="18">
      <button type="submit" class="test-profile">{{_("Send test email")}}</button>
    </form>
    <a href="/settings/mail/profiles/{{p["name"]}}/edit">{{_("Edit")}}</a>
    <a href="/settings/mail/profiles/{{p["name"]}}/delete">{{_("Delete")}}</a>
    <div class="test-output" role="status"></div>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>

<section class="card" id="mail-settings-card">
<h2>{{_("Alerts by e-mail")}}</h2>
<p class="hint">{{_("Events of the event log (trunk failures, toll-fraud blocks, emergency calls...) are e-mailed to this address with the default profile.")}}</p>
% if "_settings" in errors:
<p class="error" role="alert">{{errors["_settings"]}}</p>
% end
<form method="post" action="/settings/mail/settings" class="grid" id="mail-settings-form">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <input type="hidden" name="revision" value="{{settings_values.get("revision", "")}}">
  <label for="admin_address">{{_("Administrator's address")}}</label>
  <div><input type="email" id="admin_address" name="admin_address" value="{{settings_values.get("admin_address", "")}}" maxlength="254" {{"" if manage else "disabled"}}>
  <small class="hint">{{_("Empty: no event is e-mailed.")}}</small>
  % field_error("admin_address")
  </div>
  <label for="alert_severity">{{_("Mail these events")}}</label>
  <div><select id="alert_severity" name="alert_severity" {{"" if manage else "disabled"}}>
    <option value="warning" {{"selected" if settings_values.get("alert_severity") == "warning" else ""}}>{{_("Warnings and alerts")}}</option>
    <option value="alert" {{"selected" if settings_values.get("alert_severity") == "alert" else ""}}>{{_("Alerts only")}}</option>
  </select>
  % field_error("alert_severity")
  </div>
  % if manage:
  <div></div><div><button type="submit" id="save-mail-settings">{{_("Save")}}</button></div>
  % end
</form>
</section>

<section class="card" id="mail-queue-card">
<h2>{{_("Outgoing mail")}}</h2>
<p class="hint">{{_("Mail that could not be sent is retried after 1 min, 5 min, 15 min, then every hour, for a day; each failure is written to the event log.")}}</p>
% if "_queue" in errors:
<p class="error" role="alert">{{errors["_queue"]}}</p>
% end
% if not queue:
<p id="queue-empty">{{_("No mail sent recently.")}}</p>
% else:
<table class="list" id="mail-queue">
<thead><tr>
  <th>#</th><th>{{_("Queued (UTC)")}}</th><th>{{_("To")}}</th><th>{{_("Subject")}}</th><th>{{_("State")}}</th><th>{{_("Attempts")}}</th><th>{{_("Last error")}}</th><th></th>
</tr></thead>
<tbody>
% for m in queue:
<tr data-mail="{{m["id"]}}" data-state="{{m["state"]}}">
  <td>{{m["id"]}}</td>
  <td class="mono"><small>{{(m["created_at"] or "").replace("T", " ").rstrip("Z")}}</small></td>
  <td class="mono">{{", ".join(m["to"])}}</td>
  <td>{{m["subject"]}}
  % if m["purpose"]:
  <small class="hint">{{m["purpose"]}}</small>
  % end
  </td>
  <td class="state">{{state_labels.get(m["state"], m["state"])}}
  % if m["state"] == "queued" and m["next_attempt_at"] and m["attempts"]:
  <small class="hint">{{_("next attempt")}} {{m["next_attempt_at"].replace("T", " ").rstrip("Z")}}</small>
  % elif m["state"] == "sent":
  <small class="hint">{{(m["sent_at"] or "").replace("T", " ").rstrip("Z")}}</small>
  % end
  </td>
  <td>{{m["attempts"]}}</td>
  <td>
  % if m["last_reason"] and m["state"] != "sent":
  <b class="warn">{{reason_labels.get(m["last_reason"], m["last_reason"])}}</b>
  <small class="hint">{{m["last_error"]}}</small>
  % end
  </td>
  <td class="actions">
  % if manage and m["state"] in ("queued", "failed"):
    <form method="post" action="/settings/mail/queue/{{m["id"]}}/retry" class="inline">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <button type="submit" class="retry-mail">{{_("Retry now")}}</button>
    </form>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
