% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="dids")
<section class="card">
<div class="bar">
  <h1>{{_("Inbound numbers")}}</h1>
  % if can("trunks.manage"):
  <a class="button" href="/trunks/dids/new" id="add-did">{{_("Add an inbound number")}}</a>
  % end
</div>
<p class="hint">{{_("Each inbound number (DID) sends the calls to it somewhere in the PBX. A number can be exact (+41445550100), the last digits of the called number (5550100) or a range ending in * (0445550*). Calls to a number not listed here go to the trunk's procedure.")}}</p>
% if not dids:
<p id="no-dids">{{_("No inbound number yet.")}}</p>
% else:
<table class="list" id="dids">
<thead><tr>
  <th>{{_("Number")}}</th><th>{{_("Trunk")}}</th><th>{{_("Destination")}}</th><th>{{_("Description")}}</th><th></th>
</tr></thead>
<tbody>
% for d in dids:
<tr data-did="{{d.number}}">
  <td class="mono"><b>{{d.number}}</b>
  <br><small class="hint">{{_("range") if d.number.endswith("*") else (_("exact") if d.number.startswith("+") else _("last digits"))}}</small></td>
  <td>{{(trunks[d.trunk].title or d.trunk) if d.trunk in trunks else (d.trunk or _("any trunk"))}}</td>
  <td>{{kinds.get(d.destination_kind, d.destination_kind)}}:
  % if d.destination_kind == "time_range":
    {{_("{range}: inside → procedure {procedure}, outside → the trunk's procedure").format(range=d.destination, procedure=d.procedure)}}
  % elif d.destination_kind == "procedure":
    {{d.procedure}}{{(" · " + _("number {number}").format(number=d.destination)) if d.destination else ""}}
  % else:
    <b>{{d.destination}}</b>
  % end
  </td>
  <td>{{d.description}}</td>
  <td class="actions">
  % if can("trunks.manage"):
    <a href="{{did_url(d.number)}}/edit">{{_("Edit")}}</a>
    <a href="{{did_url(d.number)}}/delete">{{_("Delete")}}</a>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
</section>
