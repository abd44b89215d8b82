% rebase("layout.tpl")
% include("trunks_nav.tpl", tab="prices")
<section class="card" id="prices-page">
<div class="bar"><h1>{{_("Price lists")}}</h1></div>
<p class="hint">{{_("A price list gives the cost of calls through a trunk: import its rates from a CSV file, then choose the list in the trunk's settings. The cost of each outbound call then shows in the call history.")}}</p>
% if not rows:
<p>{{_("No price list yet.")}}</p>
% else:
<table class="list" id="price-lists">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("Currency")}}</th><th>{{_("Rates")}}</th><th>{{_("Used by trunks")}}</th><th></th></tr></thead>
<tbody>
% for p in rows:
<tr data-name="{{p["name"]}}">
  <td><a href="/trunks/prices/{{p["name"]}}"><b>{{p["name"]}}</b></a></td>
  <td>{{p["description"]}}</td>
  <td class="mono">{{p["currency"]}}</td>
  <td>{{p["rates"]}}</td>
  <td>{{", ".join(p["trunks"]) or "–"}}</td>
  <td class="actions">
    <a href="/trunks/prices/{{p["name"]}}">{{_("Rates")}}</a>
    <a href="/api/v1/price-lists/{{p["name"]}}/rates">{{_("Export CSV")}}</a>
  % if can("trunks.manage"):
    <button type="button" class="link" data-delete="{{p["name"]}}" data-confirm="{{_("Delete the price list %s and its rates?") % p["name"]}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>
% if can("trunks.manage"):
<section class="card">
<h2>{{_("Add a price list")}}</h2>
<form id="price-list-form" class="grid" novalidate>
  <label for="pl-name">{{_("Name")}}</label>
  <div><input id="pl-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="pl-description">{{_("Description")}}</label>
  <div><input id="pl-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="pl-currency">{{_("Currency")}}</label>
  <div><input id="pl-currency" name="currency" value="EUR" maxlength="3" size="4" required pattern="[A-Za-z]{3}"><span class="hint">{{_("ISO 4217 code, e.g. EUR or CHF.")}}</span><span class="field-error" data-error-for="currency" hidden></span></div>
  <p class="error" data-errors hidden></p>
  <div class="buttons"><button type="submit" class="primary">{{_("Create")}}</button></div>
</form>
</section>
% end
