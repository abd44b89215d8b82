% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="timeranges")
<section class="card" id="timeranges-page">
<div class="bar"><h1>{{_("Time ranges")}}</h1></div>
<p class="hint">{{_("A procedure checks a time range (application \"Check time range\") to route calls differently inside and outside opening hours, and on public holidays. Times are in the appliance's time zone.")}}</p>
<p id="now">{{_("Now")}}: <b>{{now.strftime("%Y-%m-%d %H:%M")}}</b> ({{now.tzname()}})</p>
% if not rows:
<p>{{_("No time range yet.")}}</p>
% else:
<table class="list" id="timeranges">
<thead><tr><th>{{_("Name")}}</th><th>{{_("Description")}}</th><th>{{_("Weekly intervals")}}</th><th>{{_("Holidays")}}</th><th>{{_("Now")}}</th><th></th></tr></thead>
<tbody>
% for row, summary, inside in rows:
<tr data-name="{{row.name}}">
  <td><a href="/dialplan/timeranges/{{row.name}}"><b>{{row.name}}</b></a></td>
  <td>{{row.description}}</td>
  <td>{{summary or _("none")}}</td>
  <td>
  % n = len(row.holidays)
  % if row.holiday_mode == "ignore":
    {{_("ignored")}}
  % else:
    {{_("%d dates") % n if n != 1 else _("1 date")}}{{(" + " + _("public holidays (%s)") % country) if row.country_holidays else ""}}:
    {{_("outside all day") if row.holiday_mode == "outside" else _("inside all day")}}
  % end
  </td>
  <td data-inside="{{"yes" if inside else "no"}}"><span class="dot {{"on" if inside else "off"}}"></span> {{_("inside") if inside else _("outside")}}</td>
  <td class="actions">
    <a href="/dialplan/timeranges/{{row.name}}">{{_("Edit") if can("dialplan.manage") else _("View")}}</a>
  % if can("dialplan.manage"):
    <button type="button" class="link" data-delete="{{row.name}}" data-confirm="{{_("Delete the time range %s?") % row.name}}">{{_("Delete")}}</button>
  % end
  </td>
</tr>
% end
</tbody>
</table>
% end
<p class="error" data-errors hidden></p>
</section>
% if can("dialplan.manage"):
<section class="card">
<h2>{{_("Add a time range")}}</h2>
<form id="new-timerange" class="grid">
  <label for="nt-name">{{_("Name")}}</label>
  <div><input id="nt-name" name="name" required maxlength="64" pattern="[a-z0-9][a-z0-9_\-]*"><span class="hint">{{_("Lower-case letters, digits, - and _; cannot be changed later.")}}</span><span class="field-error" data-error-for="name" hidden></span></div>
  <label for="nt-description">{{_("Description")}}</label>
  <div><input id="nt-description" name="description" maxlength="255"><span class="field-error" data-error-for="description" hidden></span></div>
  <label for="nt-preset">{{_("Start from")}}</label>
  <div><select id="nt-preset" name="preset">
    <option value="office">{{_("Monday to Friday, 08:00-12:00 and 14:00-18:00, closed on public holidays")}}</option>
    <option value="weekdays">{{_("Monday to Friday, 09:00-17:00, closed on public holidays")}}</option>
    <option value="empty">{{_("Nothing (fill it in yourself)")}}</option>
  </select></div>
  <p class="error" data-errors hidden></p>
  <div class="buttons"><button type="submit" class="primary">{{_("Create")}}</button></div>
</form>
</section>
% end
