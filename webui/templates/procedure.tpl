% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="procedures")
<section class="card" id="procedure-editor" data-name="{{proc.name}}" data-editable="{{"1" if can("dialplan.manage") and proc.name != "internal" else ""}}"
  data-t-number="{{_("Called number")}}" data-t-comment="{{_("Comment")}}" data-t-add-app="{{_("Add an application")}}"
  data-t-remove="{{_("Remove")}}" data-t-choose="{{_("Choose...")}}" data-t-saved="{{_("Saved.")}}" data-t-none="{{_("(none)")}}"
  data-t-up="{{_("Move up")}}" data-t-down="{{_("Move down")}}">
<div class="bar">
  <h1>{{_("Procedure")}} <code>{{proc.name}}</code></h1>
  <a href="/dialplan">{{_("All procedures")}}</a>
</div>
% if proc.name == "internal":
<p>{{_("This procedure is generated: every user's extension rings that user, and the feature codes (76 echo test, 93 switches) are here. Include it in a procedure to let its callers reach them.")}}</p>
% else:
<form id="procedure-form" novalidate>
<label for="pf-description">{{_("Description")}}</label>
<input id="pf-description" name="description" maxlength="255" value="{{proc.description}}">
<span class="field-error" data-error-for="description" hidden></span>
<h2>{{_("Called numbers")}}</h2>
<p class="hint">{{_("Exact numbers, patterns (X any digit, Z 1-9, N 2-9, [1237-9] a set, . one or more, ! zero or more) or default. Drag the handles to reorder numbers and applications.")}}</p>
<ol class="numbers" id="numbers"></ol>
<p><button type="button" id="add-number">{{_("Add a number")}}</button></p>
<h2>{{_("Included procedures")}}</h2>
<p class="hint">{{_("Searched in this order after this procedure's own numbers.")}}</p>
<ol id="includes" class="apps"></ol>
<p><select id="include-choice" aria-label="{{_("Procedure to include")}}"></select> <button type="button" id="add-include">{{_("Include")}}</button></p>
<span class="field-error" data-error-for="includes" hidden></span>
<p class="error" data-errors hidden></p>
<p class="notice" id="saved" hidden role="status"></p>
% if can("dialplan.manage"):
<div class="buttons"><button type="submit" class="primary" id="save">{{_("Save")}}</button></div>
% end
</form>
% end
</section>
