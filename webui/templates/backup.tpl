% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="backup")
% def field_error(name):
%   if name in errors:
<span class="field-error" data-field="{{name}}" role="alert">{{errors[name]}}</span>
%   end
% end
<section class="card" id="backup-create">
<h1>{{_("Backup")}}</h1>
<p class="hint">{{_("A backup holds the configuration (users, dialplan, trunks, settings) and the sounds; add voicemail, recordings and call history if you want them too. Make one before every update.")}}</p>
% if "_form" in errors:
<p class="error" role="alert">{{errors["_form"]}}</p>
% end
<form method="post" action="/settings/backup/download" class="grid" id="backup-form" autocomplete="off">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <span>{{_("Include")}}</span>
  <div>
  % for part in optional_parts:
    <label class="inline"><input type="checkbox" name="part_{{part}}" value="1" {{"checked" if part in values.get("parts", []) else ""}}> {{part_labels[part]}}</label>
  % end
  % field_error("parts")
  </div>
  <span>{{_("Secrets")}}</span>
  <div>
    <label class="inline"><input type="checkbox" name="secrets" id="secrets" value="1" {{"checked" if values.get("secrets", True) else ""}}> {{_("Include the passwords and the secret key (the archive is then encrypted with the passphrase)")}}</label>
    <small class="hint">{{_("Without them, a restore keeps the passwords of the appliance it is restored on; users it does not know get none.")}}</small>
  </div>
  <label for="passphrase">{{_("Passphrase")}}</label>
  <div><input type="password" id="passphrase" name="passphrase" minlength="8" autocomplete="new-password">
  <small class="hint">{{_("At least 8 characters. Keep it safe: without it the archive cannot be restored.")}}</small>
  % field_error("passphrase")
  </div>
  <label for="passphrase_confirm">{{_("Passphrase again")}}</label>
  <div><input type="password" id="passphrase_confirm" name="passphrase_confirm" autocomplete="new-password">
  % field_error("passphrase_confirm")
  </div>
  <div></div>
  <div>
    <button type="submit" id="download-backup">{{_("Generate and download the backup")}}</button>
    <button type="submit" formaction="/settings/backup/store" id="store-backup">{{_("Generate a backup on the appliance")}}</button>
  </div>
</form>
</section>

<section class="card" id="backup-schedule">
<h2>{{_("Scheduled backups")}}</h2>
<p class="hint">{{_("Made automatically onto the appliance's backup folder (internal or the USB volume chosen under Storage), then sent to the destination; only the most recent ones are kept there. An archive that cannot be sent stays in the backup folder.")}}</p>
<form method="post" action="/settings/backup/schedule" class="grid" id="schedule-form" autocomplete="off">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  <label for="frequency">{{_("Frequency")}}</label>
  <div><select id="frequency" name="frequency">
  % for key, label in frequencies.items():
    <option value="{{key}}" {{"selected" if schedule["frequency"] == key else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("sched_frequency")
  </div>
  <label for="hour">{{_("At (hour, 0-23)")}}</label>
  <div><input id="hour" name="hour" value="{{schedule["hour"]}}" inputmode="numeric" size="3">
  % field_error("sched_hour")
  </div>
  <label for="weekday">{{_("Day of the week (weekly)")}}</label>
  <div><select id="weekday" name="weekday">
  % for index, label in enumerate(weekdays):
    <option value="{{index}}" {{"selected" if str(schedule["weekday"]) == str(index) else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("sched_weekday")
  </div>
  <label for="month_day">{{_("Day of the month (monthly, 1-28)")}}</label>
  <div><input id="month_day" name="month_day" value="{{schedule["month_day"]}}" inputmode="numeric" size="3">
  % field_error("sched_month_day")
  </div>
  <span>{{_("Include")}}</span>
  <div>
  % for part in optional_parts:
    <label class="inline"><input type="checkbox" name="sched_part_{{part}}" value="1" {{"checked" if part in schedule["parts"] else ""}}> {{part_labels[part]}}</label>
  % end
  % field_error("sched_parts")
  </div>
  <span>{{_("Secrets")}}</span>
  <div><label class="inline"><input type="checkbox" name="sched_secrets" value="1" {{"checked" if schedule["secrets"] else ""}}> {{_("Include the passwords and the secret key (encrypted archives)")}}</label>
  % field_error("sched_secrets")
  </div>
  <label for="sched-passphrase">{{_("Passphrase")}}</label>
  <div><input type="password" id="sched-passphrase" name="passphrase" autocomplete="new-password" placeholder="{{_("unchanged") if schedule.get("passphrase_set") else ""}}">
  <small class="hint">{{_("Kept encrypted on the appliance, never shown again. Leave empty to keep the current one.")}}</small>
  % field_error("sched_passphrase")
  </div>
  <label for="destination">{{_("Destination")}}</label>
  <div><select id="destination" name="destination">
  % for key, label in destination_labels.items():
    <option value="{{key}}" {{"selected" if schedule["destination"] == key else ""}}>{{label}}</option>
  % end
  </select>
  % field_error("sched_destination")
  </div>
  <label for="share-name" data-kind="share">{{_("Share")}}</label>
  <div data-kind="share"><select id="share-name" name="share_name">
    <option value="">—</option>
  % for name in shares:
    <option value="{{name}}" {{"selected" if schedule["share"].get("name") == name else ""}}>{{name}}</option>
  % end
  </select>
  % if not shares:
  <small class="hint">{{_("No share yet: add one under Storage.")}}</small>
  % end
  % field_error("sched_share_name")
  </div>
  <label for="sftp-host" data-kind="sftp">{{_("SFTP server")}}</label>
  <div data-kind="sftp"><input id="sftp-host" name="sftp_host" value="{{schedule["sftp"].get("host", "")}}" size="30">
  % field_error("sched_sftp_host")
  </div>
  <label for="sftp-port" data-kind="sftp">{{_("Port")}}</label>
  <div data-kind="sftp"><input id="sftp-port" name="sftp_port" value="{{schedule["sftp"].get("port", 22)}}" inputmode="numeric" size="6">
  % field_error("sched_sftp_port")
  </div>
  <label for="sftp-user" data-kind="sftp">{{_("User")}}</label>
  <div data-kind="sftp"><input id="sftp-user" name="sftp_user" value="{{schedule["sftp"].get("user", "")}}" autocomplete="off">
  % field_error("sched_sftp_user")
  </div>
  <label for="sftp-password" data-kind="sftp">{{_("Password")}}</label>
  <div data-kind="sftp"><input type="password" id="sftp-password" name="sftp_password" autocomplete="new-password" placeholder="{{_("unchanged") if schedule["sftp"].get("password_set") else ""}}">
  <small class="hint">{{_("Kept encrypted on the appliance, never shown again. Leave empty to keep the current one.")}}</small>
  % field_error("sched_sftp_password")
  </div>
  <label for="sftp-folder" data-kind="sftp">{{_("Remote folder")}}</label>
  <div data-kind="sftp"><input id="sftp-folder" name="sftp_folder" value="{{schedule["sftp"].get("folder", "")}}" size="30">
  <small class="hint">{{_("Relative to the user's home folder, or absolute; empty: the home folder. It must exist.")}}</small>
  % field_error("sched_sftp_folder")
  </div>
  <span data-kind="sftp">{{_("Host key")}}</span>
  <div data-kind="sftp" id="sftp-host-key">
  % if schedule["sftp"].get("host_key_fingerprint"):
    <span class="mono">{{schedule["sftp"]["host_key_type"]}} {{schedule["sftp"]["host_key_fingerprint"]}}</span>
  % else:
    {{_("not known yet: pinned at the first connection (test the destination to see it)")}}
  % end
  </div>
  <label for="email-to" data-kind="email">{{_("Recipients")}}</label>
  <div data-kind="email"><input id="email-to" name="email_to" value="{{", ".join(schedule["email"].get("to", []))}}" size="40">
  <small class="hint">{{_("One or more addresses, separated by commas.")}}</small>
  % field_error("sched_email_to")
  </div>
  <label for="email-profile" data-kind="email">{{_("Mail profile")}}</label>
  <div data-kind="email"><select id="email-profile" name="email_profile">
    <option value="">{{_("The default profile")}}</option>
  % for name in mail_profiles:
    <option value="{{name}}" {{"selected" if schedule["email"].get("profile") == name else ""}}>{{name}}</option>
  % end
  </select>
  % if not mail_profiles:
  <small class="hint">{{_("No mail profile yet: add one under Settings > Mail.")}}</small>
  % end
  % field_error("sched_email_profile")
  </div>
  <label for="email-max-mb" data-kind="email">{{_("Largest archive to mail (MB)")}}</label>
  <div data-kind="email"><input id="email-max-mb" name="email_max_mb" value="{{schedule["email"].get("max_mb", 10)}}" inputmode="numeric" size="3">
  <small class="hint">{{_("A bigger archive is not mailed; it stays in the backup folder and the event log says why.")}}</small>
  % field_error("sched_email_max_mb")
  </div>
  <label for="keep">{{_("Keep the last")}}</label>
  <div><input id="keep" name="keep" value="{{schedule["keep"]}}" inputmode="numeric" size="3">
  % field_error("sched_keep")
  </div>
  <span>{{_("Last run")}}</span>
  <div id="schedule-last">
  % if schedule.get("last_status"):
    <span class="{{"notice" if schedule["last_status"] == "ok" else "error"}}">{{schedule["last_run_at"]}} — {{schedule["last_message"]}}</span>
  % else:
    {{_("never")}}
  % end
  </div>
  <div></div>
  <div><button type="submit" id="save-schedule">{{_("Save the schedule")}}</button></div>
</form>
<div id="schedule-actions">
  <button type="button" id="test-destination">{{_("Test the destination")}}</button>
  <button type="button" id="run-schedule-now" {{"disabled" if schedule.get("running") else ""}}>{{_("Run now")}}</button>
  <button type="button" id="trust-host-key" class="danger" hidden></button>
  <p class="hint">{{_("Both use the saved settings: save the schedule first.")}}</p>
  <p id="schedule-result" role="status"></p>
  <p class="error" data-errors hidden></p>
</div>
</section>

<section class="card" id="backup-files">
<h2>{{_("Backups on the appliance")}}</h2>
% if not files:
<p id="no-backups">{{_("No backup kept on the appliance.")}}</p>
% else:
<table class="list" id="backup-list">
<thead><tr><th>{{_("Archive")}}</th><th>{{_("Size")}}</th><th>{{_("Date (UTC)")}}</th><th>{{_("Encrypted")}}</th><th></th></tr></thead>
<tbody>
% for f in files:
<tr data-name="{{f["name"]}}" data-encrypted="{{"1" if f["encrypted"] else "0"}}">
  <td class="mono">{{f["name"]}}</td>
  <td>{{"{:,}".format(f["size"])}}</td>
  <td>{{f["modified_at"].replace("T", " ").replace("+00:00", "")}}</td>
  <td>{{_("yes") if f["encrypted"] else _("no")}}</td>
  <td>
    <a href="/settings/backup/files/{{f["name"]}}">{{_("Download")}}</a>
    <button type="button" class="inspect-backup">{{_("Inspect")}}</button>
    <button type="button" class="restore-backup">{{_("Restore…")}}</button>
    <form method="post" action="/settings/backup/files/{{f["name"]}}/delete" class="inline">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <button type="submit" class="danger">{{_("Delete")}}</button>
    </form>
  </td>
</tr>
% end
</tbody>
</table>
% end
<h3>{{_("Restore from a file")}}</h3>
<p class="hint">{{_("Upload an archive made by this or an older version of the software. It is checked in full before anything changes; a damaged, truncated or foreign file is refused and the configuration stays as it is.")}}</p>
<div id="upload-box">
  <input type="file" id="backup-file" accept=".pbxbak,application/octet-stream">
  <button type="button" id="upload-backup">{{_("Upload")}}</button>
  <span id="upload-status" role="status"></span>
</div>
<div id="restore-panel" class="card" hidden>
  <h3 id="restore-title"></h3>
  <div id="passphrase-row">
    <label for="restore-passphrase">{{_("Passphrase of the archive")}}</label>
    <input type="password" id="restore-passphrase" autocomplete="off">
  </div>
  <div id="archive-info" class="mono"></div>
  <p class="error" data-errors hidden></p>
  <div id="restore-confirm-row" hidden>
    <label class="inline"><input type="checkbox" id="restore-confirm"> {{_("I understand that the current configuration is replaced by the archive's (it is kept on the appliance), every service restarts and everybody logs in again.")}}</label><br>
    <button type="button" id="restore-now" class="danger" disabled>{{_("Restore this backup")}}</button>
  </div>
  <button type="button" id="check-archive">{{_("Check the archive")}}</button>
  <div id="restore-result" role="status"></div>
</div>
</section>

<section class="card" id="support-bundle">
<h2>{{_("Support bundle")}}</h2>
<p class="hint">{{_("For an escalation: the configuration and the logs with every password, key and PIN removed.")}}</p>
<a class="button" href="/settings/backup/support-bundle" id="download-support-bundle">{{_("Download the support bundle")}}</a>
</section>
<div hidden id="backup-texts"
  data-inspect="{{_("Archive {name}")}}"
  data-restore="{{_("Restore {name}")}}"
  data-created="{{_("Made on")}}" data-software="{{_("Software")}}" data-parts="{{_("Parts")}}"
  data-contents="{{_("Contents")}}" data-migrates="{{_("made by an older version: it will be migrated")}}"
  data-verified="{{_("Every checksum matches.")}}" data-uploading="{{_("Uploading…")}}"
  data-checking="{{_("Checking the whole archive…")}}" data-restoring="{{_("Restoring…")}}"
  data-restored="{{_("Restored. The previous configuration is kept in {previous}.")}}"
  data-restarting="{{_("Every service restarts now: log in again in a few seconds with the archive's passwords.")}}"
  data-restart-manually="{{_("Restart the appliance now: {services}.")}}"
  data-testing="{{_("Testing the destination…")}}"
  data-test-ok="{{_("The destination works: {message}")}}"
  data-test-failed="{{_("The destination failed ({reason}): {message}")}}"
  data-fingerprint="{{_("Host key: {fingerprint}")}}"
  data-pinned-now="{{_("Host key {fingerprint} pinned now (trust on first use): check it is the server's.")}}"
  data-trust="{{_("Trust the new host key {fingerprint}")}}"
  data-running="{{_("A scheduled backup is running…")}}"
  data-run-ok="{{_("Done: {message}")}}"
  data-run-failed="{{_("Failed: {message}")}}"></div>
