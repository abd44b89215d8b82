% rebase("layout.tpl")
% include("dialplan_nav.tpl", tab="ivr")
<script type="application/json" id="ivr-data">{{!payload}}</script>
<section class="card" id="ivr-editor" data-name="{{ivr_row.name}}">
<div class="bar">
  <h1>{{_("IVR")}} <code>{{ivr_row.name}}</code></h1>
  <a href="/dialplan/ivr">{{_("All IVRs")}}</a>
</div>
<form id="ivr-form" novalidate>
  <label for="ivr-description">{{_("Description")}}</label>
  <input id="ivr-description" name="description" maxlength="255" value="{{ivr_row.description}}">
  <span class="field-error" data-error-for="description" hidden></span>
  <p class="hint">{{_("Select a node in the tree to edit it. A sub-menu plays its prompt and waits for a key; an action ends the IVR in a procedure; dial by name lets callers type a surname on the keypad.")}}</p>
  <div id="ivr-workspace">
    <div id="ivr-tree" aria-label="{{_("Tree")}}"></div>
    <div id="ivr-node" aria-live="polite"></div>
  </div>
  <p class="error" data-errors hidden></p>
  <p class="notice" id="ivr-saved" hidden role="status"></p>
  % if can("dialplan.manage"):
  <div class="buttons"><button type="submit" class="primary" id="ivr-save">{{_("Save")}}</button> <span class="hint" id="ivr-dirty" hidden></span></div>
  % end
</form>
</section>
