// The console's own script: local times, the search's time zone, forms that post to the admin
// API, and the overview's charts. No build step; htmx and uPlot are vendored beside it.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Times are rendered in UTC (<time datetime>); show them in the operator's time zone.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = when.toLocaleString(undefined, { hour12: false });
        el.title = el.getAttribute("datetime");
      }
    });
    root.querySelectorAll("[data-tz]").forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
  }

  function zoneName() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone"; }
    catch (e) { return "your time zone"; }
  }

  // <form data-api="URL">: its fields as a JSON object, POSTed with the CSRF header.
  function apiForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { return; }
      var body = {};
      new FormData(form).forEach(function (value, key) { body[key] = value; });
      var out = form.querySelector("output");
      var button = form.querySelector("button");
      if (button) { button.disabled = true; }
      fetch(form.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) {
            var error = answer.error || {};
            throw new Error(error.message || ("HTTP " + response.status));
          }
          return answer;
        });
      }).then(function (answer) {
        if (answer.secret && out) {
          out.textContent = "New secret (shown once): " + answer.secret;
          out.className = "secret";
        } else if (out) {
          out.textContent = "Done.";
        }
        if (form.hasAttribute("data-reload")) { window.location.reload(); }
      }).catch(function (error) {
        if (out) { out.textContent = error.message; out.className = "error"; }
        else { window.alert(error.message); }
      }).finally(function () {
        if (button) { button.disabled = false; }
      });
    });
  }

  var COLORS = { cancelled: "#6b7280", submitted: "#2563eb", delivered: "#16a34a",
                 undelivered: "#dc2626", rejected: "#a16207", expired: "#7c3aed" };
  var charts = {};

  function chartData(part) {
    var names = Object.keys(part.series);
    var count = names.length ? part.series[names[0]].length : 0;
    var xs = [];
    for (var i = 0; i < count; i++) { xs.push(part.start + i * part.step); }
    return { names: names, data: [xs].concat(names.map(function (n) { return part.series[n]; })) };
  }

  function draw(id, part) {
    var el = document.getElementById(id);
    if (!el || typeof uPlot === "undefined") { return; }
    var built = chartData(part);
    if (charts[id]) { charts[id].setData(built.data); return; }
    var width = Math.max(280, el.clientWidth || 600);
    charts[id] = new uPlot({
      width: width, height: 220,
      scales: { x: { time: true } },
      series: [{}].concat(built.names.map(function (n) {
        return { label: n, stroke: COLORS[n] || "#000", width: 1.5 };
      })),
      axes: [{}, { label: "per minute" }]
    }, built.data, el);
  }

  function drawAll(series) {
    draw("chart-hour", series.hour);
    draw("chart-day", series.day);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    document.querySelectorAll(".tz").forEach(function (el) { el.textContent = zoneName(); });
    document.querySelectorAll("form[data-api]").forEach(apiForm);
    var initial = document.getElementById("series-initial");
    if (initial) { drawAll(JSON.parse(initial.textContent)); }
  });

  document.addEventListener("htmx:afterSwap", function (event) { localTimes(event.target); });
  document.addEventListener("htmx:sseMessage", function (event) {
    if (event.target && event.target.id === "series-feed" && event.detail && event.detail.data) {
      drawAll(JSON.parse(event.detail.data));
    }
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { charts[id].setSize({ width: Math.max(280, el.clientWidth), height: 220 }); }
    });
  });
})();
