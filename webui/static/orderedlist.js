// An ordered list of form rows (call group members, trunk group members): up/down/remove buttons
// (data-move="up|down|remove", whose value names the row's position for the server) and drag and drop,
// all in place. Without JavaScript the same buttons submit the form and the server does it.
(function () {
  "use strict";
  window.applianceOrderedList = function (list) {
    function rows() { return Array.prototype.slice.call(list.children); }

    // The buttons' values name the row's position: keep them right after every move.
    function renumber() {
      rows().forEach(function (row, index) {
        row.querySelectorAll("button[data-move]").forEach(function (button) {
          button.value = button.getAttribute("data-move") + ":" + index;
        });
      });
    }

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-move]");
      if (!button) { return; }
      var row = button.closest("li");
      var move = button.getAttribute("data-move");
      if (move === "remove") {
        if (rows().length <= 1) { return; }  // let the server say a group needs one
        event.preventDefault();
        row.remove();
      } else if (move === "up") {
        event.preventDefault();
        if (row.previousElementSibling) { list.insertBefore(row, row.previousElementSibling); }
      } else if (move === "down") {
        event.preventDefault();
        if (row.nextElementSibling) { list.insertBefore(row.nextElementSibling, row); }
      }
      renumber();
      button.focus();
    });

    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("li");
      if (!dragged) { return; }
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.getAttribute("data-member") || "");
    });
    list.addEventListener("dragover", function (event) {
      var over = event.target.closest("li");
      if (!dragged || !over || over === dragged) { return; }
      event.preventDefault();
      rows().forEach(function (row) { row.classList.toggle("drop-target", row === over); });
    });
    list.addEventListener("drop", function (event) {
      var over = event.target.closest("li");
      if (!dragged || !over || over === dragged) { return; }
      event.preventDefault();
      var after = rows().indexOf(dragged) < rows().indexOf(over);
      list.insertBefore(dragged, after ? over.nextElementSibling : over);
      renumber();
    });
    list.addEventListener("dragend", function () {
      rows().forEach(function (row) { row.classList.remove("dragging", "drop-target"); });
      dragged = null;
    });
  };
}());
