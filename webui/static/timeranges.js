// Dialplan time ranges: the list page (create, delete) and the editor (weekly intervals,
// own holidays, the country's public holidays previewed, holiday mode), all through the API.
(function () {
  "use strict";
  var api = window.applianceApi;
  var BASE = "/api/v1/dialplan/time-ranges";
  var PRESETS = {
    office: { intervals: [{ days: [0, 1, 2, 3, 4], start: "08:00", end: "12:00" },
                          { days: [0, 1, 2, 3, 4], start: "14:00", end: "18:00" }],
              country_holidays: true, holiday_mode: "outside" },
    weekdays: { intervals: [{ days: [0, 1, 2, 3, 4], start: "09:00", end: "17:00" }],
                country_holidays: true, holiday_mode: "outside" },
    empty: {}
  };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== undefined && attrs[k] !== null &&
                                                                  attrs[k] !== false) {
        node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  // Checkboxes and radios keep their natural size (the stylesheet widens every input).
  function natural(root) {
    root.querySelectorAll('input[type="checkbox"], input[type="radio"]').forEach(function (i) {
      i.style.width = "auto";
    });
  }

  var showError = window.applianceShowError;

  function clearErrors(root) {
    root.querySelectorAll(".field-error, [data-errors]").forEach(function (n) { n.hidden = true; });
  }

  // -- list page ---------------------------------------------------------------------------
  var listPage = document.getElementById("timeranges-page");
  if (listPage) {
    var form = document.getElementById("new-timerange");
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var body = { name: form.elements.name.value.trim(), description: form.elements.description.value };
        var preset = PRESETS[form.elements.preset.value] || {};
        Object.keys(preset).forEach(function (k) { body[k] = preset[k]; });
        api("POST", BASE, body)
          .then(function (r) { window.location.href = "/dialplan/timeranges/" + encodeURIComponent(r.name); })
          .catch(function (err) { showError(form, err); });
      });
    }
    listPage.querySelectorAll("[data-delete]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
        api("DELETE", BASE + "/" + encodeURIComponent(button.getAttribute("data-delete")))
          .then(function () { window.location.reload(); })
          .catch(function (err) { showError(listPage, err); });
      });
    });
  }

  // -- editor ------------------------------------------------------------------------------
  var editor = document.getElementById("timerange-editor");
  var trForm = document.getElementById("timerange-form");
  if (!editor || !trForm) { return; }
  var t = function (key) { return editor.getAttribute("data-t-" + key) || key; };
  var name = editor.getAttribute("data-name");
  var editable = editor.getAttribute("data-editable") === "1";
  var dayNames = editor.getAttribute("data-days").split("|");
  var monthNames = editor.getAttribute("data-months").split("|");
  var thisYear = parseInt(editor.getAttribute("data-year"), 10);
  var previewYear = thisYear;
  var state = null;
  var easterCache = {};
  var intervalsBody = document.querySelector("#intervals tbody");
  var holidaysBody = document.querySelector("#holidays tbody");
  var countryBox = document.getElementById("tr-country");

  api("GET", BASE + "/" + encodeURIComponent(name)).then(function (r) {
    state = r;
    document.getElementById("tr-description").value = r.description;
    trForm.querySelectorAll('input[name="holiday_mode"]').forEach(function (radio) {
      radio.checked = radio.value === r.holiday_mode;
    });
    countryBox.checked = r.country_holidays;
    renderIntervals();
    renderHolidays();
    preview();
    setEditable();
  }).catch(function (err) { showError(editor, err); });

  function setEditable() {
    natural(editor);
    if (!editable) {
      trForm.querySelectorAll("input, select, button").forEach(function (i) {
        if (!/^preview-/.test(i.id || "")) { i.disabled = true; }
      });
    }
  }

  function pair(value) { return value ? value : [null, null]; }

  function numberInput(value, min, max, label) {
    return el("input", { type: "number", min: min, max: max, value: value === null ? "" : value,
                         "aria-label": label, placeholder: t("any") });
  }

  function monthSelect(value, label) {
    var select = el("select", { "aria-label": label });
    select.appendChild(el("option", { value: "", text: t("any") }));
    monthNames.forEach(function (m, i) {
      select.appendChild(el("option", { value: String(i + 1), text: m, selected: value === i + 1 }));
    });
    return select;
  }

  function renderIntervals() {
    intervalsBody.textContent = "";
    if (!state.intervals.length) {
      intervalsBody.appendChild(el("tr", {}, [el("td", { colspan: "12", class: "hint", text: t("no-intervals") })]));
    }
    state.intervals.forEach(function (iv, index) {
      var row = el("tr", { "data-interval": String(index) });
      dayNames.forEach(function (d, day) {
        var box = el("input", { type: "checkbox", "aria-label": d, checked: iv.days.indexOf(day) >= 0,
                                "data-day": String(day) });
        box.addEventListener("change", function () {
          var days = [];
          row.querySelectorAll("[data-day]").forEach(function (b) {
            if (b.checked) { days.push(parseInt(b.getAttribute("data-day"), 10)); }
          });
          iv.days = days;
        });
        row.appendChild(el("td", {}, [box]));
      });
      ["start", "end"].forEach(function (key) {
        var input = el("input", { value: iv[key], size: "5", maxlength: "5", placeholder: "HH:MM",
                                  "aria-label": key, "data-key": key, class: "mono" });
        input.addEventListener("input", function () { iv[key] = input.value.trim(); });
        row.appendChild(el("td", {}, [input]));
      });
      var md = pair(iv.month_days);
      var mdFirst = numberInput(md[0], 1, 31, "first day of the month");
      var mdLast = numberInput(md[1], 1, 31, "last day of the month");
      var mdChange = function () {
        iv.month_days = mdFirst.value || mdLast.value ?
          [toInt(mdFirst.value || mdLast.value), toInt(mdLast.value || mdFirst.value)] : null;
      };
      mdFirst.addEventListener("input", mdChange);
      mdLast.addEventListener("input", mdChange);
      row.appendChild(el("td", {}, [mdFirst, mdLast]));
      var mo = pair(iv.months);
      var moFirst = monthSelect(mo[0], "first month");
      var moLast = monthSelect(mo[1], "last month");
      var moChange = function () {
        iv.months = moFirst.value || moLast.value ?
          [toInt(moFirst.value || moLast.value), toInt(moLast.value || moFirst.value)] : null;
      };
      moFirst.addEventListener("change", moChange);
      moLast.addEventListener("change", moChange);
      row.appendChild(el("td", {}, [moFirst, moLast]));
      var remove = el("button", { type: "button", class: "link", text: t("remove"), "data-remove": "" });
      remove.addEventListener("click", function () { state.intervals.splice(index, 1); renderIntervals(); natural(editor); });
      row.appendChild(el("td", { class: "actions" }, [editable ? remove : null]));
      intervalsBody.appendChild(row);
      intervalsBody.appendChild(el("tr", {}, [el("td", { colspan: "12" }, [
        el("span", { class: "field-error", "data-error-for": "intervals." + index, hidden: true })])]));
    });
  }

  function toInt(text) {
    var n = parseInt(text, 10);
    return isNaN(n) ? text : n;
  }

  function easterOf(year) {
    if (easterCache[year]) { return easterCache[year]; }
    // Anonymous Gregorian algorithm (the same as appliance/dialplan/holidays.py).
    var a = year % 19, b = Math.floor(year / 100), c = year % 100, d = Math.floor(b / 4), e = b % 4;
    var f = Math.floor((b + 8) / 25), g = Math.floor((b - f + 1) / 3), h = (19 * a + b - d - g + 15) % 30;
    var i = Math.floor(c / 4), k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    var m = Math.floor((a + 11 * h + 22 * l) / 451);
    var month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
    easterCache[year] = new Date(Date.UTC(year, month - 1, day));
    return easterCache[year];
  }

  function iso(date) { return date.toISOString().slice(0, 10); }

  function thisYearDate(h) {
    if (h.kind === "easter") {
      var offset = parseInt(h.offset, 10);
      if (isNaN(offset)) { return ""; }
      return iso(new Date(easterOf(thisYear).getTime() + offset * 86400000));
    }
    if (h.kind === "yearly") { return /^\d\d-\d\d$/.test(h.date || "") ? thisYear + "-" + h.date : ""; }
    return /^\d{4}-\d\d-\d\d$/.test(h.date || "") && h.date.slice(0, 4) === String(thisYear) ? h.date : "";
  }

  function renderHolidays() {
    holidaysBody.textContent = "";
    if (!state.holidays.length) {
      holidaysBody.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "hint", text: t("no-holidays") })]));
    }
    state.holidays.forEach(function (h, index) {
      var row = el("tr", { "data-holiday": String(index) });
      row.appendChild(el("td", { text: t(h.kind) }));
      var when = h.kind === "easter" ?
        el("input", { type: "number", min: "-200", max: "200", value: h.offset, "aria-label": t("easter"),
                      "data-key": "offset" }) :
        el("input", { value: h.date || "", placeholder: h.kind === "fixed" ? "YYYY-MM-DD" : "MM-DD",
                      maxlength: "10", "aria-label": t(h.kind), "data-key": "date", class: "mono" });
      var shown = el("td", { text: thisYearDate(h) });
      when.addEventListener("input", function () {
        if (h.kind === "easter") { h.offset = toInt(when.value); } else { h.date = when.value.trim(); }
        shown.textContent = thisYearDate(h);
      });
      row.appendChild(el("td", {}, [when]));
      var label = el("input", { value: h.name || "", maxlength: "64", "aria-label": "name", "data-key": "name" });
      label.addEventListener("input", function () { h.name = label.value; });
      row.appendChild(el("td", {}, [label]));
      row.appendChild(shown);
      var remove = el("button", { type: "button", class: "link", text: t("remove"), "data-remove": "" });
      remove.addEventListener("click", function () { state.holidays.splice(index, 1); renderHolidays(); });
      row.appendChild(el("td", { class: "actions" }, [editable ? remove : null]));
      holidaysBody.appendChild(row);
      holidaysBody.appendChild(el("tr", {}, [el("td", { colspan: "5" }, [
        el("span", { class: "field-error", "data-error-for": "holidays." + index, hidden: true })])]));
    });
  }

  var countryRows = [];
  function preview() {
    var table = document.querySelector("#country-holidays tbody");
    if (!table) { return; }
    document.getElementById("preview-year").textContent = String(previewYear);
    api("GET", "/api/v1/dialplan/holidays?country=" + encodeURIComponent(editor.getAttribute("data-country")) +
        "&year=" + previewYear).then(function (r) {
      countryRows = r.holidays;
      table.textContent = "";
      r.holidays.forEach(function (h) {
        table.appendChild(el("tr", {}, [el("td", { text: h.date, class: "mono" }),
          el("td", { text: dayNames[h.weekday] }), el("td", { text: h.name })]));
      });
    }).catch(function (err) { showError(editor, err); });
  }

  var prev = document.getElementById("preview-prev");
  if (prev) {
    prev.addEventListener("click", function () { previewYear -= 1; preview(); });
    document.getElementById("preview-next").addEventListener("click", function () { previewYear += 1; preview(); });
  }
  var copy = document.getElementById("copy-country");
  if (copy) {
    copy.addEventListener("click", function () {
      var seen = {};
      state.holidays.forEach(function (h) { seen[h.kind + ":" + (h.kind === "easter" ? h.offset : h.date)] = true; });
      countryRows.forEach(function (row) {
        var h = row.holiday;
        var key = h.kind + ":" + (h.kind === "easter" ? h.offset : h.date);
        if (!seen[key]) { state.holidays.push({ kind: h.kind, date: h.date, offset: h.offset, name: h.name }); seen[key] = true; }
      });
      countryBox.checked = false;  // they are in the own list now: counting them twice changes nothing, but reads oddly
      renderHolidays();
      natural(editor);
      var saved = document.getElementById("saved");
      saved.textContent = t("copied");
      saved.hidden = false;
    });
  }

  var addInterval = document.getElementById("add-interval");
  if (addInterval) {
    addInterval.addEventListener("click", function () {
      var last = state.intervals[state.intervals.length - 1];
      state.intervals.push(last ? { days: last.days.slice(), start: last.end === "24:00" ? "00:00" : last.end,
                                    end: "24:00", month_days: null, months: null }
                                : { days: [0, 1, 2, 3, 4], start: "09:00", end: "17:00", month_days: null, months: null });
      renderIntervals();
      natural(editor);
    });
  }
  trForm.querySelectorAll("[data-add-holiday]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-add-holiday");
      state.holidays.push(kind === "easter" ? { kind: kind, offset: 1, name: "" } :
                          { kind: kind, date: kind === "fixed" ? thisYear + "-" : "", name: "" });
      renderHolidays();
      var inputs = holidaysBody.querySelectorAll('[data-key="date"], [data-key="offset"]');
      if (inputs.length) { inputs[inputs.length - 1].focus(); }
    });
  });

  function payload() {
    var mode = trForm.querySelector('input[name="holiday_mode"]:checked');
    return {
      description: document.getElementById("tr-description").value,
      intervals: state.intervals,
      holidays: state.holidays.map(function (h) {
        return h.kind === "easter" ? { kind: h.kind, offset: h.offset, name: h.name || "" }
                                   : { kind: h.kind, date: h.date, name: h.name || "" };
      }),
      country_holidays: countryBox.checked,
      holiday_mode: mode ? mode.value : "outside",
      revision: state.revision
    };
  }

  trForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearErrors(editor);
    document.getElementById("saved").hidden = true;
    api("PUT", BASE + "/" + encodeURIComponent(name), payload()).then(function (r) {
      state = r;
      renderIntervals();
      renderHolidays();
      natural(editor);
      var saved = document.getElementById("saved");
      saved.textContent = t("saved");
      saved.hidden = false;
    }).catch(function (err) { showError(editor, err); });
  });
}());
