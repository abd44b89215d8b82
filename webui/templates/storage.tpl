% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="storage")
<section class="card" id="storage-devices">
<h1>{{_("Storage")}}</h1>
% if data["missing"]:
<p class="error" role="alert" id="storage-missing">{{_("Storage missing: {labels}. New files are kept in the internal data folder until it is plugged in again.").format(labels=", ".join(data["missing"]))}}</p>
% end
<p class="hint">{{_("Plug a USB stick or disk into the appliance; it appears here. Initialize it once (everything on it is erased), then choose below what lives on it.")}}</p>
<p data-errors class="error" role="alert" hidden></p>
<h2>{{_("Internal data folder")}}</h2>
<p id="storage-internal">{{data["internal"]["folder"]}}: {{human(data["internal"]["free_bytes"])}} {{_("free of")}} {{human(data["internal"]["total_bytes"])}}</p>
<h2>{{_("Devices")}}</h2>
% if not data["devices"]:
<p id="no-devices">{{_("No USB storage device is plugged in.")}}</p>
% else:
<table class="list" id="device-list">
<thead><tr><th>{{_("Device")}}</th><th>{{_("Size")}}</th><th>{{_("Partitions and file systems")}}</th><th>{{_("Usage")}}</th><th></th></tr></thead>
<tbody>
% for d in data["devices"]:
<tr data-device="{{d["name"]}}" data-size="{{d["size_bytes"]}}" data-size-text="{{human(d["size_bytes"])}}">
  <td class="mono">{{d["path"]}}<br><small>{{d["model"] or d["transport"] or d["type"]}}</small></td>
  <td>{{human(d["size_bytes"])}}</td>
  <td>
  % if not d["volumes"] and not d["partitions"]:
    {{_("empty (no partition)")}}
  % end
  % for p in d["partitions"]:
    <div class="mono">{{p["name"]}} {{human(p["size_bytes"])}} {{p["fstype"] or _("no file system")}} {{p["label"]}}</div>
  % end
  % if d["whole"]:
    <div class="mono">{{d["whole"]["fstype"]}} {{d["whole"]["label"]}}</div>
  % end
  </td>
  <td>
  % for v in d["volumes"]:
  %   if v["mountpoint"]:
    <div>{{v["mountpoint"]}}: {{human(v["used_bytes"])}} / {{human(v["total_bytes"])}}</div>
  %   else:
    <div>{{_("not mounted")}}</div>
  %   end
  % end
  </td>
  <td>
  % if can_manage:
    <button type="button" class="initialize-device danger">{{_("Initialize…")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<div id="initialize-panel" class="card" hidden>
  <h3 id="initialize-title"></h3>
  <p class="error" id="initialize-warning"></p>
  <label for="init-label">{{_("Name (label)")}}</label>
  <input id="init-label" maxlength="16" value="PBXDATA">
  <span class="field-error" data-error-for="label" hidden></span>
  <label for="init-confirm">{{_("Type the device name to confirm")}}</label>
  <input id="init-confirm" autocomplete="off">
  <span class="field-error" data-error-for="confirm" hidden></span>
  <span class="field-error" data-error-for="size_bytes" hidden></span>
  <p data-errors class="error" role="alert" hidden></p>
  <button type="button" id="initialize-now" class="danger">{{_("Erase and initialize")}}</button>
  <button type="button" id="initialize-cancel">{{_("Cancel")}}</button>
</div>
<div id="job-panel" hidden>
  <progress id="job-progress" max="100" value="0"></progress> <span id="job-step" role="status"></span>
</div>
</section>

<section class="card" id="storage-volumes">
<h2>{{_("Volumes")}}</h2>
% if not data["volumes"]:
<p id="no-volumes">{{_("No device initialized yet.")}}</p>
% else:
<table class="list" id="volume-list">
<thead><tr><th>{{_("Name")}}</th><th>{{_("State")}}</th><th>{{_("Mounted at")}}</th><th>{{_("Free")}}</th><th>{{_("Holds")}}</th><th></th></tr></thead>
<tbody>
% for v in data["volumes"]:
<tr data-label="{{v["label"]}}">
  <td>{{v["label"]}}</td>
  <td class="{{"" if v["present"] else "error"}}">{{_("present") if v["present"] else _("missing")}}</td>
  <td class="mono">{{v["mountpoint"] if v["present"] else "-"}}</td>
  <td>{{human(v["usage"]["free_bytes"]) if v["usage"] else "-"}}</td>
  <td>{{", ".join(v["kinds"]) or "-"}}</td>
  <td>
  % if can_manage and v["present"] and not v["kinds"]:
    <button type="button" class="eject-volume">{{_("Eject")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>

<section class="card" id="storage-placements">
<h2>{{_("Where the data lives")}}</h2>
<p class="hint">{{_("Moving copies every file, checks each copy, switches, and only then removes the old copy.")}}</p>
<table class="list" id="placement-list">
<thead><tr><th>{{_("Data")}}</th><th>{{_("Lives on")}}</th><th>{{_("Files")}}</th><th>{{_("Size")}}</th><th></th></tr></thead>
<tbody>
% for p in data["placements"]:
<tr data-kind="{{p["kind"]}}" data-revision="{{p["revision"]}}">
  <td>{{_(kinds[p["kind"]][1])}}</td>
  <td class="{{"error" if p["state"] == "missing" else ""}}">{{_("internal") if p["location"] == "internal" else p["location"]}}{{" (" + _("missing") + ")" if p["state"] == "missing" else ""}}</td>
  <td>{{p["files"]}}</td>
  <td>{{human(p["bytes"])}}</td>
  <td>
  % if can_manage:
    <select class="move-target" aria-label="{{_("Move to")}}">
      <option value="" {{"selected" if p["volume_uuid"] == "" else ""}}>{{_("internal")}}</option>
    % for v in data["volumes"]:
      % if v["present"] or v["uuid"] == p["volume_uuid"]:
      <option value="{{v["uuid"]}}" {{"selected" if p["volume_uuid"] == v["uuid"] else ""}}>{{v["label"]}}</option>
      % end
    % end
    </select>
    <button type="button" class="move-kind">{{_("Move")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
<p data-errors class="error" role="alert" hidden></p>
</section>

<section class="card" id="storage-shares">
<h2>{{_("Network shares for backups")}}</h2>
% if share_list:
<table class="list" id="share-list">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Share")}}</th><th>{{_("Last test")}}</th><th></th></tr></thead>
<tbody>
% for s in share_list:
<tr data-share="{{s["name"]}}">
  <td>{{s["name"]}}</td>
  <td class="mono">{{s["location"]}}</td>
  <td class="share-test-result">{{(("✔ " if s["last_test"]["ok"] else "✘ ") + s["last_test"]["message"]) if s["last_test"] else "-"}}</td>
  <td>
  % if can_manage:
    <button type="button" class="test-share">{{_("Test")}}</button>
    <button type="button" class="delete-share danger">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% else:
<p id="no-shares">{{_("No share configured.")}}</p>
% end
% if can_manage:
<h3>{{_("Add a share")}}</h3>
<form id="share-form" class="grid" autocomplete="off">
  <label for="share-name">{{_("Name")}}</label><div><input id="share-name" name="name"><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="share-protocol">{{_("Protocol")}}</label><div><select id="share-protocol" name="protocol"><option value="smb">SMB (Windows)</option><option value="nfs">NFS</option></select><span class="field-error" data-error-for="protocol" hidden></span></div>
  <label for="share-server">{{_("Server")}}</label><div><input id="share-server" name="server"><span class="field-error" data-error-for="server" hidden></span></div>
  <label for="share-share">{{_("Share or export")}}</label><div><input id="share-share" name="share"><span class="field-error" data-error-for="share" hidden></span></div>
  <label for="share-folder">{{_("Folder")}}</label><div><input id="share-folder" name="folder"><span class="field-error" data-error-for="folder" hidden></span></div>
  <label for="share-username">{{_("User name")}}</label><div><input id="share-username" name="username"><span class="field-error" data-error-for="username" hidden></span></div>
  <label for="share-password">{{_("Password")}}</label><div><input id="share-password" name="password" type="password" autocomplete="new-password"><span class="field-error" data-error-for="password" hidden></span></div>
  <label for="share-domain">{{_("Domain")}}</label><div><input id="share-domain" name="domain"><span class="field-error" data-error-for="domain" hidden></span></div>
  <div></div><div><button type="submit" id="add-share">{{_("Add the share")}}</button><p data-errors class="error" role="alert" hidden></p></div>
</form>
% end
</section>
<div id="storage-texts" hidden data-initialize="{{_("Initialize {device} ({size})")}}" data-warning="{{_("Everything on {device} ({size}) will be erased.")}}" data-done="{{_("Done.")}}" data-failed="{{_("Failed:")}}" data-testing="{{_("Testing…")}}" data-delete="{{_("Delete this share?")}}"></div>
