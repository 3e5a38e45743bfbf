// ivrouter console: live updates over Server-Sent Events. Values are set
// with textContent only, never as HTML.
"use strict";
(function () {
  var table = document.getElementById("calls");
  var live = document.getElementById("live");
  if (table) {
    var body = table.tBodies[0];
    var limit = parseInt(table.dataset.limit, 10) || 100;
    var es = new EventSource(table.dataset.events);
    es.onopen = function () { live.textContent = "live"; live.className = "live on"; };
    es.onerror = function () { live.textContent = "reconnecting…"; live.className = "live"; };
    es.addEventListener("call", function (ev) {
      var c = JSON.parse(ev.data);
      var rows = body.rows;
      for (var i = rows.length - 1; i >= 0; i--) {
        if (rows[i].dataset.id === c.id || rows[i].classList.contains("empty")) body.removeChild(rows[i]);
      }
      var tr = document.createElement("tr");
      tr.dataset.id = c.id;
      tr.className = "new" + (c.trouble ? " trouble" : "");
      var cells = [c.time, c.did, c.caller, c.path, c.outcome, c.ms, c.ended];
      for (var j = 0; j < cells.length; j++) {
        var td = document.createElement("td");
        if (j === 0 || j === 3) {
          var a = document.createElement("a");
          a.href = c.url;
          a.textContent = cells[j];
          td.appendChild(a);
        } else {
          td.textContent = cells[j];
        }
        if (j === 0) td.title = c.date;
        if (j === 4) td.className = "o-" + c.outcome;
        if (j === 5) td.className = "num";
        tr.appendChild(td);
      }
      body.insertBefore(tr, body.firstChild);
      while (body.rows.length > limit) body.removeChild(body.rows[body.rows.length - 1]);
    });
  }
  var journey = document.getElementById("journey");
  if (journey) {
    var js = new EventSource(journey.dataset.events);
    js.addEventListener("call", function () { js.close(); window.location.reload(); });
  }
})();
