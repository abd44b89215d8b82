% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="prices")
% days = {1: _("Mon"), 2: _("Tue"), 3: _("Wed"), 4: _("Thu"), 5: _("Fri"), 6: _("Sat"), 7: _("Sun")}
% def hhmm(seconds):
%   return "%02d:%02d" % (seconds // 3600, seconds % 3600 // 60)
% end
<section class="card" id="price-list-page" data-name="{{info["name"]}}" data-revision="{{info["revision"]}}"
  data-t-imported="{{_("%s rates imported.")}}" data-t-line="{{_("Line")}}" data-t-column="{{_("Column")}}" data-t-problem="{{_("Problem")}}"
  data-t-nothing="{{_("Nothing was imported: correct these lines and upload the file again.")}}" data-t-saved="{{_("Saved.")}}"
  data-t-more="{{_("and %s more")}}" data-t-nofile="{{_("Choose a CSV file first.")}}">
<div class="bar"><h1>{{_("Price list %s") % info["name"]}}</h1>
  <a class="button" href="/api/v1/price-lists/{{info["name"]}}/rates" id="export">{{_("Export CSV")}}</a>
  % if can("trunks.manage"):
  <button type="button" class="danger" data-delete="{{info["name"]}}" data-confirm="{{_("Delete the price list %s and its rates?") % info["name"]}}">{{_("Delete")}}</button>
  % end
</div>
<p>{{info["description"]}}</p>
<p>{{_("Currency")}}: <b class="mono">{{info["currency"]}}</b> · {{_("Rates")}}: <b id="rate-count">{{info["rates"]}}</b> · {{_("Used by trunks")}}: {{", ".join(info["trunks"]) or "–"}}</p>
<p class="error" data-errors hidden></p>
</section>
% if can("trunks.manage"):
<section class="card">
<h2>{{_("Import rates")}}</h2>
<p class="hint">{{_("A CSV file with a header row and the columns dialprefix, destination, rate, min_duration, billing_block, connect_charge, start_day, stop_day, start_time, stop_time (dialprefix and rate required). Separated by ; or , with a decimal point or comma; UTF-8. Importing replaces all the rates of this list; a file with a bad line imports nothing.")}}</p>
<p class="hint">{{_("rate: price per minute; min_duration: a call lasting at most that many seconds is free; billing_block: seconds per billed unit, a started unit counts in full; connect_charge: added once to each billed call; start_day/stop_day: 1 = Monday to 7 = Sunday; start_time/stop_time: seconds from midnight (25200 = 7:00, 86400 = end of day). Longest prefix wins; where time bands of a prefix overlap, the narrower band wins.")}}</p>
<form id="rates-form" class="grid" novalidate>
  <label for="rates-file">{{_("CSV file")}}</label>
  <div><input id="rates-file" name="file" type="file" accept=".csv,text/csv,text/plain"><span class="field-error" data-error-for="rates" hidden></span></div>
  <div class="buttons"><button type="submit" class="primary">{{_("Import")}}</button> <span id="rates-result" role="status"></span></div>
</form>
<div id="rates-errors" hidden>
<p class="error" id="rates-errors-title"></p>
<table class="list"><thead><tr><th>{{_("Line")}}</th><th>{{_("Column")}}</th><th>{{_("Problem")}}</th></tr></thead><tbody></tbody></table>
</div>
</section>
<section class="card">
<h2>{{_("Edit")}}</h2>
<form id="price-list-edit" class="grid" novalidate>
  <label for="pl-description">{{_("Description")}}</label>
  <div><input id="pl-description" name="description" maxlength="255" value="{{info["description"]}}"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="pl-currency">{{_("Currency")}}</label>
  <div><input id="pl-currency" name="currency" maxlength="3" size="4" value="{{info["currency"]}}"><span class="field-error" data-error-for="currency" hidden></span></div>
  <p class="error" data-errors hidden></p>
  <div class="buttons"><button type="submit" class="primary">{{_("Save")}}</button> <span data-saved role="status"></span></div>
</form>
</section>
% end
<section class="card">
<h2>{{_("Rates")}}</h2>
% if not rates:
<p>{{_("No rate yet: import a CSV file.")}}</p>
% else:
<table class="list" id="rates">
<thead><tr><th>{{_("Prefix")}}</th><th>{{_("Destination")}}</th><th>{{_("Rate / min")}}</th><th>{{_("Free up to (s)")}}</th><th>{{_("Billing block (s)")}}</th><th>{{_("Connection")}}</th><th>{{_("Days")}}</th><th>{{_("Hours")}}</th></tr></thead>
<tbody>
% for r in rates:
<tr><td class="mono">{{r.dialprefix}}</td><td>{{r.destination}}</td><td>{{num(r.rate)}}</td><td>{{r.min_duration}}</td><td>{{r.billing_block}}</td><td>{{num(r.connect_charge)}}</td>
<td>{{days.get(r.start_day, r.start_day)}}–{{days.get(r.stop_day, r.stop_day)}}</td><td>{{hhmm(r.start_time)}}–{{hhmm(r.stop_time)}}</td></tr>
% end
</tbody>
</table>
% if offset or more:
<p class="pager">
  % if offset:
  <a href="/trunks/prices/{{info["name"]}}?offset={{max(0, offset - page_size)}}">{{_("Previous rates")}}</a>
  % end
  % if more:
  <a href="/trunks/prices/{{info["name"]}}?offset={{offset + page_size}}">{{_("Next rates")}}</a>
  % end
</p>
% end
% end
</section>
