// Call group form: move members up/down, remove them and drag them into order in place
// (without JavaScript the same buttons submit the form and the server does it).
(function () {
  "use strict";
  var list = document.getElementById("members");
  if (!list) { return; }

  window.applianceOrderedList(list);
}());
