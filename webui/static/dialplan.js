// Dialplan procedures: the list page (create, delete) and the procedure editor
// (numbers and applications, drag-to-reorder, options from the applications catalogue).
(function () {
  "use strict";
  var api = window.applianceApi;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== undefined && attrs[k] !== null) {
        node.setAttribute(k, attrs[k]);
      }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  var showError = window.applianceShowError;

  // -- list page ------------------------------------------------------------------------
  var listPage = document.getElementById("procedures-page");
  if (listPage) {
    var form = document.getElementById("new-procedure");
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var name = form.elements.name.value.trim();
        api("POST", "/api/v1/dialplan/procedures", { name: name, description: form.elements.description.value })
          .then(function (p) { window.location.href = "/dialplan/procedures/" + encodeURIComponent(p.name); })
          .catch(function (err) { showError(form, err); });
      });
    }
    listPage.querySelectorAll("[data-delete]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
        api("DELETE", "/api/v1/dialplan/procedures/" + encodeURIComponent(button.getAttribute("data-delete")))
          .then(function () { window.location.reload(); })
          .catch(function (err) { showError(listPage, err); });
      });
    });
  }

  // -- editor ---------------------------------------------------------------------------
  var editor = document.getElementById("procedure-editor");
  var procForm = document.getElementById("procedure-form");
  if (!editor || !procForm) { return; }
  var t = function (key) { return editor.getAttribute("data-t-" + key) || key; };
  var name = editor.getAttribute("data-name");
  var editable = editor.getAttribute("data-editable") === "1";
  var state = null, catalogue = {}, choices = {};
  var numbersList = document.getElementById("numbers");
  var includesList = document.getElementById("includes");

  Promise.all([
    api("GET", "/api/v1/dialplan/procedures/" + encodeURIComponent(name)),
    api("GET", "/api/v1/dialplan/applications"),
    api("GET", "/api/v1/dialplan/choices")
  ]).then(function (r) {
    state = r[0];
    r[1].forEach(function (spec) { catalogue[spec.app] = spec; });
    choices = r[2];
    render();
  }).catch(function (err) { showError(editor, err); });

  // Drag and drop within one list: `items` is the array the <li>s were rendered from.
  function makeDraggable(li, items, index, list) {
    if (!editable) { return; }
    li.draggable = true;
    li.addEventListener("dragstart", function (ev) {
      ev.stopPropagation();
      ev.dataTransfer.setData("text/plain", String(index));
      li.classList.add("dragging");
      list.dataset.dragging = String(index);
    });
    li.addEventListener("dragend", function () { li.classList.remove("dragging"); delete list.dataset.dragging; });
    li.addEventListener("dragover", function (ev) {
      if (list.dataset.dragging === undefined) { return; }
      ev.preventDefault(); ev.stopPropagation(); li.classList.add("drop-target");
    });
    li.addEventListener("dragleave", function () { li.classList.remove("drop-target"); });
    li.addEventListener("drop", function (ev) {
      if (list.dataset.dragging === undefined) { return; }
      ev.preventDefault(); ev.stopPropagation();
      var from = Number(list.dataset.dragging);
      move(items, from, index);
    });
  }

  function move(items, from, to) {
    if (to < 0 || to >= items.length || from === to) { return; }
    var item = items.splice(from, 1)[0];
    items.splice(to, 0, item);
    render();
  }

  function moveButtons(items, index) {
    if (!editable) { return null; }
    var up = el("button", { type: "button", class: "link", title: t("up"), "aria-label": t("up"), text: "\u2191" });
    var down = el("button", { type: "button", class: "link", title: t("down"), "aria-label": t("down"), text: "\u2193" });
    up.addEventListener("click", function () { move(items, index, index - 1); });
    down.addEventListener("click", function () { move(items, index, index + 1); });
    return el("span", { class: "move" }, [up, down]);
  }

  function removeButton(items, index) {
    if (!editable) { return null; }
    var b = el("button", { type: "button", class: "link remove", text: t("remove") });
    b.addEventListener("click", function () { items.splice(index, 1); render(); });
    return b;
  }

  function optionInput(app, option, where) {
    var id = "o-" + where.replace(/\./g, "-");
    var value = app[option.name];
    var input;
    if (option.type === "bool") {
      input = el("input", { type: "checkbox", id: id });
      input.checked = value === undefined || value === null ? Boolean(option.default) : Boolean(value);
      input.addEventListener("change", function () { app[option.name] = input.checked; });
    } else if (option.type === "choice" || choices[option.type] && option.type !== "extension") {
      input = el("select", { id: id });
      var values = option.type === "choice" ? option.choices : choices[option.type];
      if (!option.required || option.type !== "choice") { input.appendChild(el("option", { value: "", text: t("none") })); }
      values.forEach(function (v) { input.appendChild(el("option", { value: v, text: v })); });
      input.value = value === undefined || value === null ? (option.default || "") : value;
      input.addEventListener("change", function () { app[option.name] = input.value || null; });
    } else if (option.type === "extensions") {
      input = el("input", { id: id, placeholder: "101 102", list: "extension-list" });
      input.value = Array.isArray(value) ? value.join(" ") : (value || "");
      input.addEventListener("input", function () {
        var items = input.value.split(/[\s,]+/).filter(Boolean);
        app[option.name] = items.length ? items : null;
      });
    } else {
      input = el("input", { id: id, type: option.type === "int" ? "number" : "text" });
      input.value = value === undefined || value === null ? "" : String(value);
      if (option.default !== null && option.default !== undefined) { input.placeholder = String(option.default); }
      input.addEventListener("input", function () {
        var v = input.value.trim();
        app[option.name] = v === "" ? null : (option.type === "int" && /^-?\d+$/.test(v) ? Number(v) : v);
      });
    }
    input.disabled = !editable;
    input.setAttribute("data-option", option.name);
    return el("span", { class: "opt" }, [
      el("label", { for: id, text: option.label + (option.required ? " *" : "") }), input,
      el("span", { class: "field-error", "data-error-for": where, hidden: "" })]);
  }

  function renderApp(number, app, index, numberIndex, list) {
    var where = "numbers." + numberIndex + ".apps." + index;
    var kind = el("select", { class: "kind", "aria-label": t("add-app") });
    Object.keys(catalogue).forEach(function (k) { kind.appendChild(el("option", { value: k, text: catalogue[k].label })); });
    kind.value = app.app;
    kind.disabled = !editable;
    kind.addEventListener("change", function () {
      number.apps[index] = { app: kind.value };
      render();
    });
    var spec = catalogue[app.app];
    var opts = el("span", { class: "opts" }, spec ? spec.options.map(function (o) {
      return optionInput(app, o, where + "." + o.name);
    }) : []);
    var li = el("li", { "data-app": app.app }, [
      el("span", { class: "handle", "aria-hidden": "true", text: "\u2630" }),
      el("span", { class: "pos", text: String(index + 1) }), kind, opts, moveButtons(number.apps, index),
      removeButton(number.apps, index), el("span", { class: "field-error", "data-error-for": where, hidden: "" })]);
    makeDraggable(li, number.apps, index, list);
    return li;
  }

  function renderNumber(number, index) {
    var where = "numbers." + index;
    var numberInput = el("input", { class: "number", "aria-label": t("number"), placeholder: "1XX", value: number.number });
    numberInput.disabled = !editable;
    numberInput.addEventListener("input", function () { number.number = numberInput.value.trim(); });
    var comment = el("input", { class: "comment", "aria-label": t("comment"), placeholder: t("comment"),
                                value: number.comment || "" });
    comment.disabled = !editable;
    comment.addEventListener("input", function () { number.comment = comment.value; });
    var apps = el("ol", { class: "apps" });
    number.apps = number.apps || [];
    number.apps.forEach(function (app, i) { apps.appendChild(renderApp(number, app, i, index, apps)); });
    var addApp = null;
    if (editable) {
      addApp = el("select", { class: "add-app", "aria-label": t("add-app") });
      addApp.appendChild(el("option", { value: "", text: "+ " + t("add-app") }));
      Object.keys(catalogue).forEach(function (k) { addApp.appendChild(el("option", { value: k, text: catalogue[k].label })); });
      addApp.addEventListener("change", function () {
        if (addApp.value) { number.apps.push({ app: addApp.value }); render(); }
      });
    }
    var li = el("li", { "data-number": number.number }, [
      el("div", { class: "number-head" }, [
        el("span", { class: "handle", "aria-hidden": "true", text: "\u2630" }), numberInput, comment,
        moveButtons(state.numbers, index), removeButton(state.numbers, index)]),
      el("span", { class: "field-error", "data-error-for": where + ".number", hidden: "" }),
      el("span", { class: "field-error", "data-error-for": where, hidden: "" }),
      apps,
      el("span", { class: "field-error", "data-error-for": where + ".apps", hidden: "" }),
      addApp]);
    makeDraggable(li, state.numbers, index, numbersList);
    return li;
  }

  function render() {
    numbersList.textContent = "";
    state.numbers.forEach(function (n, i) { numbersList.appendChild(renderNumber(n, i)); });
    includesList.textContent = "";
    state.includes.forEach(function (inc, i) {
      var li = el("li", { "data-include": inc }, [
        el("span", { class: "handle", "aria-hidden": "true", text: "\u2630" }), el("b", { text: inc }),
        moveButtons(state.includes, i), removeButton(state.includes, i),
        el("span", { class: "field-error", "data-error-for": "includes." + i, hidden: "" })]);
      makeDraggable(li, state.includes, i, includesList);
      includesList.appendChild(li);
    });
    var choice = document.getElementById("include-choice");
    choice.textContent = "";
    (choices.procedure || []).filter(function (p) { return p !== name && state.includes.indexOf(p) < 0; })
      .forEach(function (p) { choice.appendChild(el("option", { value: p, text: p })); });
    var datalist = document.getElementById("extension-list") || document.body.appendChild(el("datalist", { id: "extension-list" }));
    datalist.textContent = "";
    (choices.extension || []).forEach(function (u) {
      datalist.appendChild(el("option", { value: u.extension, text: u.extension + " " + u.name }));
    });
  }

  document.getElementById("add-number").addEventListener("click", function () {
    state.numbers.push({ number: "", comment: "", apps: [] });
    render();
    var inputs = numbersList.querySelectorAll("input.number");
    inputs[inputs.length - 1].focus();
  });
  document.getElementById("add-include").addEventListener("click", function () {
    var choice = document.getElementById("include-choice");
    if (choice.value) { state.includes.push(choice.value); render(); }
  });

  procForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var saved = document.getElementById("saved");
    saved.hidden = true;
    var body = {
      description: document.getElementById("pf-description").value,
      includes: state.includes,
      numbers: state.numbers.map(function (n) {
        return { number: n.number, comment: n.comment || "", apps: n.apps.map(function (a) {
          var clean = {};
          Object.keys(a).forEach(function (k) { if (a[k] !== null && a[k] !== undefined && a[k] !== "") { clean[k] = a[k]; } });
          return clean;
        }) };
      }),
      revision: state.revision
    };
    api("PUT", "/api/v1/dialplan/procedures/" + encodeURIComponent(name), body).then(function (p) {
      state = p;
      render();
      procForm.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
      saved.textContent = t("saved");
      saved.hidden = false;
    }).catch(function (err) { showError(procForm, err); });
  });
}());
