% rebase("layout.tpl")
% include("settings_tabs.tpl", tab="info")
% def mb(n):
%   return "-" if n is None else "{:,.0f} MB".format(n / 1e6)
% end
% def duration(s):
%   return "-" if s is None else "{}d {}h {}m".format(s // 86400, s % 86400 // 3600, s % 3600 // 60)
% end
<section class="card" id="health-system">
<h1>{{_("Info")}}</h1>
% if data["storage_missing"]:
<p class="error" role="alert" id="health-storage-missing">{{_("Storage missing: {labels}. New files are kept in the internal data folder until it is plugged in again.").format(labels=", ".join(data["storage_missing"]))}} <a href="{{data["links"]["storage"]}}">{{_("Storage")}}</a></p>
% end
<table class="list" id="health-figures">
<tbody>
<tr><th>{{_("CPU")}}</th><td id="health-cpu">{{"{:.0f}".format(data["cpu"]["percent"])}} % ({{data["cpu"]["count"]}} {{_("cores")}})</td></tr>
<tr><th>{{_("Load (1, 5, 15 min)")}}</th><td id="health-load">{{data["load"]["1"]}}, {{data["load"]["5"]}}, {{data["load"]["15"]}}</td></tr>
<tr><th>{{_("Memory")}}</th><td id="health-memory">{{mb(data["memory"]["used_bytes"])}} / {{mb(data["memory"]["total_bytes"])}} ({{data["memory"]["percent"]}} %)</td></tr>
<tr><th>{{_("Uptime")}}</th><td id="health-uptime">{{_("system")}} {{duration(data["uptime"]["system_s"])}}, {{_("appliance")}} {{duration(data["uptime"]["appliance_s"])}}</td></tr>
% for d in data["disks"]:
<tr class="health-disk"><th>{{_("Disk")}} {{d["name"]}}</th><td>{{mb(d["used_bytes"])}} / {{mb(d["total_bytes"])}} ({{d["percent"]}} %) <span class="mono">{{d["path"]}}</span></td></tr>
% end
</tbody>
</table>
<p><a href="{{data["links"]["banned_ips"]}}" id="link-bans">{{_("Banned IP addresses")}}</a> · <a href="{{data["links"]["events"]}}" id="link-events">{{_("Event log")}}</a></p>
</section>

<section class="card" id="health-services">
<h2>{{_("Services")}}</h2>
<p data-errors class="error" role="alert" hidden></p>
<table class="list" id="service-list">
<thead><tr><th>{{_("Service")}}</th><th>{{_("State")}}</th><th>{{_("Since")}}</th><th>{{_("Memory")}}</th><th>{{_("Detail")}}</th><th></th></tr></thead>
<tbody>
% for s in data["services"]:
<tr data-service="{{s["name"]}}">
  <td>{{s["name"]}}</td>
  <td class="{{"" if s["state"] == "running" else "error"}}">{{_(s["state"])}}</td>
  <td>{{duration(s["uptime"])}}</td>
  <td>{{mb(s["rss"])}}</td>
  <td>{{s["detail"]}}</td>
  <td>
  % if can_restart:
    <button type="button" class="restart-service">{{_("Restart")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
<span id="restart-status" role="status"></span>
</section>

<section class="card" id="health-ports">
<h2>{{_("Ports")}}</h2>
<table class="list" id="port-list">
<thead><tr><th>{{_("What")}}</th><th>{{_("Port")}}</th><th>{{_("State")}}</th><th>{{_("Detail")}}</th></tr></thead>
<tbody>
% for p in data["ports"]:
<tr data-port="{{p["port"]}}" data-protocol="{{p["protocol"]}}" data-state="{{p["state"]}}">
  <td>{{p["name"]}}</td>
  <td class="mono">{{p["protocol"]}} {{p["port"]}}{{("-" + str(p["last_port"])) if p.get("last_port") else ""}}</td>
  <td class="{{"" if p["state"] in ("ok", "free") else "error"}}">{{_(p["state"].replace("_", " "))}}</td>
  <td>{{p["detail"]}}</td>
</tr>
% end
</tbody>
</table>
</section>
