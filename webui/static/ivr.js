// IVR pages: the list (create, delete) and the tree editor. Everything goes through
// /api/v1/dialplan/ivrs; a 400 names a dotted field ("tree.children.1.procedure"),
// which the editor shows next to that field of that node.
(function () {
  "use strict";
  var API = "/api/v1/dialplan/ivrs";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) { return; }
      if (name === "text") { node.textContent = value; } else { node.setAttribute(name, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function clearErrors(root) {
    root.querySelectorAll("[data-error-for], [data-errors]").forEach(function (box) {
      box.hidden = true; box.textContent = "";
    });
  }

  // -- the list page ------------------------------------------------------------------
  function listPage(page) {
    var form = document.getElementById("new-ivr");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var section = form.parentNode;
        clearErrors(section);
        var body = { name: form.elements.name.value.trim(), description: form.elements.description.value };
        window.applianceApi("POST", API, body).then(function (created) {
          window.location.href = "/dialplan/ivr/" + encodeURIComponent(created.name);
        }).catch(function (err) { window.applianceShowError(section, err); });
      });
    }
    page.querySelectorAll("[data-ivr-delete]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
        clearErrors(page);
        window.applianceApi("DELETE", API + "/" + encodeURIComponent(button.getAttribute("data-ivr-delete")))
          .then(function () { window.location.reload(); })
          .catch(function (err) { window.applianceShowError(page, err); });
      });
    });
  }

  // -- the editor -------------------------------------------------------------------------
  function editor(root) {
    var data = JSON.parse(document.getElementById("ivr-data").textContent);
    var T = data.texts;
    var tree = JSON.parse(JSON.stringify(data.ivr.tree));
    var revision = data.ivr.revision;
    var editable = data.editable;
    var selected = [];          // keys from the root
    var nodeErrors = {};        // "1/2" -> {field, message}
    var treeBox = document.getElementById("ivr-tree");
    var nodeBox = document.getElementById("ivr-node");
    var form = document.getElementById("ivr-form");
    var dirtyNote = document.getElementById("ivr-dirty");
    var savedNote = document.getElementById("ivr-saved");
    var generalBox = form.querySelector("[data-errors]");

    var workspace = document.getElementById("ivr-workspace");
    workspace.style.display = "grid";
    workspace.style.gridTemplateColumns = "minmax(15rem, 2fr) 3fr";
    workspace.style.gap = "1.5rem";
    workspace.style.alignItems = "start";
    workspace.style.marginTop = "1rem";

    function copy(value) { return JSON.parse(JSON.stringify(value)); }
    function pathKey(path) { return path.join("/"); }
    function nodeAt(path) {
      var node = tree;
      for (var i = 0; i < path.length; i += 1) {
        node = node && node.children ? node.children[path[i]] : undefined;
      }
      return node;
    }
    function typeOf(node) { return node.type || "menu"; }
    function dirty() {
      if (dirtyNote) { dirtyNote.textContent = T.unsaved; dirtyNote.hidden = false; }
      savedNote.hidden = true;
    }
    function keyOrder(keys) {
      return keys.slice().sort(function (a, b) { return data.keys.indexOf(a) - data.keys.indexOf(b); });
    }

    // Tree on the left ----------------------------------------------------------------------
    function summary(node, path) {
      var type = typeOf(node);
      var text = (path.length ? path[path.length - 1] + " \u2192 " : T.root + " \u00b7 ") + T[type];
      if (node.label) { text += " \u00b7 " + node.label; }
      if (type === "action") {
        text += " (" + (node.procedure || "?") + (node.number ? " " + node.number : "") + ")";
      }
      return text;
    }

    function branch(node, path) {
      var key = pathKey(path);
      var button = el("button", { type: "button", "class": "link", "data-node": key, text: summary(node, path) });
      var isSelected = pathKey(selected) === key;
      button.style.textDecoration = "none";
      button.style.padding = ".15rem .35rem";
      button.style.borderRadius = "4px";
      if (isSelected) {
        button.style.background = "#e3ecfa";
        button.style.fontWeight = "700";
        button.setAttribute("aria-current", "true");
      }
      if (nodeErrors[key]) {
        button.style.color = "#c0392b";
        button.textContent = "\u26a0 " + button.textContent;
        button.title = T.node_has_error;
        button.setAttribute("data-has-error", "1");
      }
      button.addEventListener("click", function () { select(path); });
      var item = el("li", {}, [button]);
      var children = node.children || {};
      var keys = keyOrder(Object.keys(children));
      if (typeOf(node) === "menu" && keys.length) {
        var list = el("ul", {});
        list.style.margin = ".2rem 0 .2rem 1.1rem";
        list.style.paddingLeft = ".6rem";
        list.style.borderLeft = "1px solid #d8dee7";
        keys.forEach(function (k) { list.appendChild(branch(children[k], path.concat([k]))); });
        item.appendChild(list);
      }
      return item;
    }

    function renderTree() {
      treeBox.textContent = "";
      var list = el("ul", { "class": "ivr-tree" }, [branch(tree, [])]);
      list.style.listStyle = "none";
      list.style.padding = "0";
      list.style.margin = "0";
      list.querySelectorAll("ul").forEach(function (ul) { ul.style.listStyle = "none"; });
      treeBox.appendChild(list);
    }

    // Node form on the right -------------------------------------------------------------
    function fieldRow(labelText, input, field, hint) {
      var id = "ivr-f-" + field.replace(/\./g, "-");
      input.id = id;
      input.setAttribute("data-field", field);
      if (!editable) { input.disabled = true; }
      var error = el("span", { "class": "field-error", "data-error-for": field, hidden: true });
      var parts = [el("label", { "for": id, text: labelText }), input];
      if (hint) { parts.push(el("span", { "class": "hint", text: hint })); }
      parts.push(error);
      return el("div", { "class": "ivr-field" }, parts);
    }

    function options(select, choices, current) {
      choices.forEach(function (choice) {
        var value = Array.isArray(choice) ? choice[0] : choice;
        var text = Array.isArray(choice) ? choice[1] : choice;
        var option = el("option", { value: value, text: text });
        if (value === current) { option.selected = true; }
        select.appendChild(option);
      });
      if (current && !choices.some(function (c) { return (Array.isArray(c) ? c[0] : c) === current; })) {
        select.appendChild(el("option", { value: current, text: current, selected: true }));
      }
      return select;
    }

    function textInput(node, name, max) {
      var input = el("input", { value: node[name] || "", maxlength: String(max || 64) });
      input.addEventListener("input", function () { node[name] = input.value; dirty(); renderTree(); });
      return input;
    }

    function numberInput(node, name, range) {
      var input = el("input", { type: "number", min: String(range[0]), max: String(range[1]),
                                value: node[name] === undefined ? "" : String(node[name]) });
      input.style.maxWidth = "8rem";
      input.addEventListener("input", function () {
        var raw = input.value.trim();
        node[name] = /^\d+$/.test(raw) ? parseInt(raw, 10) : raw;
        dirty();
      });
      return input;
    }

    function checkbox(node, name) {
      var input = el("input", { type: "checkbox" });
      input.checked = !!node[name];
      input.style.width = "auto";
      input.addEventListener("change", function () { node[name] = input.checked; dirty(); });
      return input;
    }

    function selectInput(node, name, choices, onChange) {
      var select = options(el("select", {}), choices, node[name] || "");
      select.addEventListener("change", function () {
        node[name] = select.value; dirty(); renderTree();
        if (onChange) { onChange(); }
      });
      return select;
    }

    function procedureChoices(noneText) {
      return [["", noneText]].concat(data.procedures.map(function (p) { return [p, p]; }));
    }

    function targetRows(node, name, title, noneText) {
      node[name] = node[name] || { procedure: "", number: "" };
      var target = node[name];
      var box = el("fieldset", {}, [el("legend", { text: title })]);
      box.style.border = "1px solid #d8dee7";
      box.style.borderRadius = "4px";
      box.style.margin = ".8rem 0";
      box.appendChild(fieldRow(T.procedure, selectInput(target, "procedure", procedureChoices(noneText)),
                               name + ".procedure"));
      box.appendChild(fieldRow(T.number, textInput(target, "number", 32), name + ".number", T.number_hint));
      return box;
    }

    function changeType(path, node, newType) {
      var old = typeOf(node);
      if (newType === old) { return; }
      if (old === "menu" && Object.keys(node.children || {}).length && !window.confirm(T.confirm_type)) {
        renderNode();
        return;
      }
      var fresh = copy(data.defaults[newType]);
      fresh.label = node.label || "";
      if (!path.length) {
        tree = fresh;
      } else {
        nodeAt(path.slice(0, -1)).children[path[path.length - 1]] = fresh;
      }
      dirty();
      render();
    }

    function usedKeys(node) {
      var used = Object.keys(node.children || {});
      if (node.return_key) { used.push(node.return_key); }
      return used;
    }

    function addChildRow(node, path) {
      var free = data.keys.split("").filter(function (k) { return usedKeys(node).indexOf(k) < 0; });
      var box = el("fieldset", {}, [el("legend", { text: T.add_child })]);
      box.style.border = "1px solid #d8dee7";
      box.style.borderRadius = "4px";
      if (!free.length) {
        box.appendChild(el("p", { "class": "hint", text: T.no_free_key }));
        return box;
      }
      var keySelect = options(el("select", { id: "ivr-add-key", "aria-label": T.key }), free, free[0]);
      var typeSelect = options(el("select", { id: "ivr-add-type", "aria-label": T.type }),
                               [["action", T.action], ["menu", T.menu], ["dial_by_name", T.dial_by_name]], "action");
      keySelect.style.width = "auto";
      typeSelect.style.width = "auto";
      var add = el("button", { type: "button", id: "ivr-add", text: T.add });
      add.addEventListener("click", function () {
        node.children = node.children || {};
        var child = copy(data.defaults[typeSelect.value]);
        node.children[keySelect.value] = child;
        dirty();
        select(path.concat([keySelect.value]));
      });
      box.appendChild(el("div", { "class": "bar" }, [el("span", { text: T.key }), keySelect, typeSelect, add]));
      box.appendChild(el("span", { "class": "field-error", "data-error-for": "children", hidden: true }));
      return box;
    }

    function renderNode() {
      nodeBox.textContent = "";
      var path = selected;
      var node = nodeAt(path);
      if (!node) { selected = []; path = []; node = tree; }
      var type = typeOf(node);
      var heading = path.length ? T.key + " " + path.join(" \u2192 ") : T.root;
      nodeBox.appendChild(el("h2", { text: heading }));
      nodeBox.appendChild(el("span", { "class": "field-error", "data-error-for": "", hidden: true }));

      var typeChoices = [["menu", T.menu], ["dial_by_name", T.dial_by_name]];
      if (path.length) { typeChoices.splice(1, 0, ["action", T.action]); }
      var typeSelect = options(el("select", {}), typeChoices, type);
      typeSelect.addEventListener("change", function () { changeType(path, node, typeSelect.value); });
      nodeBox.appendChild(fieldRow(T.type, typeSelect, "type"));
      nodeBox.appendChild(fieldRow(T.label, textInput(node, "label", 64), "label"));

      if (type === "action") {
        nodeBox.appendChild(fieldRow(T.procedure, selectInput(node, "procedure", procedureChoices(T.select_procedure)),
                                     "procedure"));
        nodeBox.appendChild(fieldRow(T.number, textInput(node, "number", 32), "number", T.number_hint));
      } else if (type === "menu") {
        var sounds = [["", T.none]].concat(data.sounds.map(function (s) { return [s, s]; }));
        nodeBox.appendChild(fieldRow(T.sound, selectInput(node, "sound", sounds), "sound"));
        nodeBox.appendChild(fieldRow(T.repeats, numberInput(node, "repeats", data.limits.repeats), "repeats"));
        nodeBox.appendChild(fieldRow(T.timeout_s, numberInput(node, "timeout_s", data.limits.timeout_s), "timeout_s"));
        if (path.length) {
          var returnKeys = [["", T.none]].concat(data.keys.split("").filter(function (k) {
            return !(node.children || {})[k];
          }).map(function (k) { return [k, k]; }));
          nodeBox.appendChild(fieldRow(T.return_key, selectInput(node, "return_key", returnKeys, renderNode),
                                       "return_key"));
        }
        nodeBox.appendChild(fieldRow(T.direct_dial, checkbox(node, "direct_dial"), "direct_dial"));
        nodeBox.appendChild(fieldRow(T.direct_dial_procedure,
                                     selectInput(node, "direct_dial_procedure", procedureChoices(T.internal_default)),
                                     "direct_dial_procedure"));
        nodeBox.appendChild(targetRows(node, "on_timeout", T.on_timeout, T.on_timeout_none));
        nodeBox.appendChild(targetRows(node, "on_invalid", T.on_invalid, T.on_invalid_none));
        if (editable) { nodeBox.appendChild(addChildRow(node, path)); }
      } else {
        var nameSounds = [["", T.system_prompt]].concat(data.sounds.map(function (s) { return [s, s]; }));
        nodeBox.appendChild(fieldRow(T.sound, selectInput(node, "sound", nameSounds), "sound"));
        nodeBox.appendChild(fieldRow(T.name_timeout_s, numberInput(node, "timeout_s", data.limits.name_timeout_s),
                                     "timeout_s"));
        nodeBox.appendChild(fieldRow(T.attempts, numberInput(node, "attempts", data.limits.attempts), "attempts"));
        nodeBox.appendChild(fieldRow(T.first_names, checkbox(node, "first_names"), "first_names"));
        nodeBox.appendChild(fieldRow(T.name_procedure,
                                     selectInput(node, "procedure", procedureChoices(T.internal_default)), "procedure"));
        if (path.length) {
          var nameKeys = [["", T.none]].concat(data.name_return_keys.map(function (k) { return [k, k]; }));
          nodeBox.appendChild(fieldRow(T.return_key, selectInput(node, "return_key", nameKeys), "return_key"));
        }
        nodeBox.appendChild(targetRows(node, "on_timeout", T.on_timeout_name, T.on_timeout_name_none));
      }
      if (path.length && editable) {
        var del = el("button", { type: "button", "class": "danger", id: "ivr-delete-node", text: T.delete_node });
        del.addEventListener("click", function () {
          if (!window.confirm(T.confirm_delete_node)) { return; }
          delete nodeAt(path.slice(0, -1)).children[path[path.length - 1]];
          Object.keys(nodeErrors).forEach(function (k) {
            if (k === pathKey(path) || k.indexOf(pathKey(path) + "/") === 0) { delete nodeErrors[k]; }
          });
          dirty();
          select(path.slice(0, -1));
        });
        nodeBox.appendChild(el("p", {}, [del]));
      }
      var error = nodeErrors[pathKey(path)];
      if (error) {
        var box = nodeBox.querySelector('[data-error-for="' + error.field + '"]') ||
                  nodeBox.querySelector('[data-error-for=""]');
        box.textContent = error.message;
        box.hidden = false;
        box.setAttribute("role", "alert");
        var input = nodeBox.querySelector('[data-field="' + error.field + '"]');
        if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      }
    }

    function select(path) {
      selected = path.slice();
      render();
    }

    function render() {
      renderTree();
      renderNode();
    }

    // Saving ------------------------------------------------------------------------------
    // "tree.children.1.children.2.on_timeout.procedure" -> {path: ["1", "2"], field: "on_timeout.procedure"}
    function locate(field) {
      var parts = (field || "").split(".");
      if (parts[0] !== "tree") { return null; }
      var path = [];
      var i = 1;
      while (parts[i] === "children" && i + 1 < parts.length) {
        if (i + 2 === parts.length) {  // the key itself is wrong
          return { path: path, field: "children", shown: path.concat([parts[i + 1]]) };
        }
        path.push(parts[i + 1]);
        i += 2;
      }
      return { path: path, field: parts.slice(i).join("."), shown: path };
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!editable) { return; }
      clearErrors(root);
      nodeErrors = {};
      var body = { description: document.getElementById("ivr-description").value, tree: tree, revision: revision };
      window.applianceApi("PUT", API + "/" + encodeURIComponent(data.ivr.name), body).then(function (saved) {
        tree = saved.tree;
        revision = saved.revision;
        if (dirtyNote) { dirtyNote.hidden = true; }
        savedNote.textContent = T.saved;
        savedNote.hidden = false;
        render();
      }).catch(function (err) {
        var where = err.status === 400 ? locate(err.field) : null;
        if (where && nodeAt(where.path)) {
          var prefix = err.field + ": ";
          var message = err.message.indexOf(prefix) === 0 ? err.message.slice(prefix.length) : err.message;
          nodeErrors[pathKey(where.path)] = { field: where.field, message: message };
          selected = where.path;
          render();
          if (where.field === "children" || !nodeBox.querySelector('[data-error-for="' + where.field + '"]')) {
            generalBox.textContent = (where.shown.length ? T.key + " " + where.shown.join(" \u2192 ") + ": " : "") +
                                     message;
            generalBox.hidden = false;
          }
          return;
        }
        window.applianceShowError(root, err);
        if (!err.field || err.field === "revision") {
          generalBox.textContent = err.message;
          generalBox.hidden = false;
        }
      });
    });
    document.getElementById("ivr-description").addEventListener("input", dirty);
    if (!editable) { document.getElementById("ivr-description").disabled = true; }
    render();
  }

  var listRoot = document.getElementById("ivr-list-page");
  if (listRoot) { listPage(listRoot); }
  var editorRoot = document.getElementById("ivr-editor");
  if (editorRoot) { editor(editorRoot); }
}());
