/* Territoria site script: language switch, territory search and filters, map colouring.
   No network, no external libraries: works from disk (file://) and when served. */
(function () {
  "use strict";
  var root = document.documentElement;
  function setLang(lang) {
    if (lang !== "es" && lang !== "en") { return; }
    root.setAttribute("data-lang", lang);
    root.setAttribute("lang", lang);
    try { window.localStorage.setItem("territoria-lang", lang); } catch (e) { /* file:// may refuse */ }
    var opts = document.querySelectorAll("option[data-" + lang + "], title[data-" + lang + "]");  // one language at a time
    for (var k = 0; k < opts.length; k++) { opts[k].textContent = opts[k].getAttribute("data-" + lang); }
    var named = document.querySelectorAll("[data-aria-" + lang + "]");  // accessible names too
    for (var a = 0; a < named.length; a++) { named[a].setAttribute("aria-label", named[a].getAttribute("data-aria-" + lang)); }
    var btns = document.querySelectorAll("[data-setlang]");
    for (var i = 0; i < btns.length; i++) {
      btns[i].setAttribute("aria-pressed", btns[i].getAttribute("data-setlang") === lang ? "true" : "false");
    }
  }
  // A table wider than the screen scrolls inside itself; keyboard users can reach it too.
  function focusableScrollers() {
    var tables = document.querySelectorAll("main table, .tablewrap");
    for (var i = 0; i < tables.length; i++) {
      var t = tables[i];
      if (t.scrollWidth > t.clientWidth + 1 && !t.hasAttribute("tabindex")) { t.setAttribute("tabindex", "0"); }
    }
  }
  window.addEventListener("load", focusableScrollers);
  window.addEventListener("resize", focusableScrollers);
  var params = new URLSearchParams(window.location.search);
  var stored = null;
  try { stored = window.localStorage.getItem("territoria-lang"); } catch (e) { stored = null; }
  setLang(params.get("lang") || stored || root.getAttribute("data-lang") || "es");
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("[data-setlang]") : null;
    if (t) { setLang(t.getAttribute("data-setlang")); }
  });

  // Index: search and filters over the territory table.
  var table = document.getElementById("territory-table");
  if (table) {
    var inputs = document.querySelectorAll("[data-filter]");
    var norm = function (s) { return (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); };
    var apply = function () {
      var q = norm(document.getElementById("q").value);
      var f = {};
      for (var i = 0; i < inputs.length; i++) { f[inputs[i].getAttribute("data-filter")] = inputs[i].value; }
      var rows = table.tBodies[0].rows, shown = 0;
      for (var r = 0; r < rows.length; r++) {
        var row = rows[r], ok = norm(row.getAttribute("data-search")).indexOf(q) >= 0;
        for (var k in f) { if (f[k] && row.getAttribute("data-" + k) !== f[k]) { ok = false; } }
        row.hidden = !ok; if (ok) { shown++; }
      }
      var c = document.getElementById("count"); if (c) { c.textContent = String(shown); }
    };
    document.getElementById("q").addEventListener("input", apply);
    for (var i = 0; i < inputs.length; i++) { inputs[i].addEventListener("change", apply); }
  }

  // Map: colour territories by the chosen indicator (data embedded in the page).
  var dataEl = document.getElementById("map-data");
  var sel = document.getElementById("map-indicator");
  if (dataEl && sel) {
    var data = JSON.parse(dataEl.textContent);
    var colours = data.colours;
    var paint = function () {
      var key = sel.value, ind = data.indicators[key];
      var vals = [];
      for (var id in ind.values) { if (ind.values[id] !== null) { vals.push(ind.values[id]); } }
      var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
      var paths = document.querySelectorAll(".map path[data-id]");
      for (var p = 0; p < paths.length; p++) {
        var v = ind.values[paths[p].getAttribute("data-id")];
        if (v === undefined || v === null) { paths[p].setAttribute("fill", "#e0e0e0"); continue; }
        var t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
        if (ind.lower_is_better) { t = 1 - t; }
        paths[p].setAttribute("fill", colours[Math.min(colours.length - 1, Math.floor(t * colours.length))]);
      }
      var lg = document.getElementById("map-legend-range");
      if (lg) { lg.textContent = (vals.length ? lo.toFixed(1) + " – " + hi.toFixed(1) : "—"); }
    };
    sel.addEventListener("change", paint);
    paint();
  }
})();
