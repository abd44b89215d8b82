% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="timeranges")
% days = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
% months = (_("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"), _("August"), _("September"), _("October"), _("November"), _("December"))
<section class="card" id="timerange-editor" data-name="{{row.name}}" data-editable="{{"1" if can("dialplan.manage") else ""}}"
  data-country="{{country}}" data-year="{{year}}"
  data-days="{{"|".join(days)}}" data-months="{{"|".join(months)}}"
  data-t-remove="{{_("Remove")}}" data-t-saved="{{_("Saved.")}}" data-t-any="{{_("any")}}"
  data-t-fixed="{{_("One date")}}" data-t-yearly="{{_("Every year")}}" data-t-easter="{{_("Days after Easter")}}"
  data-t-this-year="{{_("This year")}}" data-t-no-holidays="{{_("No date yet.")}}" data-t-no-intervals="{{_("No interval: the range is never inside (except on holidays when they count as inside).")}}"
  data-t-copied="{{_("Copied into the own dates, and the country box unticked. Remove the days that do not apply, then save.")}}">
<div class="bar">
  <h1>{{_("Time range")}} <code>{{row.name}}</code></h1>
  <a href="/dialplan/timeranges">{{_("All time ranges")}}</a>
</div>
<form id="timerange-form" novalidate>
<label for="tr-description">{{_("Description")}}</label>
<input id="tr-description" name="description" maxlength="255" value="{{row.description}}">
<span class="field-error" data-error-for="description" hidden></span>

<h2>{{_("Weekly intervals")}}</h2>
<p class="hint">{{_("Inside from the start time (included) to the end time (excluded), on the days ticked, in the time zone %s; daylight saving time changes are followed. End at 24:00 for \"until midnight\". An interval cannot cross midnight: for 22:00 to 06:00, add 22:00-24:00 and 00:00-06:00 on the next day. Days of the month and months are optional and may wrap (November to February).") % timezone}}</p>
<table class="list" id="intervals">
<thead><tr>
% for d in days:
  <th>{{d}}</th>
% end
  <th>{{_("From")}}</th><th>{{_("To")}}</th><th>{{_("Days of the month")}}</th><th>{{_("Months")}}</th><th></th>
</tr></thead>
<tbody></tbody>
</table>
<span class="field-error" data-error-for="intervals" hidden></span>
% if can("dialplan.manage"):
<p><button type="button" id="add-interval">{{_("Add an interval")}}</button></p>
% end

<h2>{{_("Holidays")}}</h2>
<fieldset id="holiday-mode">
  <legend>{{_("On a holiday")}}</legend>
  <label><input type="radio" name="holiday_mode" value="outside"> {{_("outside all day (opening hours: closed on holidays)")}}</label>
  <label><input type="radio" name="holiday_mode" value="inside"> {{_("inside all day (closed hours: the closed procedure runs all day)")}}</label>
  <label><input type="radio" name="holiday_mode" value="ignore"> {{_("ignore holidays (the weekly intervals apply)")}}</label>
</fieldset>
<span class="field-error" data-error-for="holiday_mode" hidden></span>

<h3>{{_("Own dates")}}</h3>
<table class="list" id="holidays">
<thead><tr><th>{{_("Kind")}}</th><th>{{_("Date or days after Easter Sunday")}}</th><th>{{_("Name")}}</th><th>{{_("This year")}}</th><th></th></tr></thead>
<tbody></tbody>
</table>
<span class="field-error" data-error-for="holidays" hidden></span>
% if can("dialplan.manage"):
<p>
  <button type="button" data-add-holiday="fixed">{{_("Add a date")}}</button>
  <button type="button" data-add-holiday="yearly">{{_("Add a date every year")}}</button>
  <button type="button" data-add-holiday="easter">{{_("Add a day relative to Easter")}}</button>
</p>
<p class="hint">{{_("A date: YYYY-MM-DD (that day only). Every year: MM-DD. Relative to Easter: days after Easter Sunday (-2 Good Friday, 1 Easter Monday, 39 Ascension, 50 Whit Monday).")}}</p>
% end

<h3>{{_("Public holidays of the country")}}</h3>
% if known_country:
<label><input type="checkbox" id="tr-country" name="country_holidays"> {{_("Also the public holidays of %s (the system's country, in Settings)") % country}}</label>
<span class="field-error" data-error-for="country_holidays" hidden></span>
<div id="country-preview">
  <p class="bar"><span>{{_("Computed dates for")}} <b id="preview-year">{{year}}</b></span>
    <button type="button" id="preview-prev">{{_("Previous year")}}</button>
    <button type="button" id="preview-next">{{_("Next year")}}</button>
    % if can("dialplan.manage"):
    <button type="button" id="copy-country">{{_("Copy them into the own dates")}}</button>
    % end
  </p>
  <table class="list" id="country-holidays"><thead><tr><th>{{_("Date")}}</th><th>{{_("Day")}}</th><th>{{_("Name")}}</th></tr></thead><tbody></tbody></table>
  <p class="hint">{{_("Copying them into the own dates lets you keep only some of them, or add regional ones.")}}</p>
</div>
% else:
<p class="warn" id="no-country-table">{{_("No table of public holidays is known for the system's country (%s): add the dates above.") % country}}</p>
<input type="checkbox" id="tr-country" name="country_holidays" hidden>
% end

<p class="error" data-errors hidden></p>
<p class="notice" id="saved" hidden role="status"></p>
% if can("dialplan.manage"):
<div class="buttons"><button type="submit" class="primary" id="save">{{_("Save")}}</button></div>
% end
</form>
</section>
